"""The Ken Burns clips, measured on the encoded result: motion between consecutive decoded frames
(phase correlation, numpy FFT), and text that stays put while the camera moves."""

from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from vidpipe.media import clipformat
from vidpipe.media.kenburns import CameraMove, ken_burns, render_frames
from vidpipe.providers.local import camera_move
from vidpipe.providers.local_paint import paint_caption, paint_keyframe

SIZE, FPS, FRAMES = (640, 360), 24, 96


def luma(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="gray").astype(np.float64) for f in container.decode(video=0)]


def shift(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(dx, dy) in pixels that moves the content of `a` onto `b`, to a fraction of a pixel:
    phase correlation, its peak made Gaussian by a low-pass and located by a parabola through
    the logarithms around it (a parabola through the raw peak pulls toward whole pixels)."""
    h, w = a.shape
    window = np.outer(np.hanning(h), np.hanning(w))
    cross = np.fft.fft2(b * window) * np.conj(np.fft.fft2(a * window))
    cross /= np.abs(cross) + 1e-9
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    surface = np.fft.ifft2(cross * np.exp(-(fx**2 + fy**2) / (2 * 0.08**2))).real
    py, px = np.unravel_index(np.argmax(surface), surface.shape)

    def vertex(before: float, peak: float, after: float) -> float:
        before, peak, after = (math.log(max(v, 1e-12)) for v in (before, peak, after))
        curve = before - 2 * peak + after
        return 0.0 if curve == 0 else 0.5 * (before - after) / curve

    dx = px + vertex(surface[py, px - 1], surface[py, px], surface[py, (px + 1) % w])
    dy = py + vertex(surface[py - 1, px], surface[py, px], surface[(py + 1) % h, px])
    return (dx - w if dx > w / 2 else dx), (dy - h if dy > h / 2 else dy)


PICTURES = {
    # soft gradients and few edges: where an encoder most easily drops small motion
    "hills": ("Wide establishing shot at dawn: quiet hills, calm and still", "", []),
    "street": ("Wide shot in the afternoon: a red car on a street", "a detective", ["Detective"]),
}


@pytest.fixture(scope="module", params=sorted(PICTURES))
def still(request, tmp_path_factory) -> Path:
    image_prompt, context, characters = PICTURES[request.param]
    path = tmp_path_factory.mktemp("kenburns") / f"{request.param}.png"
    paint_keyframe(
        path, SIZE, image_prompt=image_prompt, context=context, style="cinematic",
        characters=characters,
    )  # fmt: skip
    return path


def render(still: Path, out: Path, move: CameraMove, overlay: Path | None = None) -> Path:
    ken_burns(still, out, SIZE, FPS, FRAMES, move, overlay)
    assert clipformat.is_canonical(out, clipformat.ClipSpec(*SIZE, FPS, FRAMES))
    return out


def test_an_encoded_slow_pan_moves_every_frame_by_the_same_subpixel_step(still, tmp_path):
    move = camera_move("slow pan right")
    frames = luma(render(still, tmp_path / "pan.mp4", move))
    # the picture moves left by the crop's travel per frame, in output pixels
    start, end = move.box(0, *SIZE), move.box(1, *SIZE)
    expected = (end[0] - start[0]) / (FRAMES - 1) * move.zoom[0]
    assert 0.2 < expected < 1  # a sub-pixel step: the case ffmpeg's zoompan rounds away
    steps = [shift(a, b) for a, b in zip(frames, frames[1:], strict=False)]
    dx = np.array([-step[0] for step in steps])
    dy = np.array([step[1] for step in steps])
    assert len(dx) == FRAMES - 1
    assert dx.min() > 0.5 * expected, f"frozen frames: {np.round(dx, 2).tolist()}"
    assert dx.max() < 1.6 * expected, f"jumps: {np.round(dx, 2).tolist()}"
    assert abs(np.median(dx) - expected) < 0.25 * expected
    assert np.abs(dy).max() < 0.25


def test_an_encoded_zoom_grows_the_picture_by_the_same_factor_every_frame(still, tmp_path):
    move = camera_move("zoom in")
    frames = luma(render(still, tmp_path / "zoom.mp4", move))
    h, w = frames[0].shape
    side, half = w // 3, 64  # patches a third of the frame left and right of the centre
    rows = slice(h // 2 - half, h // 2 + half)
    left = (rows, slice(w // 2 - side - half, w // 2 - side + half))
    right = (rows, slice(w // 2 + side - half, w // 2 + side + half))
    growth = []
    for a, b in zip(frames, frames[1:], strict=False):
        spread = shift(a[right], b[right])[0] - shift(a[left], b[left])[0]
        growth.append(spread / (2 * side))  # the zoom factor's change this frame
    expected = math.log(move.zoom[1] / move.zoom[0]) / (FRAMES - 1)
    growth_array = np.array(growth)
    assert growth_array.min() > 0.4 * expected, f"frozen: {np.round(growth_array / expected, 2)}"
    assert growth_array.max() < 1.8 * expected, f"jumps: {np.round(growth_array / expected, 2)}"
    assert abs(np.median(growth_array) - expected) < 0.25 * expected


def test_the_caption_stays_put_while_the_camera_pans(tmp_path):
    still = tmp_path / "street.png"
    image_prompt, context, characters = PICTURES["street"]
    paint_keyframe(
        still, SIZE, image_prompt=image_prompt, context=context, style="cinematic",
        characters=characters,
    )  # fmt: skip
    overlay = tmp_path / "caption.png"
    paint_caption(overlay, SIZE, "The turn", "Everything changes")
    frames = luma(render(still, tmp_path / "captioned.mp4", camera_move("pan left"), overlay))
    first, last = frames[0], frames[-1]
    h = first.shape[0]
    band = slice(round(h * 0.8), round(h * 0.93))  # the caption's line of text
    title = (slice(0, round(h * 0.1)), slice(0, first.shape[1] // 3))
    picture = slice(round(h * 0.2), round(h * 0.6))
    moved = np.abs(first[picture] - last[picture]).mean()
    assert moved > 8  # the picture did move
    with Image.open(overlay) as image:
        alpha = np.asarray(image.getchannel("A"))
    solid = alpha > 180  # the text's pixels (nearly opaque in the overlay): where they were
    for region in ((band, slice(None)), title):
        text = solid[region]
        assert text.sum() > 20
        # white in the first frame and still white in the last, where the picture moved
        assert first[region][text].mean() > 170 and last[region][text].mean() > 170
        assert np.abs(first[region][text] - last[region][text]).mean() < 0.25 * moved


def test_the_encoded_clip_keeps_the_colours_the_renderer_drew(still, tmp_path):
    # the raw frames are BT.709 and said so: taken for BT.601, they were converted on the way
    # into the encoder (luma 3 levels off on average, every colour shifted)
    move = camera_move("slow pan right")
    clip = render(still, tmp_path / "colours.mp4", move)
    drawn = next(render_frames(still, SIZE, FRAMES, move)).astype(np.float64)
    with av.open(str(clip)) as container:
        decoded = next(container.decode(video=0)).to_ndarray(format="yuv420p").astype(np.float64)
    height = SIZE[1]
    luma, u, v = slice(0, height), slice(height, height * 5 // 4), slice(height * 5 // 4, None)
    for plane in (luma, u, v):
        assert np.abs(decoded[plane] - drawn[plane]).mean() < 1.0
