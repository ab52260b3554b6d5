"""The final cut: crossfades re-encode only the joints yet match a full re-encode, hard cuts copy
the video, the audio never drifts, and clips of any shape are conformed once per clip."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import FAST, only_project, probe, run_doit

from vidpipe.build import steps
from vidpipe.media import audiosplice, clipformat, ffmpeg, stitch
from vidpipe.media.clipformat import ClipSpec
from vidpipe.media.stitch import ClipRef, Part, Window

pytestmark = pytest.mark.slow  # ffmpeg and doit builds

SIZE = (640, 360)
FPS = 24
AAC_FRAME = 1024 / ffmpeg.AUDIO_RATE  # what a decoder may add after the last sample


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
        args += ["-f", "lavfi", "-i", f"sine=f={311 + 97 * index}:r={ffmpeg.AUDIO_RATE}"]
    args += ["-vf", "setsar=1", "-frames:v", str(round(seconds * fps)), "-t", f"{seconds}"]
    args += codec_args or [*ffmpeg.video_codec_args(fps), *ffmpeg.AUDIO_CODEC_ARGS]
    ffmpeg.run_ffmpeg([*args, "-f", "mp4", str(path)], doing="making a test clip")
    return path


def clips_in(folder: Path, count: int, seconds: float = 2.0) -> list[ClipRef]:
    return [
        ClipRef(make_clip(folder / f"c{i}.mp4", i, seconds), round(seconds * FPS))
        for i in range(count)
    ]


def ffmpeg_log(*args: str) -> str:
    done = subprocess.run(
        [ffmpeg.ffmpeg_exe(), "-hide_banner", "-nostdin", *args, "-f", "null", "-"],
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


def decoded_audio(path: Path) -> np.ndarray:
    """All of a file's audio, decoded: (channels, samples)."""
    with av.open(str(path)) as container:
        return np.concatenate([frame.to_ndarray() for frame in container.decode(audio=0)], 1)


def mixed_reference(plan: audiosplice.Plan, starts: list[int]) -> np.ndarray:
    """The audio of a cut, the slow sure way: every clip decoded whole, placed at `starts`,
    faded linearly in and out over the plan's crossfade spans (none at hard cuts), summed."""
    out = np.zeros((2, plan.samples), dtype=np.float32)
    for index, (track, start) in enumerate(zip(plan.tracks, starts, strict=True)):
        at = np.arange(start, start + track.samples)
        volume = np.ones(track.samples)
        if index > 0 and plan.fades[index - 1].end > plan.fades[index - 1].begin:
            fade = plan.fades[index - 1]
            volume *= np.clip((at - fade.begin) / (fade.end - fade.begin), 0, 1)
        if index < len(plan.fades) and plan.fades[index].end > plan.fades[index].begin:
            fade = plan.fades[index]
            volume *= 1 - np.clip((at - fade.begin) / (fade.end - fade.begin), 0, 1)
        lo, hi = max(start, 0), min(start + track.samples, plan.samples)
        samples = decoded_audio(track.path)[:, : track.samples] * volume
        out[:, lo:hi] += samples[:, lo - start : hi - start]
    return out


def worst_block_snr(ours: np.ndarray, reference: np.ndarray) -> float:
    """The signal-to-noise ratio of ours against the reference, in dB, at its worst AAC frame
    (1024 samples); the decoder's padding after the end is ignored."""
    worst = np.inf
    for at in range(0, reference.shape[1] - 1023, 1024):
        signal = reference[:, at : at + 1024]
        noise = ours[:, at : at + 1024] - signal
        worst = min(worst, 10 * np.log10((signal**2).sum() / max((noise**2).sum(), 1e-20)))
    return float(worst)


def exact_starts(clips: list[ClipRef], fade: int) -> list[int]:
    """Where each clip's audio starts in a cut with `fade`-frame crossfades, in samples."""
    per_frame = ffmpeg.AUDIO_RATE // FPS
    return [sum(clip.frames - fade for clip in clips[:k]) * per_frame for k in range(len(clips))]


