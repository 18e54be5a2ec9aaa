"""News jobs: the list and detail sizes of a post's cover image."""

from __future__ import annotations

import io

from PIL import Image, ImageOps

from app.core.storage import get_storage, new_key, store
from app.extensions import db
from app.news.models import Post

LIST_SIZE = (640, 360)
DETAIL_SIZE = (1200, 1200)


def resize_post_cover(post_id: int, key: str) -> str:
    """List and detail sizes of a cover; pages use the original until they exist."""
    post = db.session.get(Post, post_id)
    if post is None or post.cover_key != key:
        return "stale"
    if post.cover_list_key and post.cover_detail_key:
        return "done"
    with Image.open(io.BytesIO(get_storage().read("public", key))) as original:
        image = ImageOps.exif_transpose(original).convert("RGB")
    sizes = {}
    for name, make in (
        ("list", lambda im: ImageOps.fit(im, LIST_SIZE)),
        ("detail", lambda im: _shrink(im, DETAIL_SIZE)),
    ):
        out = io.BytesIO()
        make(image).save(out, "JPEG", quality=85, optimize=True)
        # Removed again if this job does not commit them (the cover was replaced meanwhile).
        sizes[name] = store("public", new_key(f"news/{name}", "jpg"), out.getvalue(), "image/jpeg")
    post = db.session.get(Post, post_id)
    if post is None or post.cover_key != key:
        return "stale"
    post.cover_list_key, post.cover_detail_key = sizes["list"], sizes["detail"]
    db.session.commit()
    return "made"


def _shrink(image: Image.Image, box: tuple[int, int]) -> Image.Image:
    copy = image.copy()
    copy.thumbnail(box)
    return copy
