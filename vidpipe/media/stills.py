"""Still pictures: a user's uploaded picture checked and kept as PNG, and small thumbnails."""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

from PIL import Image

from vidpipe import fsutil
from vidpipe.errors import BadInput

MAX_PICTURE_BYTES = 25 * 1024 * 1024
MAX_PICTURE_SIDE = 8192
MIN_PICTURE_SIDE = 16
PICTURE_FORMATS = ("PNG", "JPEG", "WEBP")


def checked_png(data: bytes) -> bytes:
    """`data` as PNG bytes when it is a real picture of a kept format and a sane size, else a
    BadInput that says what to send instead."""
    if len(data) > MAX_PICTURE_BYTES:
        raise BadInput(f"the picture is over {MAX_PICTURE_BYTES // 2**20} MB; send a smaller one")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind, (width, height) = probe.format, probe.size
                probe.verify()  # a truncated or corrupt file fails here
            if kind not in PICTURE_FORMATS:
                raise BadInput(f"a {kind} picture is not taken; send a PNG, JPEG or WebP")
            if min(width, height) < MIN_PICTURE_SIDE or max(width, height) > MAX_PICTURE_SIDE:
                raise BadInput(
                    f"the picture is {width}x{height}; send one from {MIN_PICTURE_SIDE} to "
                    f"{MAX_PICTURE_SIDE} pixels a side"
                )
            with Image.open(io.BytesIO(data)) as picture:
                picture.load()
                rgb = picture.convert("RGB")
    except BadInput:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Warning):
        raise BadInput("that is not a picture vidpipe can read; send a PNG, JPEG or WebP") from None
    out = io.BytesIO()
    rgb.save(out, "PNG")
    return out.getvalue()


def thumbnail(source: Path, target: Path, width: int) -> Path:
    """A JPEG `width` pixels wide of the picture `source`, made once and remade when the source
    changes (the thumbnail carries the source's mtime)."""
    mtime = source.stat().st_mtime_ns
    if target.exists() and target.stat().st_mtime_ns == mtime:
        return target
    with Image.open(source) as picture:
        small = picture.convert("RGB")
        small.thumbnail((width, width * 4))
    with fsutil.writing(target) as partial:
        small.save(partial, "JPEG", quality=80)
        os.utime(partial, ns=(mtime, mtime))
    return target
