"""The Ken Burns renderer: a still animated into a clip by a pan or zoom.

Each frame is sampled from the still at the move's exact, fractional position (bilinear, to
1/32 px, in the clip's own YUV planes, by OpenCV's warpAffine: a tenth of the time Pillow's
resize takes for a 720p frame) and handed to x264 in process (PyAV: a twelfth less CPU than
ffmpeg's own process fed the frames through a pipe), so the picture travels the same sub-pixel
amount every frame. ffmpeg's zoompan rounds the crop to whole pixels: a slow pan moved in 1 px
steps every few frames, which the encoder then flattened into jumps at each keyframe.

A fixed overlay (the scene's caption) is blended over every frame after the move, so text on
screen stays where it is while the camera moves over the picture: only the boxes it covers, in
fixed point (a tenth of the time ffmpeg's overlay filter took for a caption band).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from vidpipe import process
from vidpipe.errors import StepFailed
from vidpipe.media import audiosplice, ffmpeg
from vidpipe.media.camera import CameraMove
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
    threads: int = 0,
) -> None:
    """Animate `still` into a canonical clip (H.264, silent AAC) of exactly `frames` frames;
    `overlay` (an RGBA image of the frame's size) is laid, unmoving, over every frame; a still
    of another shape fills the frame as `fit` says (vidpipe.media.stills.fitted). Encoded in
    process, on `threads` threads (0: as many as x264 chooses for the machine)."""
    import av
    import numpy as np

    layers = overlay_layers(overlay) if overlay is not None else []
    started = process.stops()
    with av.open(str(out), "w", format="mp4", options={"movflags": "+faststart"}) as container:
        video = ffmpeg.x264_stream(container, size, fps, threads)
        silence = np.zeros((2, frames * ffmpeg.AUDIO_RATE // fps), np.float32)
        audiosplice.mux_track(container, audiosplice.encode_track(silence, threads=1))
        for number, picture in enumerate(render_frames(still, size, frames, move, fit, layers)):
            if process.stop_asked(started):
                raise StepFailed(f"stopped animating {still.name}: the build was interrupted")
            frame = av.VideoFrame.from_numpy_buffer(picture, format="yuv420p")
            frame.pts, frame.time_base = number, Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))


@dataclass(frozen=True)
class Layer:
    """A box of one plane of the overlay, ready to blend: a frame's pixel `p` there becomes
    `(p * keep + add) >> SHIFT` (`keep` is 1 - alpha, `add` the overlay's colour times its
    alpha, premultiplied, so a chroma sample averages its four pixels as they show)."""

    plane: int
    rows: slice
    columns: slice
    keep: NDArray[np.uint16]
    add: NDArray[np.uint16]


SHIFT = 7  # the blend's fixed point: 7 bits of alpha keep p * keep + add within 16 bits


def overlay_layers(overlay: Path) -> list[Layer]:
    """The overlay's bands of rows that hold something (a title at the top, a caption at the
    bottom), each cropped to what it holds, in each plane of the clip's YUV (BT.709, TV range,
    as the frames): blending touches only those pixels of every frame."""
    import numpy as np

    with Image.open(overlay) as image:
        rgba = image.convert("RGBA")
    one = 1 << SHIFT
    layers = []
    for top, bottom, left, right in _boxes(np.asarray(rgba.getchannel("A")) > 0):
        box = rgba.crop((left, top, right, bottom))
        alpha = np.asarray(box.getchannel("A"), np.float64) / 255
        y, u, v = (plane.astype(np.float64) for plane in _yuv(box.convert("RGB"), "yuv444p"))
        # each plane's (alpha, premultiplied colour); a chroma sample averages its four pixels
        planes = [(alpha, alpha * y), (_quarter(alpha), _quarter(alpha * u))]
        planes.append((_quarter(alpha), _quarter(alpha * v)))
        for index, (weight, premultiplied) in enumerate(planes):
            scale = 1 if index == 0 else 2
            rows = slice(top // scale, bottom // scale)
            columns = slice(left // scale, right // scale)
            keep = np.round((1 - weight) * one).astype(np.uint16)
            add = np.round(premultiplied * one + one / 2).astype(np.uint16)
            layers.append(Layer(index, rows, columns, keep, add))
    return layers


def _quarter(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each 2x2 block's mean: a plane at the chroma planes' size."""
    height, width = values.shape
    return values.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))


def _boxes(shown: NDArray[np.bool_]) -> list[tuple[int, int, int, int]]:
    """(top, bottom, left, right) of each run of rows where something is `shown`, cropped to
    the columns it covers and widened to even edges (the chroma planes' grid)."""
    import numpy as np

    rows = shown.any(axis=1)
    edges = np.flatnonzero(np.diff(np.concatenate([[False], rows, [False]]).astype(np.int8)))
    boxes = []
    for top, bottom in zip(edges[::2], edges[1::2], strict=True):
        columns = np.flatnonzero(shown[top:bottom].any(axis=0))
        left, right = int(columns[0]), int(columns[-1]) + 1
        boxes.append((top - top % 2, bottom + bottom % 2, left - left % 2, right + right % 2))
    return boxes


def render_frames(
    still: Path,
    size: tuple[int, int],
    frames: int,
    move: CameraMove,
    fit: Fit = "crop",
    layers: Sequence[Layer] = (),
) -> Iterator[NDArray[np.uint8]]:
    """The clip's frames, yuv420p (BT.709, TV range: its Y, U and V planes one after another,
    as rows of the frame's width), with `layers` blended over them."""
    import cv2
    import numpy as np

    cv2.setNumThreads(1)  # its threads would only contend with x264's for the cores
    width, height = size
    planes = _yuv(fitted(still, size, fit), "yuv420p")
    for frame in range(frames):
        x0, y0, x1, y1 = move.box(frame / max(frames - 1, 1), width, height)
        # source pixels per frame pixel: the same in the chroma planes, half the size of both
        sx, sy = (x1 - x0) / width, (y1 - y0) / height
        picture = np.empty((height * 3 // 2, width), np.uint8)
        quarter = height // 4  # rows of the picture a chroma plane takes
        drawn = [
            picture[:height],
            picture[height : height + quarter].reshape(height // 2, width // 2),
            picture[height + quarter :].reshape(height // 2, width // 2),
        ]
        for index, plane in enumerate(planes):
            scale = 1 if index == 0 else 2
            # frame pixel (i, j) samples the plane at its centre's place in the box
            matrix = np.array(
                [[sx, 0, x0 / scale + 0.5 * sx - 0.5], [0, sy, y0 / scale + 0.5 * sy - 0.5]]
            )
            cv2.warpAffine(
                plane,
                matrix,
                (width // scale, height // scale),
                dst=drawn[index],
                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                borderMode=cv2.BORDER_REPLICATE,
            )
        for layer in layers:
            box = drawn[layer.plane][layer.rows, layer.columns]
            blended = np.multiply(box, layer.keep, dtype=np.uint16)
            blended += layer.add
            blended >>= SHIFT
            box[...] = blended
        yield picture


def _yuv(picture: Image.Image, layout: str) -> list[NDArray[np.uint8]]:
    """An RGB picture as its Y, U and V planes in `layout` (yuv420p or yuv444p)."""
    import av
    import numpy as np
    from av.video.reformatter import ColorRange, Colorspace

    frame = av.VideoFrame.from_image(picture).reformat(
        format=layout, dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG
    )
    planes = []
    for plane in frame.planes:
        rows = np.frombuffer(bytes(plane), np.uint8).reshape(plane.height, plane.line_size)
        planes.append(np.ascontiguousarray(rows[:, : plane.width]))
    return planes
