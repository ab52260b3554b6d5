"""Clips a user puts in a project by hand (clips/<scene>.mp4): used as the user meant, or
refused with the file's name, what is wrong and what to do. The clips are real files made with
ffmpeg and broken as copies, kills and disks break them; the stitch and the build are real."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest

from vidpipe.errors import StepFailed
from vidpipe.media import clipformat, ffmpeg, stitch

SIZE, FPS, FRAMES = (320, 180), 24, 48


def make_clip(path: Path, *args: str, audio: bool = True, seconds: float = 2) -> Path:
    """A real clip of moving test pictures (and a tone), with its index at the front."""
    sound = ["-f", "lavfi", "-i", "sine=r=48000"] if audio else []
    subprocess.run(
        [
            *(ffmpeg.ffmpeg_exe(), "-v", "error", "-y"),
            *("-f", "lavfi", "-i", f"testsrc=s={SIZE[0]}x{SIZE[1]}:r={FPS}", *sound),
            *("-t", str(seconds), "-c:v", "libx264", "-pix_fmt", "yuv420p", *args),
            *("-movflags", "+faststart", str(path)),
        ],
        check=True,
    )
    return path


def cut_to(path: Path, size: int) -> None:
    path.write_bytes(path.read_bytes()[:size])


def truncated(path: Path) -> str:
    make_clip(path)
    cut_to(path, path.stat().st_size // 2)  # the index at the front declares every frame
    return "is cut short: it holds"


def without_index(path: Path) -> str:
    make_clip(path)
    subprocess.run(  # the index at the end, as a recording writes it; then the end lost
        [ffmpeg.ffmpeg_exe(), "-v", "error", "-y", "-i", str(path), "-c", "copy",
         str(path.with_suffix(".moov-last.mp4"))],
        check=True,
    )  # fmt: skip
    data = path.with_suffix(".moov-last.mp4").read_bytes()
    path.write_bytes(data[: data.rindex(b"moov") - 4])
    return "is an MP4 without its index (no moov atom)"


def empty(path: Path) -> str:
    path.write_bytes(b"")
    return "is empty (0 bytes)"


def text(path: Path) -> str:
    path.write_text("notes for scene 2\n")
    return "is not a video ffmpeg can read"


def audio_only(path: Path) -> str:
    subprocess.run(
        [ffmpeg.ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "sine=r=48000",
         "-t", "2", "-c:a", "aac", str(path)],
        check=True,
    )  # fmt: skip
    return "has no video (only audio)"


def damaged_inside(path: Path) -> str:
    """Whole and indexed, but bytes in the middle of its pictures overwritten."""
    make_clip(path, "-g", "100")  # one keyframe: the damage spoils the frames after it
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4000] = bytes(4000)
    path.write_bytes(bytes(data))
    return "is damaged: only"


BAD_CLIPS = [truncated, without_index, empty, text, audio_only, damaged_inside]


@pytest.mark.parametrize("spoil", BAD_CLIPS)
def test_an_unusable_clip_is_refused_with_its_name_what_is_wrong_and_what_to_do(
    tmp_path: Path, spoil
) -> None:
    good = make_clip(tmp_path / "s1.mp4")
    bad = tmp_path / "s2.mp4"
    said = spoil(bad)
    clips = [stitch.ClipRef(good, FRAMES, False), stitch.ClipRef(bad, FRAMES, False)]
    out = tmp_path / "final.mp4"
    with pytest.raises(StepFailed) as refused:
        stitch.stitch(clips, out, SIZE, FPS, 0.25)
    message = str(refused.value)
    assert message.startswith(f"{bad} {said}"), message
    assert message.endswith(clipformat.CLIP_FIX)
    assert "\n" not in message
    assert not out.exists()


def test_a_truncated_clip_is_refused_though_ffmpeg_decodes_it_without_failing(
    tmp_path: Path,
) -> None:
    clip = tmp_path / "s1.mp4"
    truncated(clip)
    # what let it through: ffmpeg reads what there is and exits 0
    decoded = subprocess.run(
        [ffmpeg.ffmpeg_exe(), "-v", "quiet", "-i", str(clip), "-f", "null", "-"], check=False
    )
    assert decoded.returncode == 0
    with pytest.raises(StepFailed, match=r"holds \d+ of its 48 frames"):
        clipformat.conform(clip, clipformat.ClipSpec(*SIZE, FPS, FRAMES))


def test_a_whole_clip_is_not_refused(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "s1.mp4", "-g", "100")
    clipformat.check_decodes(clip)
    facts = clipformat.probe(clip)
    assert facts.video is not None and len(facts.video.pts) == FRAMES


@pytest.mark.slow
def test_a_stitch_of_a_truncated_clip_fails_naming_it_and_keeps_the_crossfade(projects) -> None:
    from conftest import FAST, only_project, run_doit

    from vidpipe.project.folder import Project

    assert run_doit("generate", "prompt=A bay", *FAST).returncode == 0
    project = only_project(projects)
    clip = project.clip_file("s2")
    cut_to(clip, clip.stat().st_size // 2)  # the pipeline's own clip has its index at the front
    failed = run_doit("stitch", f"id={project.id}", "crossfade=0.25")
    assert failed.returncode == 1
    said = failed.stdout + failed.stderr
    assert f"{clip} is cut short" in said and clipformat.CLIP_FIX in said, said
    assert "Traceback" not in said
    assert Project(project.root).settings.crossfade == 0.0


@pytest.mark.slow
def test_a_re_stitch_through_the_api_of_a_truncated_clip_fails_and_keeps_the_crossfade(
    projects,
) -> None:
    from api_client import running_server
    from test_server import SMALL, wait_state

    from vidpipe.project.folder import Project

    with running_server(projects) as (api, _jobs):
        project_id = api.post("/api/generate", {"prompt": "A bridge", **SMALL}).json["id"]
        wait_state(api, project_id, {"complete"})
        project = Project(projects / project_id)
        clip = project.clip_file("s2")
        cut_to(clip, clip.stat().st_size // 2)
        assert api.post(f"/api/projects/{project_id}/stitch", {"crossfade": 0.5}).status == 202
        status = wait_state(api, project_id, {"failed", "complete"})
    assert status["state"] == "failed"
    assert f"{clip} is cut short" in status["error"], status
    assert Project(project.root).settings.crossfade == 0.0


# --- clips shown otherwise than stored ------------------------------------------------------
def first_frame(path: Path):
    """The first frame of `path` as decoded and shown (RGB rows x columns x 3)."""
    import av

    with av.open(str(path)) as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24")


def is_red(pixel) -> bool:
    red, green, blue = (int(value) for value in pixel)
    return red > 180 and green < 80 and blue < 80


def with_red_top(path: Path, size: str, *args: str) -> Path:
    """A clip of a grey picture with a red band over its top tenth (of its stored rows)."""
    subprocess.run(
        [
            *(ffmpeg.ffmpeg_exe(), "-v", "error", "-y"),
            *("-f", "lavfi", "-i", f"color=gray:s={size}:r={FPS}"),
            *("-f", "lavfi", "-i", "sine=r=48000", "-t", "2"),
            *("-vf", "drawbox=x=0:y=0:w=iw:h=ih/10:color=red:t=fill", *args),
            *("-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(path)),
        ],
        check=True,
    )
    return path


def test_non_square_pixels_are_shown_at_their_display_aspect(tmp_path: Path) -> None:
    # stored 240x180 (4:3), pixels 4:3 wide: shown 320x180, the project's 16:9
    clip = with_red_top(tmp_path / "s1.mp4", "240x180", "-aspect", "16:9")
    assert clipformat.probe(clip).video.pixel_aspect == Fraction(4, 3)  # type: ignore[union-attr]
    out = tmp_path / "final.mp4"
    stitch.stitch([stitch.ClipRef(clip, FRAMES, False)] * 2, out, SIZE, FPS, 0.25)
    picture = first_frame(out)
    assert picture.shape[:2] == (SIZE[1], SIZE[0])
    # nothing cropped: the band's top rows are there (a 4:3 picture cropped to 16:9 loses them)
    assert is_red(picture[1, SIZE[0] // 2]) and is_red(picture[15, SIZE[0] // 2])
    assert not is_red(picture[22, SIZE[0] // 2])


def test_a_rotation_tag_is_honoured_on_a_clip_otherwise_in_the_projects_format(
    tmp_path: Path,
) -> None:
    spec = clipformat.ClipSpec(*SIZE, FPS, FRAMES)
    upright = with_red_top(tmp_path / "upright.mp4", f"{SIZE[0]}x{SIZE[1]}")
    clipformat.conform(upright, spec)
    assert clipformat.is_canonical(upright, spec)
    turned = tmp_path / "s1.mp4"
    subprocess.run(  # the same packets, shown upside down
        [ffmpeg.ffmpeg_exe(), "-v", "error", "-y", "-display_rotation", "180",
         "-i", str(upright), "-c", "copy", str(turned)],
        check=True,
    )  # fmt: skip
    assert not clipformat.is_canonical(turned, spec)
    out = tmp_path / "final.mp4"
    stitch.stitch([stitch.ClipRef(turned, FRAMES, False)] * 2, out, SIZE, FPS, 0)
    picture = first_frame(out)
    middle = SIZE[0] // 2
    assert is_red(picture[-2, middle]) and not is_red(picture[2, middle])  # the band at the foot


@pytest.fixture
def ffmpeg_failing_conversions(tmp_path, monkeypatch) -> Iterator[None]:
    """The real ffmpeg, except that converting a clip to the project's format fails, as it
    does on a clip whose checks pass but whose data it cannot convert."""
    wrapper = tmp_path / "ffmpeg"
    wrapper.write_text(
        "#!/bin/sh\n"
        'for word in "$@"; do case "$word" in */.vidpipe/conformed/*)\n'
        '  echo "Error while filtering: Invalid data found when processing input" >&2; exit 1;;\n'
        f'esac; done\nexec {ffmpeg.ffmpeg_exe()} "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv(ffmpeg.FFMPEG_ENV, str(wrapper))
    ffmpeg.ffmpeg_exe.cache_clear()
    ffmpeg.encoder_identity.cache_clear()
    yield
    monkeypatch.undo()
    ffmpeg.ffmpeg_exe.cache_clear()
    ffmpeg.encoder_identity.cache_clear()


def test_a_clip_that_fails_its_conversion_is_named_as_the_users_file(
    projects, ffmpeg_failing_conversions
) -> None:
    from vidpipe.build import placed
    from vidpipe.project.folder import create_project
    from vidpipe.project.settings import ProjectSettings

    project = create_project(ProjectSettings(prompt="A bay"), projects)
    project.clip_file("s2").parent.mkdir(exist_ok=True)
    clip = make_clip(project.clip_file("s2"), seconds=1)  # not in the project's format
    with pytest.raises(StepFailed) as failed:
        placed.conformed(project, clip, clipformat.ClipSpec(*SIZE, FPS, 24))
    said = str(failed.value)
    assert said.startswith(f"{clip} cannot be converted to the project's format"), said
    assert "Invalid data found" in said and said.endswith(clipformat.CLIP_FIX)
    assert ".partial-" not in said and ".conformed" not in said
    assert not list((project.state_dir / "conformed").iterdir())  # nothing half-made kept


# --- a clip placed by hand is kept ----------------------------------------------------------
@pytest.mark.slow
def test_a_clip_placed_by_hand_is_kept_and_the_build_and_status_say_what_happened(
    projects, tmp_path
) -> None:
    import shutil

    from conftest import FAST, only_project, run_doit

    from vidpipe.read.summary import summarize

    assert run_doit("generate", "prompt=A bay", *FAST).returncode == 0
    project = only_project(projects)
    clip = project.clip_file("s2")
    mine = make_clip(tmp_path / "mine.mp4", seconds=3)  # longer than its 1 s scene, 320x180
    shutil.copyfile(mine, clip)
    resumed = run_doit("resume", f"id={project.id}")
    assert resumed.returncode == 0, resumed.stderr
    assert "clips/s2.mp4: it is longer than its scene: trimmed to 1 s" in resumed.stdout
    state = summarize(project)["scenes"][1]["clip"]
    assert state == {**state, "state": "done"}
    assert state["note"] == "placed by hand; it is longer than its scene: trimmed to 1 s"
    shown = run_doit("status", f"id={project.id}")
    assert "placed by hand; it is longer than its scene" in shown.stdout

    # the same scene's keyframe replaced: the clip is made again, the user's kept beside it
    shutil.copyfile(project.keyframe_file("s1"), project.keyframe_file("s2"))
    resumed = run_doit("resume", f"id={project.id}")
    assert resumed.returncode == 0, resumed.stderr
    kept = project.root / "clips" / "s2.hand-1.mp4"
    assert kept.read_bytes() == mine.read_bytes()
    assert clip.read_bytes() != mine.read_bytes()
    assert "the clip placed by hand is kept as clips/s2.hand-1.mp4" in resumed.stdout
    state = summarize(project)["scenes"][1]["clip"]
    assert state["note"] == "the clip placed by hand is kept as clips/s2.hand-1.mp4"

    # its duration edited, with a second clip of the user's in place: kept as the next one
    shutil.copyfile(mine, clip)
    storyboard = json.loads(project.storyboard_file.read_text())
    storyboard["scenes"][1]["duration"] = 1.5
    project.storyboard_file.write_text(json.dumps(storyboard))
    resumed = run_doit("resume", f"id={project.id}")
    assert resumed.returncode == 0, resumed.stderr
    assert (project.root / "clips" / "s2.hand-2.mp4").read_bytes() == mine.read_bytes()
    assert kept.read_bytes() == mine.read_bytes()  # the first one still there


@pytest.mark.slow
def test_a_clip_placed_by_hand_is_converted_once_not_at_every_stitch(projects, tmp_path) -> None:
    import shutil

    from conftest import FAST, only_project, run_doit
    from conftest import probe as decoded

    assert run_doit("generate", "prompt=A bay", *FAST).returncode == 0
    project = only_project(projects)
    clip = project.clip_file("s2")
    mine = make_clip(tmp_path / "mine.mp4", seconds=1)  # another encoder's settings
    shutil.copyfile(mine, clip)
    assert run_doit("stitch", f"id={project.id}", "crossfade=0.25").returncode == 0
    copy = project.state_dir / "conformed" / "s2.mp4"
    made = copy.stat().st_mtime_ns
    assert clipformat.is_canonical(
        copy, clipformat.ClipSpec(*project.settings.frame_size(), 24, 24)
    )
    assert run_doit("stitch", f"id={project.id}", "crossfade=0.5").returncode == 0
    assert copy.stat().st_mtime_ns == made  # taken from its cache
    assert decoded(project.final_file).frames == 3 * 24 - 2 * 12
    assert clip.read_bytes() == mine.read_bytes()  # the user's own file as it was

    make_clip(clip, seconds=1.5)  # another clip of the user's: converted again
    assert run_doit("stitch", f"id={project.id}", "crossfade=0.5").returncode == 0
    assert copy.stat().st_mtime_ns != made


@pytest.mark.slow
def test_a_trimmed_note_goes_when_the_clip_is_replaced_or_removed(projects, tmp_path) -> None:
    import shutil

    from conftest import FAST, only_project, run_doit

    from vidpipe.read.summary import summarize

    def said(project) -> dict:
        return summarize(project)["scenes"][1]["clip"]

    assert run_doit("generate", "prompt=A bay", *FAST).returncode == 0
    project = only_project(projects)
    clip = project.clip_file("s2")
    shutil.copyfile(make_clip(tmp_path / "long.mp4", seconds=3), clip)  # its scene: 1 s
    assert run_doit("resume", f"id={project.id}").returncode == 0
    assert "trimmed to 1 s" in said(project)["note"]

    # replaced by one of the right length: not trimmed, before the next cut and after it
    shutil.copyfile(make_clip(tmp_path / "right.mp4", seconds=1), clip)
    assert said(project)["note"] == "placed by hand"
    assert "trimmed to" not in run_doit("status", f"id={project.id}").stdout
    resumed = run_doit("resume", f"id={project.id}")
    assert resumed.returncode == 0, resumed.stderr
    assert "trimmed to" not in resumed.stdout
    assert said(project) == {**said(project), "state": "done", "note": "placed by hand"}

    # the long one again, then removed: the pipeline makes the clip, and nothing is trimmed
    shutil.copyfile(tmp_path / "long.mp4", clip)
    assert run_doit("resume", f"id={project.id}").returncode == 0
    assert "trimmed to 1 s" in said(project)["note"]
    clip.unlink()
    assert said(project) == {"state": "missing"}
    resumed = run_doit("resume", f"id={project.id}")
    assert resumed.returncode == 0, resumed.stderr
    assert "trimmed to" not in resumed.stdout + run_doit("status", f"id={project.id}").stdout
    assert "note" not in said(project)
