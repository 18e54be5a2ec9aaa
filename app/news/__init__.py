"""News posts, pages (about, privacy, statutes, contact details), the Atom feed and the front page.

The blueprints live with their views: news/routes.py (/news/, /pages/), news/staff.py
(/staff/news/, /staff/pages/); the factory imports those modules.
"""
