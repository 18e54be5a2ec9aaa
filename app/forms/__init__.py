"""Forms and surveys: questions attached to events, surveys and intake forms, and their answers.

The blueprints live with their views: forms/routes.py (/forms/<slug>) and forms/staff.py
(/staff/forms/); the factory imports those modules.
"""
