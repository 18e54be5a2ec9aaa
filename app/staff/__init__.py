"""The staff area: its home and layout, users and roles, API tokens, jobs and the audit log.

Each domain's staff pages are a blueprint of its own (the domain's staff.py), nested under this
one by the application factory.
"""
