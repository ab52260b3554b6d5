"""The Ken Burns renderer: a still animated into a clip by a pan or zoom.

Each frame is sampled from the still at the move's exact, fractional position (bilinear, in the
clip's own YUV planes) and piped to x264 raw, so the picture travels the same sub-pixel amount
every frame. ffmpeg's zoompan rounds the crop to whole pixels: a slow pan moved in 1 px steps
every few frames, which the encoder then flattened into jumps at each keyframe.

A fixed overlay (the scene's caption) is laid over every frame after the move, so text on screen
stays where it is while the camera moves over the picture.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

from PIL import Image

from vidpipe.media.camera import Box, CameraMove
from vidpipe.media.ffmpeg import (
    AUDIO_CODEC_ARGS,
    AUDIO_RATE,
    feed_ffmpeg,
    video_codec_args,
)
from vidpipe.media.stills import Fit, fitted

# A pan at a constant zoom reuses the still shifted by a whole number of these fractions of a
# source pixel (a frame is then a crop of one of them): at most 1/32 px from the exact place.
PHASES = 16
RESAMPLE = Image.Resampling.BILINEAR


def ken_burns(
    still: Path,
    out: Path,
    size: tuple[int, int],
    fps: int,
    frames: int,
    move: CameraMove,
    overlay: Path | None = None,
    fit: Fit = "crop",
) -> None:
    """Animate `still` into an H.264/AAC (silent) MP4 of exactly `frames` frames; `overlay`
    (an RGBA image of the frame's size) is laid, unmoving, over every frame; a still of
    another shape fills the frame as `fit` says (vidpipe.media.stills.fitted)."""
    width, height = size
    inputs = [
        *("-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{width}x{height}"),
        *("-r", str(fps), "-i", "pipe:0"),
    ]
    pieces = _overlay_pieces(overlay, out) if overlay is not None else []
    try:
        chain, last = [], "0:v"
        for index, (path, x, y) in enumerate(pieces, start=1):
            inputs += ["-i", str(path)]
            chain.append(
                f"[{last}][{index}:v]overlay={x}:{y}:format=yuv420:eof_action=repeat[o{index}]"
            )
            last = f"o{index}"
        graph = ";".join([*chain, f"[{last}]setsar=1[v]"])
        seconds = frames / fps
        args = [
            *inputs,
            *("-f", "lavfi", "-t", f"{seconds:.6f}"),
            *("-i", f"anullsrc=channel_layout=stereo:sample_rate={AUDIO_RATE}"),
            *("-filter_complex", graph, "-map", "[v]", "-map", f"{len(pieces) + 1}:a"),
            *("-frames:v", str(frames), "-t", f"{seconds:.6f}"),
            *video_codec_args(fps),
            *AUDIO_CODEC_ARGS,
            *("-movflags", "+faststart", "-f", "mp4", str(out)),
        ]
        frames_yuv = render_frames(still, size, frames, move, fit)
        feed_ffmpeg(args, frames_yuv, doing=f"animating {still.name}")
    finally:
        for path, _, _ in pieces:
            path.unlink(missing_ok=True)


def _overlay_pieces(overlay: Path, out: Path) -> list[tuple[Path, int, int]]:
    """The overlay cut into its bands of rows that hold something (a title at the top, a
    caption at the bottom), each cropped to what it holds, and where each goes: ffmpeg then
    blends only those pixels of every frame. Written beside `out`."""
    with Image.open(overlay) as image:
        alpha = image.convert("RGBA").getchannel("A")
        rows = [
            alpha.crop((0, y, alpha.width, y + 1)).getbbox() is not None
            for y in range(alpha.height)
        ]
        pieces: list[tuple[Path, int, int]] = []
        y = 0
        while y < len(rows):
            if not rows[y]:
                y += 1
                continue
            end = y
            while end < len(rows) and rows[end]:
                end += 1
            box = alpha.crop((0, y, alpha.width, end)).getbbox()
            assert box is not None
            left, top, right, bottom = box[0], y + box[1], box[2], y + box[3]
            left, top = left - left % 2, top - top % 2  # on the chroma grid
            path = out.with_name(f"{out.stem}.overlay{len(pieces)}.png")
            image.convert("RGBA").crop((left, top, right, bottom)).save(path, compress_level=1)
            pieces.append((path, left, top))
            y = end
    return pieces


def render_frames(
    still: Path, size: tuple[int, int], frames: int, move: CameraMove, fit: Fit = "crop"
) -> Iterator[bytes]:
    """The clip's frames, raw yuv420p (BT.709, TV range), one plane at a time."""
    planes = _yuv_planes(still, size, fit)
    width, height = size
    constant_zoom = math.isclose(*move.zoom)
    shifted = [_Shifted(plane) for plane in planes] if constant_zoom else None
    for frame in range(frames):
        box = move.box(frame / max(frames - 1, 1), width, height)
        for index, plane in enumerate(planes):
            scale = 1 if index == 0 else 2  # chroma planes are half the size
            part = (box[0] / scale, box[1] / scale, box[2] / scale, box[3] / scale)
            out = (width // scale, height // scale)
            if shifted is not None:
                yield shifted[index].crop(part, out)
            else:
                yield plane.resize(out, RESAMPLE, box=part).tobytes()


def _yuv_planes(still: Path, size: tuple[int, int], fit: Fit) -> list[Image.Image]:
    """The still, fitted to `size`, as its Y, U and V planes (greyscale images)."""
    import av
    from av.video.reformatter import ColorRange, Colorspace

    frame = av.VideoFrame.from_image(fitted(still, size, fit)).reformat(
        format="yuv420p", dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG
    )
    planes = []
    for index, plane in enumerate(frame.planes):
        w, h = (size[0], size[1]) if index == 0 else (size[0] // 2, size[1] // 2)
        rows = Image.frombuffer("L", (plane.line_size, h), bytes(plane), "raw", "L", 0, 1)
        planes.append(rows.crop((0, 0, w, h)))
    return planes


class _Shifted:
    """One plane, scaled once to a pan's zoom and kept shifted by each phase it needs: a frame
    of the pan is then a crop at whole pixels of one of them."""

    def __init__(self, plane: Image.Image) -> None:
        self.plane = plane
        self.scaled: Image.Image | None = None
        self.zoom = 0.0
        self.phases: dict[tuple[int, int], Image.Image] = {}

    def crop(self, box: Box, out: tuple[int, int]) -> bytes:
        zoom = out[0] / (box[2] - box[0])
        if self.scaled is None or not math.isclose(zoom, self.zoom):
            w, h = self.plane.size
            size = (math.floor(w * zoom), math.floor(h * zoom))
            whole = (0, 0, min(size[0] / zoom, w), min(size[1] / zoom, h))
            self.scaled = self.plane.resize(size, RESAMPLE, box=whole)
            self.zoom, self.phases = zoom, {}
        x, y = box[0] * zoom, box[1] * zoom
        ix, iy = math.floor(x), math.floor(y)
        phase = (round((x - ix) * PHASES), round((y - iy) * PHASES))
        if phase not in self.phases:
            fx, fy = phase[0] / PHASES, phase[1] / PHASES
            w, h = self.scaled.size[0] - 1, self.scaled.size[1] - 1
            self.phases[phase] = self.scaled.resize((w, h), RESAMPLE, box=(fx, fy, w + fx, h + fy))
        shifted = self.phases[phase]
        # a crop that ends on the still's last pixel starts a pixel early (its phase reads
        # one pixel past it)
        left = min(ix, shifted.size[0] - out[0])
        top = min(iy, shifted.size[1] - out[1])
        return shifted.crop((left, top, left + out[0], top + out[1])).tobytes()
