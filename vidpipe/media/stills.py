"""Still pictures: a user's picture checked (uploaded, or placed in the folder by hand) and kept
as PNG; a keyframe fitted to the frame (cropped or with bars, transparency on black); small
thumbnails."""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Literal

from PIL import Image, ImageOps

from vidpipe import fsutil
from vidpipe.errors import BadInput

MAX_PICTURE_BYTES = 25 * 1024 * 1024
MAX_PICTURE_SIDE = 8192
MIN_PICTURE_SIDE = 16
PICTURE_FORMATS = ("PNG", "JPEG", "WEBP")
# how a picture of another shape than the frame fills it: `crop` (centred) or `bars` (the
# whole picture, black bars on two sides); the values of the setting ProjectSettings.fit
Fit = Literal["crop", "bars"]
BACKGROUND = (0, 0, 0)  # what shows through a keyframe's transparent pixels, and the bars


def checked_png(data: bytes) -> bytes:
    """`data` as PNG bytes when it is a real picture of a kept format and a sane size, else a
    BadInput that says what to send instead."""
    if len(data) > MAX_PICTURE_BYTES:
        raise BadInput(f"the picture is over {MAX_PICTURE_BYTES // 2**20} MB; send a smaller one")
    check_picture(io.BytesIO(data), "the picture", "send")
    try:
        with Image.open(io.BytesIO(data)) as picture:
            picture.load()
            rgb = flattened(picture)
    except (OSError, SyntaxError, ValueError):  # its data, past a sound header
        raise BadInput(
            "the picture is not one vidpipe can read; send a PNG, JPEG or WebP"
        ) from None
    out = io.BytesIO()
    rgb.save(out, "PNG")
    return out.getvalue()


def check_keyframe(path: Path) -> None:
    """A keyframe may be the user's own file, placed in the folder by hand: the same check as
    an upload, naming the file."""
    check_picture(path, str(path), "replace it (or delete it to have it drawn again) with")


def check_picture(source: Path | io.BytesIO, named: str, fix: str) -> None:
    """The one check of a picture a user gives (uploaded, or placed by hand): a kept format of
    a sane size, read from its header before anything decodes it (a header may claim any size,
    past Pillow's decompression-bomb limit too). Else a BadInput: `named` names the picture,
    `fix` starts what to do ("send")."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as probe:
                kind, (width, height) = probe.format, probe.size
                probe.verify()  # a truncated or corrupt file fails here
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadInput(
            f"{named} is a picture of over {Image.MAX_IMAGE_PIXELS:,} pixels; {fix} one from "
            f"{MIN_PICTURE_SIDE} to {MAX_PICTURE_SIDE} pixels a side"
        ) from None
    except (OSError, SyntaxError, ValueError):
        raise BadInput(
            f"{named} is not a picture vidpipe can read; {fix} a PNG, JPEG or WebP"
        ) from None
    if kind not in PICTURE_FORMATS:
        raise BadInput(f"{named}: a {kind} picture is not taken; {fix} a PNG, JPEG or WebP")
    if min(width, height) < MIN_PICTURE_SIDE or max(width, height) > MAX_PICTURE_SIDE:
        raise BadInput(
            f"{named} is {width}x{height}; {fix} one from {MIN_PICTURE_SIDE} to "
            f"{MAX_PICTURE_SIDE} pixels a side"
        )


def as_frame_png(path: Path, size: tuple[int, int], fit: Fit) -> bytes:
    """The picture's own bytes when it is opaque and of the frame's shape exactly, else the
    picture `fitted` to `size`, as PNG."""
    with Image.open(path) as picture:
        width, height = picture.size
        opaque = picture.mode in ("RGB", "L") and "transparency" not in picture.info
    if opaque and width * size[1] == height * size[0]:
        return path.read_bytes()
    out = io.BytesIO()
    fitted(path, size, fit).save(out, "PNG")
    return out.getvalue()


def fitted(path: Path, size: tuple[int, int], fit: Fit) -> Image.Image:
    """The picture at `path` as an RGB image of exactly `size`: transparent pixels on
    BACKGROUND, a picture of another shape centre-cropped (`crop`) or shown whole between
    bars (`bars`)."""
    with Image.open(path) as picture:
        opaque = flattened(picture)
    if fit == "bars":
        return ImageOps.pad(opaque, size, Image.Resampling.LANCZOS, color=BACKGROUND)
    return ImageOps.fit(opaque, size, Image.Resampling.LANCZOS)


def flattened(picture: Image.Image) -> Image.Image:
    """`picture` in RGB, its transparent pixels (an alpha channel, or a palette's or a
    colour's transparency) composited on BACKGROUND, whatever colour they hold."""
    if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
        rgba = picture.convert("RGBA")
        back = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
        return Image.alpha_composite(back, rgba).convert("RGB")
    return picture.convert("RGB")


def thumbnail(source: Path, target: Path, width: int) -> Path:
    """A JPEG `width` pixels wide of the picture `source`, made once and remade when the source
    changes (the thumbnail carries the source's mtime)."""
    mtime = source.stat().st_mtime_ns
    if target.exists() and target.stat().st_mtime_ns == mtime:
        return target
    check_keyframe(source)
    with Image.open(source) as picture:
        small = flattened(picture)
        small.thumbnail((width, width * 4))
    with fsutil.writing(target) as partial:
        small.save(partial, "JPEG", quality=80)
        os.utime(partial, ns=(mtime, mtime))
    return target