def assert_audio_in_place(out: Path, clips: list[ClipRef], fade: int) -> None:
    """Each clip's audio is within half an AAC frame of its exact place (at most 10.7 ms),
    and sounds there as a careful mix of the clips would, every AAC frame of it."""
    plan = audiosplice.plan([clip.path for clip in clips], [c.frames for c in clips], fade, FPS)
    starts = [track.start for track in plan.tracks]
    exact = exact_starts(clips, fade)
    assert all(abs(start - at) <= 512 for start, at in zip(starts, exact, strict=True))
    ours = decoded_audio(out)
    assert 0 <= ours.shape[1] - plan.samples < 1024
    assert worst_block_snr(ours, mixed_reference(plan, starts)) > 40


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
    ffmpeg.run_ffmpeg(
        [
            *inputs,
            *("-filter_complex", f"{labels}concat=n={len(clips)}:v=1:a=1[v][a]"),
            *("-map", "[v]", "-map", "[a]", *ffmpeg.video_codec_args(FPS)),
            *ffmpeg.AUDIO_CODEC_ARGS,
            *("-f", "mp4", str(out)),
        ],
        doing="joining clips the slow way",
    )


def video_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.video[0]) if p.size]


def audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.audio[0]) if p.size]


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


def test_clips_move_onto_the_aac_grid_only_where_crossfades_outlast_an_aac_frame():
    paths = [Path("a.mp4"), Path("b.mp4")]
    cuts = audiosplice.plan(paths, [48, 48], 0, 24)
    assert [track.start for track in cuts.tracks] == [0, 96000]  # in place, off the grid
    assert [segment.track for segment in cuts.segments] == [0, None]  # only clip 0 copied
    short = audiosplice.plan(paths, [120, 120], 1, 60)  # 800 samples of overlap
    assert [track.start for track in short.tracks] == [0, 119 * 800]
    plan = audiosplice.plan(paths, [48, 48], 1, 24)  # 2000 samples
    assert [track.start for track in plan.tracks] == [0, 92 * 1024]  # 94000 exactly: 208 off
    assert plan.fades[0].end - plan.fades[0].begin >= 2000 - 1024
    assert [segment.track for segment in plan.segments] == [0, None, 1, None]


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
    assert_audio_in_place(ours, clips, 12)


def test_the_audio_check_notices_a_clip_out_of_place(tmp_path):
    clips = clips_in(tmp_path, 4)
    out = tmp_path / "out.mp4"
    stitch.stitch(clips, out, SIZE, FPS, 0.5)
    plan = audiosplice.plan([clip.path for clip in clips], [c.frames for c in clips], 12, FPS)
    starts = [track.start for track in plan.tracks]
    assert starts != exact_starts(clips, 12)  # 2 s clips do not fall on AAC frames
    ours = decoded_audio(out)
    assert worst_block_snr(ours, mixed_reference(plan, starts)) > 40
    assert worst_block_snr(ours, mixed_reference(plan, exact_starts(clips, 12))) < 0


def test_crossfaded_audio_copies_the_clips_packets_between_the_joints(tmp_path):
    clips = clips_in(tmp_path, 3)
    out = tmp_path / "out.mp4"
    stitch.stitch(clips, out, SIZE, FPS, 0.5)
    plan = audiosplice.plan([clip.path for clip in clips], [c.frames for c in clips], 12, FPS)
    ours = audio_packets(out)
    copied = [segment for segment in plan.segments if segment.track is not None]
    assert [segment.track for segment in copied] == [0, 1, 2]
    for segment in copied:
        track = plan.tracks[segment.track]
        theirs = audio_packets(track.path)[segment.first - track.shift : segment.last - track.shift]
        assert ours[segment.first : segment.last] == theirs
    # re-encoded: at each joint the 0.5 s overlap (23.4 AAC frames), the frames it touches and
    # two more on each side, and the last frames
    rendered = plan.packets - sum(segment.last - segment.first for segment in copied)
    assert plan.packets == 236 and rendered <= 2 * 29 + 4


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
    assert_audio_in_place(out, clips, 18)


def test_hard_cuts_copy_the_video_and_keep_the_audio_in_step(tmp_path):
    clips = clips_in(tmp_path, 5, seconds=1.0)
    out, reference = tmp_path / "out.mp4", tmp_path / "reference.mp4"
    stitch.stitch(clips, out, SIZE, FPS, 0)
    cuts_reference(clips, reference)

    assert_sound(out, 5 * 24)
    assert video_packets(out) == [p for clip in clips for p in video_packets(clip.path)]
    assert audio_sdr(out, reference) > 20
    plan = audiosplice.plan([clip.path for clip in clips], [c.frames for c in clips], 0, FPS)
    assert [track.start for track in plan.tracks] == exact_starts(clips, 0)  # exactly in place
    ours = decoded_audio(out)
    assert worst_block_snr(ours, mixed_reference(plan, exact_starts(clips, 0))) > 40


