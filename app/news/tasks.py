"""News jobs: the list and detail sizes of a post's cover image."""

from __future__ import annotations

from app.core.images import make_display_sizes
from app.extensions import db
from app.news.models import Post


def resize_post_cover(post_id: int, key: str) -> str:
    """List and detail sizes of a cover; pages use the original until they exist."""
    post = db.session.get(Post, post_id)
    if post is None or post.cover_key != key:
        return "stale"
    if post.cover_list_key and post.cover_detail_key:
        return "done"
    sizes = make_display_sizes(key, "news")
    # Read again from the database: the cover may have been replaced while the sizes were made.
    post = db.session.get(Post, post_id, populate_existing=True)
    if post is None or post.cover_key != key:
        return "stale"
    post.cover_list_key, post.cover_detail_key = sizes["list"], sizes["detail"]
    db.session.commit()
    return "made"
