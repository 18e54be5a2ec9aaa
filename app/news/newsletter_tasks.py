"""Background jobs for newsletters: the hourly sweep of unconfirmed addresses.

The batch send is a job in app/news/newsletter_sending.py.
"""

from __future__ import annotations

import logging

from app.core.periodic import periodic
from app.extensions import db
from app.news import newsletters

log = logging.getLogger(__name__)


@periodic(seconds=3600)
def sweep_unconfirmed_subscribers() -> int:
    """Delete newsletter addresses not confirmed within a week (hourly). Commits."""
    deleted = newsletters.delete_unconfirmed()
    db.session.commit()
    if deleted:
        log.info("Deleted %s unconfirmed newsletter addresses", deleted)
    return deleted
