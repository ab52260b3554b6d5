"""The final cut: crossfades re-encode only the joints yet match a full re-encode, hard cuts copy
the video, the audio never drifts, and clips of any shape are conformed once per clip."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import av
import pytest
from conftest import FAST, only_project, probe, run_doit

from vidpipe import clipformat, media, stitch
from vidpipe.clipformat import ClipSpec
from vidpipe.stitch import ClipRef, Part, Window

SIZE = (640, 360)
FPS = 24
AAC_FRAME = 1024 / media.AUDIO_RATE  # what a decoder may add after the last sample


def make_clip(
    path: Path,
    index: int,
    seconds: float = 2.0,
    size: tuple[int, int] = SIZE,
    fps: int = FPS,
    audio: bool = True,
    codec_args: list[str] | None = None,
) -> Path:
    """A moving test pattern (hue and tone differ by clip), canonical unless `codec_args`
    says otherwise."""
    width, height = size
    args = ["-f", "lavfi", "-i", f"testsrc2=s={width}x{height}:r={fps},hue=h={index * 70}"]
    if audio:  # a tone whose period matches no frame or AAC frame length
        args += ["-f", "lavfi", "-i", f"sine=f={311 + 97 * index}:r={media.AUDIO_RATE}"]
    args += ["-vf", "setsar=1", "-frames:v", str(round(seconds * fps)), "-t", f"{seconds}"]
    args += codec_args or [*media.video_codec_args(fps), *media.AUDIO_CODEC_ARGS]
    media.run_ffmpeg([*args, "-f", "mp4", str(path)], doing="making a test clip")
    return path


def clips_in(folder: Path, count: int, seconds: float = 2.0) -> list[ClipRef]:
    return [
        ClipRef(make_clip(folder / f"c{i}.mp4", i, seconds), round(seconds * FPS))
        for i in range(count)
    ]


def ffmpeg_log(*args: str) -> str:
    done = subprocess.run(
        [media.ffmpeg_exe(), "-hide_banner", "-nostdin", *args, "-f", "null", "-"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def video_psnr(a: Path, b: Path) -> tuple[float, float]:
    """(average, worst frame) PSNR of a against b."""
    log = ffmpeg_log("-i", str(a), "-i", str(b), "-lavfi", "[0:v][1:v]psnr", "-an")
    found = re.search(r"average:(\S+) min:(\S+)", log)
    assert found, log
    return float(found[1]), float(found[2])


def audio_sdr(a: Path, b: Path) -> float:
    """Signal-to-distortion ratio of a's audio against b's, in dB (the worse channel)."""
    log = ffmpeg_log("-i", str(a), "-i", str(b), "-lavfi", "[0:a][1:a]asdr", "-vn")
    return min(float(value) for value in re.findall(r"SDR ch\d+: (\S+) dB", log))


def assert_sound(path: Path, frames: int) -> None:
    """Every frame decodes, there are `frames` of them, and the audio lasts as long."""
    facts = probe(path)
    assert facts.frames == frames
    assert facts.duration == pytest.approx(frames / FPS)
    assert facts.audio_seconds is not None
    assert 0 <= facts.audio_seconds - facts.duration < AAC_FRAME


def cuts_reference(clips: list[ClipRef], out: Path) -> None:
    """Hard cuts, the slow sure way: decode everything, concatenate, re-encode."""
    inputs = [arg for clip in clips for arg in ("-i", str(clip.path))]
    labels = "".join(f"[{i}:v][{i}:a]" for i in range(len(clips)))
    media.run_ffmpeg(
        [
            *inputs,
            *("-filter_complex", f"{labels}concat=n={len(clips)}:v=1:a=1[v][a]"),
            *("-map", "[v]", "-map", "[a]", *media.video_codec_args(FPS)),
            *media.AUDIO_CODEC_ARGS,
            *("-f", "mp4", str(out)),
        ],
        doing="joining clips the slow way",
    )


def video_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.video[0]) if p.size]


# --- the plan -------------------------------------------------------------------------------


def test_the_plan_copies_between_keyframes_and_renders_only_the_joints():
    parts = stitch.plan([192, 192, 192], fade=12, interval=12)
    assert parts == [
        Part((Window(0, 0, 180),), rendered=False),
        Part((Window(0, 180, 192), Window(1, 0, 12)), rendered=True),
        Part((Window(1, 12, 180),), rendered=False),
        Part((Window(1, 180, 192), Window(2, 0, 12)), rendered=True),
        Part((Window(2, 12, 192),), rendered=False),
    ]
    assert sum(part.frames(12) for part in parts) == 3 * 192 - 2 * 12


def test_the_plan_widens_a_joint_to_the_nearest_keyframes():
    parts = stitch.plan([100, 100], fade=7, interval=12)  # fade 7 frames, clips of 100
    assert parts[1] == Part((Window(0, 84, 100), Window(1, 0, 12)), rendered=True)
    assert [p.rendered for p in parts] == [False, True, False]
    assert sum(part.frames(7) for part in parts) == 200 - 7


def test_a_clip_too_short_to_copy_falls_inside_one_rendered_part():
    parts = stitch.plan([24, 24, 24], fade=12, interval=12)
    assert parts == [
        Part((Window(0, 0, 12),), rendered=False),
        Part((Window(0, 12, 24), Window(1, 0, 24), Window(2, 0, 12)), rendered=True),
        Part((Window(2, 12, 24),), rendered=False),
    ]
    assert sum(part.frames(12) for part in parts) == 72 - 24


def test_hard_cuts_copy_whole_clips():
    assert stitch.plan([10, 20], fade=0, interval=12) == [
        Part((Window(0, 0, 10),), rendered=False),
        Part((Window(1, 0, 20),), rendered=False),
    ]


# --- crossfades and hard cuts ---------------------------------------------------------------


def test_a_crossfade_looks_and_sounds_like_a_full_reencode(tmp_path):
    clips = clips_in(tmp_path, 4)
    ours, reference = tmp_path / "ours.mp4", tmp_path / "reference.mp4"
    stitch.stitch(clips, ours, SIZE, FPS, 0.5)
    stitch.reencode_crossfade(clips, reference, FPS, 0.5)

    frames = 4 * 48 - 3 * 12
    assert_sound(ours, frames)
    assert probe(reference).frames == frames
    average, worst = video_psnr(ours, reference)
    assert average > 38 and worst > 33, (average, worst)  # one frame off: 26 and 23
    assert audio_sdr(ours, reference) > 20  # in step with the reference, joint after joint


def test_a_crossfade_copies_the_clips_between_the_joints(tmp_path):
    clips = clips_in(tmp_path, 3)
    out = tmp_path / "out.mp4"
    stitch.stitch(clips, out, SIZE, FPS, 0.5)
    packets = video_packets(out)
    first = video_packets(clips[0].path)
    assert packets[:36] == first[:36]  # clip 0 up to its tail: the very same bytes
    assert len(packets) == 3 * 48 - 2 * 12


def test_crossfades_longer_than_a_keyframe_interval_and_odd_lengths(tmp_path):
    clips = [
        ClipRef(make_clip(tmp_path / f"c{i}.mp4", i, seconds), round(seconds * FPS))
        for i, seconds in enumerate([2.5, 1.75, 3.0])
    ]
    out, reference = tmp_path / "out.mp4", tmp_path / "reference.mp4"
    stitch.stitch(clips, out, SIZE, FPS, 0.75)
    stitch.reencode_crossfade(clips, reference, FPS, 0.75)
    assert_sound(out, 60 + 42 + 72 - 2 * 18)
    average, worst = video_psnr(out, reference)
    assert average > 38 and worst > 33, (average, worst)  # one frame off: 26 and 23
    assert audio_sdr(out, reference) > 20


def test_hard_cuts_copy_the_video_and_keep_the_audio_in_step(tmp_path):
    clips = clips_in(tmp_path, 5, seconds=1.0)
    out, reference = tmp_path / "out.mp4", tmp_path / "reference.mp4"
    stitch.stitch(clips, out, SIZE, FPS, 0)
    cuts_reference(clips, reference)

    assert_sound(out, 5 * 24)
    assert video_packets(out) == [p for clip in clips for p in video_packets(clip.path)]
    assert audio_sdr(out, reference) > 20


# --- conforming clips of other shapes -------------------------------------------------------


def test_a_canonical_clip_is_left_alone(tmp_path):
    clip = make_clip(tmp_path / "c.mp4", 0)
    before = clip.read_bytes()
    assert clipformat.conform(clip, ClipSpec(*SIZE, FPS, 48)) == []
    assert clip.read_bytes() == before


def other_clips(folder: Path) -> list[Path]:
    """Clips another provider might deliver, none in the project's format."""
    veo_like = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ar", "44100"]
    return [
        make_clip(folder / "veo.mp4", 0, 2.0, (1280, 720), 24, codec_args=veo_like),
        make_clip(folder / "silent.mp4", 1, 2.0, (480, 360), 30, audio=False),
        make_clip(folder / "short.mp4", 2, 1.5, (640, 360), 25),
        make_clip(folder / "canonical.mp4", 3, 2.0),
    ]


