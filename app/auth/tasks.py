"""Background jobs for accounts."""

import io

from app.auth.models import User
from app.core.storage import get_storage, new_key, store
from app.extensions import db

THUMB_SIZE = (256, 256)


def make_avatar_thumbnail(user_id: int, key: str) -> str:
    """Make a square thumbnail of a profile image; skipped if the image was replaced meanwhile."""
    user = db.session.get(User, user_id)
    if user is None or user.avatar_key != key:
        return "stale"
    if user.avatar_thumb_key:
        return "done"
    from PIL import Image, ImageOps  # loaded by the job, not by every web worker

    storage = get_storage()
    with Image.open(io.BytesIO(storage.read("public", key))) as image:
        image = ImageOps.exif_transpose(image)
        thumb = ImageOps.fit(image.convert("RGB"), THUMB_SIZE)
        out = io.BytesIO()
        thumb.save(out, "JPEG", quality=85)
    thumb_key = store("public", new_key("avatars/thumbs", "jpg"), out.getvalue(), "image/jpeg")
    user.avatar_thumb_key = thumb_key
    db.session.commit()
    return "made"
