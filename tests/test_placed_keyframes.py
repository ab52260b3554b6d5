"""Keyframes and clips a user puts in: used as meant, or refused clearly (issue 15).

A picture or clip of another shape than the frame is centre-cropped (`fit: crop`, the default)
or shown whole between black bars (`fit: bars`), never stretched; transparent pixels show black,
whatever colour they hold; a picture over the size limits (or whose header claims such a size)
is one error naming the file, and nothing is built from it. Measured on real decoded frames.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import av
import numpy as np
import pytest
import yaml
from conftest import FAST, mtimes, only_project, run_doit
from PIL import Image, ImageDraw

from vidpipe.errors import BadInput
from vidpipe.media import clipformat, ffmpeg, stills
from vidpipe.media.kenburns import CameraMove, ken_burns

SIZE, FPS = (640, 360), 24
SILENT = ["narration=0", "music=0", "subtitles=0"]
RED = (230, 20, 20)


def circle_picture(path: Path, side: int = 400, mode: str = "RGB") -> Path:
    """A red circle of a quarter of the side, centred on grey: a square picture."""
    picture = Image.new("RGB", (side, side), (128, 128, 128))
    quarter = side // 4
    ImageDraw.Draw(picture).ellipse(
        (side // 2 - quarter // 2, side // 2 - quarter // 2, side // 2 + quarter // 2,
         side // 2 + quarter // 2), fill=RED)  # fmt: skip
    picture.convert(mode).save(path)
    return path


def first_frame(clip: Path) -> np.ndarray:
    with av.open(str(clip)) as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24").astype(int)


def red_box(frame: np.ndarray) -> tuple[int, int]:
    """(width, height) in pixels of the red in `frame`."""
    ys, xs = np.nonzero((frame[..., 0] > 150) & (frame[..., 1] < 90) & (frame[..., 2] < 90))
    assert len(xs), "no red circle in the frame"
    return int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def black_columns(frame: np.ndarray) -> int:
    """How many columns of the frame's middle rows are black (bars), not the grey picture."""
    middle = frame[frame.shape[0] // 3 : 2 * frame.shape[0] // 3]
    return int((middle.max(axis=(0, 2)) < 30).sum())


# --- fit: crop or bars, for a keyframe and for a placed clip -------------------------------
@pytest.mark.parametrize("fit", ["crop", "bars"])
def test_a_square_keyframe_is_cropped_or_barred_never_stretched(tmp_path: Path, fit) -> None:
    still = circle_picture(tmp_path / "square.png")
    clip = tmp_path / "clip.mp4"
    ken_burns(still, clip, SIZE, FPS, 6, CameraMove(zoom=(1.0, 1.0)), fit=fit)
    frame = first_frame(clip)
    width, height = red_box(frame)
    assert abs(width - height) <= 2, (width, height)  # round, not 1.78:1
    # the square's side becomes the frame's width (crop) or its height (bars)
    assert width == pytest.approx((640 if fit == "crop" else 360) / 4, abs=3)
    bars = black_columns(frame)
    assert (bars == 0) if fit == "crop" else (bars == pytest.approx(2 * 140, abs=4))


@pytest.mark.parametrize("fit", ["crop", "bars"])
def test_a_square_placed_clip_is_conformed_the_same_way(tmp_path: Path, fit) -> None:
    clip = square_clip(tmp_path)
    clipformat.conform(clip, clipformat.ClipSpec(*SIZE, FPS, 24, fit))
    frame = first_frame(clip)
    assert frame.shape[:2] == (360, 640)
    width, height = red_box(frame)
    assert abs(width - height) <= 2 and width == pytest.approx(
        (640 if fit == "crop" else 360) / 4, abs=3
    )
    assert (black_columns(frame) == 0) == (fit == "crop")


def square_clip(folder: Path) -> Path:
    """A real 1 s 400x400 H.264 clip of the circle picture, as a user might place it."""
    still = circle_picture(folder / "for-clip.png")
    clip = folder / "square.mp4"
    ffmpeg.run_ffmpeg(
        [*("-loop", "1", "-i", str(still), "-t", "1", "-r", str(FPS)),
         *("-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", str(clip))],
        doing="making a square clip",
    )  # fmt: skip
    return clip


# --- transparency ---------------------------------------------------------------------------
def transparent_picture(path: Path, hidden: tuple[int, int, int], mode: str) -> Path:
    """The circle on a transparent ground whose pixels hold `hidden` (green or white)."""
    picture = Image.new("RGBA", (400, 400), (*hidden, 0))
    ImageDraw.Draw(picture).ellipse((150, 150, 250, 250), fill=(*RED, 255))
    if mode == "P":  # a palette with a transparent entry, as GIF-like PNGs hold it
        palette = picture.convert("RGB").quantize(colors=4)
        index = palette.getpixel((0, 0))
        palette.info["transparency"] = index
        palette.save(path, transparency=index)
    else:
        picture.convert(mode).save(path)
    return path


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_transparent_pixels_show_black_whatever_colour_they_hold(tmp_path: Path, mode) -> None:
    green = transparent_picture(tmp_path / "green.png", (0, 255, 0), mode)
    white = transparent_picture(tmp_path / "white.png", (255, 255, 255), mode)
    on_green, on_white = (np.asarray(stills.fitted(p, SIZE, "crop")) for p in (green, white))
    assert (on_green == on_white).all()
    assert on_green[5, 5].tolist() == list(stills.BACKGROUND)
    # an uploaded picture is kept the same way
    assert stills.checked_png(green.read_bytes()) == stills.checked_png(white.read_bytes())


def test_a_transparent_keyframe_makes_the_same_clip_whatever_it_hides(tmp_path: Path) -> None:
    frames = []
    for name, hidden in (("green", (0, 255, 0)), ("white", (255, 255, 255))):
        still = transparent_picture(tmp_path / f"{name}.png", hidden, "RGBA")
        clip = tmp_path / f"{name}.mp4"
        ken_burns(still, clip, SIZE, FPS, 4, CameraMove())
        frames.append(first_frame(clip))
    assert (frames[0] == frames[1]).all()
    assert frames[0][5, 5].max() < 30  # black, not green or white


# --- pictures too big to take ---------------------------------------------------------------
def png_claiming(width: int, height: int) -> bytes:
    """A small PNG file whose header says it is `width` x `height` (its data is not)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )  # fmt: skip


@pytest.mark.parametrize("size", [(14000, 13000), (100_000, 100_000), (9000, 400), (8, 8)], ids=str)
def test_a_keyframe_of_an_unusable_size_is_one_error_naming_the_file(tmp_path, size) -> None:
    path = tmp_path / "keyframes" / "s2.png"
    path.parent.mkdir()
    path.write_bytes(png_claiming(*size))
    with pytest.raises(BadInput) as refused:
        stills.check_keyframe(path)
    message = str(refused.value)
    assert str(path) in message and "delete it to have it drawn again" in message
    assert "from 16 to 8192 pixels a side" in message
    assert "\n" not in message and len(message) < 400
    with pytest.raises(BadInput):  # an upload of it too
        stills.checked_png(path.read_bytes())


def test_a_picture_that_is_not_one_is_one_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s1.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(BadInput, match=f"{path} is not a picture vidpipe can read"):
        stills.check_keyframe(path)


@pytest.mark.slow
def test_a_hand_placed_bomb_keyframe_fails_its_clip_and_builds_nothing(projects: Path) -> None:
    """A real 14000x13000 picture (over Pillow's decompression-bomb limit) placed by hand."""
    assert run_doit("generate", "prompt=A bay", *FAST, *SILENT).returncode == 0
    project = only_project(projects)
    Image.new("1", (14000, 13000)).save(project.keyframe_file("s2"))
    before = mtimes(project.root)
    failed = run_doit("resume", f"id={project.id}")
    assert failed.returncode == 1, failed.stderr
    said = failed.stdout + failed.stderr
    assert "Traceback" not in said
    assert f"{project.keyframe_file('s2')} is a picture of over" in said
    after = mtimes(project.root)
    for made in ("clips/s2.mp4", "final.mp4", "keyframes/s2.png"):
        assert after[made] == before[made]  # nothing was built from it, and it is kept


# --- a build: the setting, and what a change of it rebuilds -------------------------------------
def set_fit(project_yaml: Path, fit: str) -> None:
    """Edit project.yaml by hand, as a user would."""
    settings = yaml.safe_load(project_yaml.read_text())
    project_yaml.write_text(yaml.safe_dump({**settings, "fit": fit}, sort_keys=False))


@pytest.mark.slow
def test_fit_applies_to_placed_keyframes_and_clips_and_its_change_rebuilds_only_them(
    projects: Path, tmp_path: Path
) -> None:
    assert run_doit("generate", "prompt=A bay", *FAST, *SILENT).returncode == 0
    project = only_project(projects)
    assert project.settings.fit == "crop"  # the default, written to project.yaml
    settings_file = project.root / "project.yaml"

    # nothing placed: a change of fit changes nothing that is made
    set_fit(settings_file, "bars")
    made = mtimes(project.root)
    assert "up to date" in run_doit("resume", f"id={project.id}").stdout
    assert mtimes(project.root) == made

    # a square keyframe placed by hand: shown whole, between bars, round
    circle_picture(project.keyframe_file("s2"))
    assert run_doit("resume", f"id={project.id}").returncode == 0
    barred = first_frame(project.clip_file("s2"))
    assert black_columns(barred) > 100
    bar_width, bar_height = red_box(barred)
    assert abs(bar_width - bar_height) <= 3

    # back to crop: that clip and the cut are made again, nothing else
    made = mtimes(project.root)
    set_fit(settings_file, "crop")
    assert run_doit("resume", f"id={project.id}").returncode == 0
    now = mtimes(project.root)
    changed = {name for name in made if now.get(name) != made[name]}
    assert {"clips/s2.mp4", "final.mp4", "project.yaml"} <= changed
    assert not {"clips/s1.mp4", "clips/s3.mp4", "keyframes/s1.png", "keyframes/s2.png"} & changed
    cropped = first_frame(project.clip_file("s2"))
    assert black_columns(cropped) == 0
    crop_width, crop_height = red_box(cropped)
    assert abs(crop_width - crop_height) <= 3
    assert crop_width / bar_width == pytest.approx(16 / 9, rel=0.06)  # the same move, scaled

    # a square clip placed by hand: the cut crops it; with bars it is re-cut, the clip kept
    square = square_clip(tmp_path)
    project.clip_file("s3").write_bytes(square.read_bytes())
    assert run_doit("resume", f"id={project.id}").returncode == 0
    made = mtimes(project.root)
    set_fit(settings_file, "bars")
    assert run_doit("resume", f"id={project.id}").returncode == 0
    now = mtimes(project.root)
    assert now["final.mp4"] != made["final.mp4"]
    assert project.clip_file("s3").read_bytes() == square.read_bytes()
    assert now["clips/s1.mp4"] == made["clips/s1.mp4"]
    with av.open(str(project.final_file)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert black_columns(frames[-1].astype(int)) > 100  # the last scene, between bars


def test_fit_is_a_setting_of_every_door() -> None:
    from vidpipe.api.app import GenerateRequest
    from vidpipe.cli.commands import command_help
    from vidpipe.project.settings import settings_from_words

    assert settings_from_words({"prompt": "A bay", "fit": "bars"}).fit == "bars"
    with pytest.raises(BadInput, match="fit: Input should be 'crop' or 'bars'"):
        settings_from_words({"prompt": "A bay", "fit": "stretch"})
    assert "fit=  crop, bars (default crop)" in command_help("generate")
    schema = GenerateRequest.model_json_schema()["properties"]["fit"]
    assert schema["enum"] == ["crop", "bars"] and schema["default"] == "crop"


# --- JSON nested too deeply: a hand-edited storyboard, a request body -------------------------
NESTED = "[" * 10_000 + "]" * 10_000  # 20 KB: within the body limit


@pytest.mark.slow  # a doit run
def test_json_nested_too_deeply_is_one_clear_error_at_every_door(app, projects: Path) -> None:
    from test_api_doors import call, with_storyboard

    project = with_storyboard(projects)
    for method, path in [("POST", "/api/generate"),
                         ("POST", f"/api/projects/{project.id}/resume"),
                         ("POST", f"/api/projects/{project.id}/stitch"),
                         ("PATCH", f"/api/projects/{project.id}/scenes/s1")]:  # fmt: skip
        answer = call(app, method, path, raw=NESTED.encode())
        assert answer.status == 400, (path, answer.body)
        assert "nested too deeply" in answer.json["error"]["message"]

    # the storyboard edited by hand into the same: the project's pages say so, the list and a
    # build name the file, and nothing is built
    project.storyboard_file.write_text(NESTED)
    listed = call(app, "GET", "/api/projects")
    assert listed.status == 200 and listed.json["projects"][0]["thumbnail"] is None
    shown = call(app, "GET", f"/api/projects/{project.id}")
    assert shown.status < 500, shown.body
    build = run_doit("resume", f"id={project.id}")
    said = build.stdout + build.stderr
    assert build.returncode == 4 and "Traceback" not in said
    assert f"{project.storyboard_file}: not a storyboard (nested too deeply" in said
    assert not project.keyframe_file("s1").exists() and not project.final_file.exists()


def test_the_thumbnail_of_a_keyframe_too_big_is_a_422_naming_it(app, projects: Path) -> None:
    from test_api_doors import call, with_storyboard

    project = with_storyboard(projects)
    project.keyframe_file("s1").parent.mkdir(parents=True, exist_ok=True)
    project.keyframe_file("s1").write_bytes(png_claiming(100_000, 100_000))
    answer = call(app, "GET", f"/api/projects/{project.id}/thumbnail.jpg")
    assert answer.status == 422
    assert str(project.keyframe_file("s1")) in answer.json["error"]["message"]
