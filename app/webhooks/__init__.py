"""Webhooks: endpoints other systems register, signed deliveries through the outbox.

The staff blueprint lives in webhooks/staff.py (/staff/webhooks/); the factory imports it.
"""
