"""Display sizes of uploaded images (event images, post covers), made by background jobs."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from app.core.storage import get_storage, new_key, store

LIST_SIZE = (640, 360)
DETAIL_SIZE = (1200, 1200)

if TYPE_CHECKING:  # Pillow is loaded by the resizing jobs, not by every web worker
    from PIL import Image


def _shrink(image: Image.Image, box: tuple[int, int]) -> Image.Image:
    copy = image.copy()
    copy.thumbnail(box)
    return copy


def make_display_sizes(key: str, folder: str) -> dict[str, str]:
    """Store a list (cropped 640x360) and a detail (within 1200x1200) JPEG of a public image.

    Returns their keys by size name. The files are stored with `store`, so they are removed
    again if the job's transaction does not commit them (the image was replaced meanwhile).
    """
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(get_storage().read("public", key))) as original:
        image = ImageOps.exif_transpose(original).convert("RGB")
    sizes = {}
    for name, make in (
        ("list", lambda im: ImageOps.fit(im, LIST_SIZE)),
        ("detail", lambda im: _shrink(im, DETAIL_SIZE)),
    ):
        out = io.BytesIO()
        make(image).save(out, "JPEG", quality=85, optimize=True)
        sizes[name] = store(
            "public", new_key(f"{folder}/{name}", "jpg"), out.getvalue(), "image/jpeg"
        )
    return sizes