def test_clips_of_other_shapes_are_conformed_once_and_then_stitch(tmp_path):
    spec = ClipSpec(*SIZE, FPS, 48)
    paths = other_clips(tmp_path)
    changes = [clipformat.conform(path, spec) for path in paths]
    assert [bool(change) for change in changes] == [True, True, True, False]
    assert "no audio" in changes[1]
    for path in paths:
        assert clipformat.is_canonical(path, spec)
        assert clipformat.conform(path, spec) == []  # nothing left to do the second time
        facts = probe(path)
        assert (facts.width, facts.height, facts.frames, facts.fps) == (*SIZE, 48, FPS)
        assert facts.audio_seconds == pytest.approx(2.0, abs=AAC_FRAME)

    out = tmp_path / "out.mp4"
    stitch.stitch([ClipRef(path, 48) for path in paths], out, SIZE, FPS, 0.5)
    assert_sound(out, 4 * 48 - 3 * 12)


@pytest.mark.parametrize("crossfade", [0, 0.5])
def test_the_stitch_conforms_a_copy_of_a_clip_made_before_clips_were_conformed(tmp_path, crossfade):
    paths = other_clips(tmp_path)
    before = [path.read_bytes() for path in paths]
    out = tmp_path / "out.mp4"
    stitch.stitch([ClipRef(path, 48) for path in paths], out, SIZE, FPS, crossfade)
    assert_sound(out, 4 * 48 - 3 * round(crossfade * FPS))
    assert [path.read_bytes() for path in paths] == before


# --- through the pipeline -------------------------------------------------------------------


def test_generate_with_crossfades_gives_the_exact_duration(projects):
    result = run_doit("generate", "prompt=A kite over the dunes", *FAST, "crossfade=0.5")
    assert result.returncode == 0, result.stderr
    project = only_project(projects)
    # 3 scenes of 1 s, two 0.5 s crossfades
    assert_sound(project.final_file, 3 * 24 - 2 * 12)
    assert probe(project.final_file).duration == 3 * 1 - 2 * 0.5
    for clip in sorted((project.root / "clips").glob("*.mp4")):
        assert clipformat.is_canonical(clip, ClipSpec(*SIZE, FPS, 24))
