"""Insights: the staff dashboard, statistics with charts, and the public statistics page.

The blueprints live with their views: insights/routes.py (/stats/) and insights/staff.py
(/staff/stats/); the factory imports those modules.
"""
