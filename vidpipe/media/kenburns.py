"""The Ken Burns renderer: a still animated into a clip by a pan or zoom.

Each frame is sampled from the still at the move's exact, fractional position (bilinear, to
1/32 px, in the clip's own YUV planes, by OpenCV's warpAffine: a tenth of the time Pillow's
resize takes for a 720p frame) and piped to x264 raw, so the picture travels the same sub-pixel
amount every frame. ffmpeg's zoompan rounds the crop to whole pixels: a slow pan moved in 1 px steps
every few frames, which the encoder then flattened into jumps at each keyframe.

A fixed overlay (the scene's caption) is laid over every frame after the move, so text on screen
stays where it is while the camera moves over the picture.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from vidpipe.media.camera import CameraMove
from vidpipe.media.ffmpeg import (
    AUDIO_CODEC_ARGS,
    AUDIO_RATE,
    feed_ffmpeg,
    video_codec_args,
)
from vidpipe.media.stills import Fit, fitted

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


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
            pieces.append((path, left, top))  # before it is written: a failed write is removed
            try:
                image.convert("RGBA").crop((left, top, right, bottom)).save(path, compress_level=1)
            except BaseException:
                for written, _, _ in pieces:
                    written.unlink(missing_ok=True)
                raise
            y = end
    return pieces


def render_frames(
    still: Path, size: tuple[int, int], frames: int, move: CameraMove, fit: Fit = "crop"
) -> Iterator[bytes]:
    """The clip's frames, raw yuv420p (BT.709, TV range), one plane at a time."""
    import cv2
    import numpy as np

    planes = _yuv_planes(still, size, fit)
    width, height = size
    for frame in range(frames):
        x0, y0, x1, y1 = move.box(frame / max(frames - 1, 1), width, height)
        # source pixels per frame pixel: the same in the chroma planes, half the size of both
        sx, sy = (x1 - x0) / width, (y1 - y0) / height
        for index, plane in enumerate(planes):
            scale = 1 if index == 0 else 2
            # frame pixel (i, j) samples the plane at its centre's place in the box
            matrix = np.array(
                [[sx, 0, x0 / scale + 0.5 * sx - 0.5], [0, sy, y0 / scale + 0.5 * sy - 0.5]]
            )
            yield cv2.warpAffine(
                plane,
                matrix,
                (width // scale, height // scale),
                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                borderMode=cv2.BORDER_REPLICATE,
            ).tobytes()


def _yuv_planes(still: Path, size: tuple[int, int], fit: Fit) -> list[NDArray[np.uint8]]:
    """The still, fitted to `size`, as its Y, U and V planes."""
    import av
    import numpy as np
    from av.video.reformatter import ColorRange, Colorspace

    frame = av.VideoFrame.from_image(fitted(still, size, fit)).reformat(
        format="yuv420p", dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG
    )
    planes = []
    for index, plane in enumerate(frame.planes):
        w, h = (size[0], size[1]) if index == 0 else (size[0] // 2, size[1] // 2)
        rows = np.frombuffer(bytes(plane), np.uint8).reshape(h, plane.line_size)
        planes.append(np.ascontiguousarray(rows[:, :w]))
    return planes
