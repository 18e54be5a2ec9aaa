"""The inbox: the contact form, member <-> association messages, spam and states.

The blueprints live with their views: inbox/routes.py (/contact, /account/messages) and
inbox/staff.py (/staff/inbox/); the factory imports those modules.
"""