@pytest.mark.parametrize("crossfade", [0, 0.5])
def test_audio_re_encoded_in_many_pieces_joins_cleanly(tmp_path, monkeypatch, crossfade):
    monkeypatch.setattr(audiosplice, "PIECE", 10)  # every 10 AAC frames: another encoder
    clips = clips_in(tmp_path, 3)
    out = tmp_path / "out.mp4"
    stitch.stitch(clips, out, SIZE, FPS, crossfade)
    fade = round(crossfade * FPS)
    plan = audiosplice.plan([clip.path for clip in clips], [c.frames for c in clips], fade, FPS)
    rendered = sum(s.last - s.first for s in plan.segments if s.track is None)
    assert rendered > 40  # so at least 4 joins between encoders
    assert_sound(out, 3 * 48 - 2 * fade)
    starts = [track.start for track in plan.tracks]
    assert worst_block_snr(decoded_audio(out), mixed_reference(plan, starts)) > 40


@pytest.mark.parametrize(
    ("frames", "crossfade"),
    [
        (64, 0),  # 128000 samples: every clip on the AAC grid, copied but for its edges
        (64, 0.5),  # rendered parts start at 16/24 s, which no decimal time hits exactly
        (79, 0.75),  # no length a multiple of the keyframe interval
        (42, 1 / 24),  # a one-frame crossfade: 2000 samples, not two AAC frames
    ],
)
def test_clips_of_awkward_lengths_join_cleanly(tmp_path, frames, crossfade):
    clips = [ClipRef(make_clip(tmp_path / f"c{i}.mp4", i, frames / FPS), frames) for i in range(3)]
    out = tmp_path / "out.mp4"
    stitch.stitch(clips, out, SIZE, FPS, crossfade)
    fade = stitch.fade_frames(crossfade, FPS, [frames] * 3)
    assert_sound(out, 3 * frames - 2 * fade)
    plan = audiosplice.plan([clip.path for clip in clips], [frames] * 3, fade, FPS)
    starts = [track.start for track in plan.tracks]
    assert worst_block_snr(decoded_audio(out), mixed_reference(plan, starts)) > 35


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


def test_a_clip_replaced_by_hand_is_probed_and_conformed_for_the_stitch(projects, tmp_path):
    result = run_doit("generate", "prompt=A kite over the dunes", *FAST, "crossfade=0.5")
    assert result.returncode == 0, result.stderr
    project = only_project(projects)
    spec = ClipSpec(*SIZE, FPS, 24)
    clips = sorted((project.root / "clips").glob("*.mp4"))
    # as their step left them: known canonical, so the stitch does not probe them
    assert all(steps.known_canonical(project, clip, spec) for clip in clips)

    veo_like = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ar", "44100"]
    make_clip(tmp_path / "veo.mp4", 5, 1.0, (1280, 720), 24, codec_args=veo_like)
    clips[1].write_bytes((tmp_path / "veo.mp4").read_bytes())
    assert not steps.known_canonical(project, clips[1], spec)
    result = run_doit("stitch", f"id={project.root.name}", "crossfade=0.5")
    assert result.returncode == 0, result.stderr
    assert_sound(project.final_file, 3 * 24 - 2 * 12)
    assert probe(project.final_file).width == SIZE[0]
    assert clips[1].read_bytes() == (tmp_path / "veo.mp4").read_bytes()  # left as it is


@pytest.mark.parametrize("crossfade", [0, 0.5])
def test_the_audio_is_re_encoded_by_ffmpeg_when_pyav_encodes_aac_otherwise(
    tmp_path, monkeypatch, crossfade
):
    """Clips made by an ffmpeg whose AAC headers differ from PyAV's encoder: nothing of
    PyAV's can join their packets."""

    def other_headers():  # an encoder whose stream headers are not the clips'
        context = av.CodecContext.create("aac", "w")
        context.sample_rate, context.layout, context.format = 44100, "stereo", "fltp"
        context.open()
        return context

    clips = clips_in(tmp_path, 3)
    out, reference = tmp_path / "out.mp4", tmp_path / "reference.mp4"
    monkeypatch.setattr(audiosplice, "encoder", other_headers)
    stitch.stitch(clips, out, SIZE, FPS, crossfade)
    if crossfade:
        stitch.reencode_crossfade(clips, reference, FPS, crossfade)
    else:
        cuts_reference(clips, reference)
    assert_sound(out, 3 * 48 - 2 * round(crossfade * FPS))
    assert audio_sdr(out, reference) > 20  # every clip at its exact place
