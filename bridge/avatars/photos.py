"""A profile photo made safe to serve: decoded and encoded again as a JPEG of at most
256 px a side, which keeps no metadata (EXIF, GPS, camera serial, comments, ICC) of the
original. Synchronous (Pillow): run it in a thread."""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

MAX_SIDE = 256
MAX_PIXELS = 40_000_000  # a decompression bomb is refused, not decoded


class NotAnImage(ValueError):
    pass


def scrubbed_avatar(data: bytes) -> bytes:
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise NotAnImage("too many pixels")
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at a smaller scale
            picture = image.convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise NotAnImage(exc.__class__.__name__) from None
    picture.thumbnail((MAX_SIDE, MAX_SIDE))
    picture.info = {}  # Pillow would write the original's comment (and more) back otherwise
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=85)  # no exif=, no icc_profile=: nothing carried over
    return out.getvalue()
