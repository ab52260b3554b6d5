"""The sound: narration, music, the mix, subtitles and the final mux.

The planners (ducking, the limiter, subtitle cues, the music bed) are checked in process; the
rest end to end: real doit builds, real ffmpeg, the soundtrack measured with an ITU-R BS.1770
meter of its own (pyloudnorm), not the one the build uses (ffmpeg's ebur128)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import av
import numpy as np
import pyloudnorm
import pytest
import yaml
from conftest import mtimes, only_project, run_doit
from scipy.signal import resample_poly

from vidpipe.build import sound_steps
from vidpipe.errors import BadInput
from vidpipe.media import ffmpeg, mix, music, mux, sound, subtitles
from vidpipe.project.folder import Project
from vidpipe.project.settings import settings_from_words
from vidpipe.project.storyboard import MAX_NARRATION_CHARS, parse_storyboard
from vidpipe.providers import check_providers
from vidpipe.providers.local_sound import local_narration

RATE = sound.RATE

# --- in process: the planners ---------------------------------------------------------------


def test_the_bed_ducks_under_speech_and_comes_back_between_lines():
    spans = [(RATE, 2 * RATE), (4 * RATE, 5 * RATE)]
    envelope = mix.duck_envelope(6 * RATE, spans, RATE)
    ducked = 10 ** (mix.DUCK_DB / 20)
    assert envelope[0] == 1.0 and envelope[3 * RATE] == 1.0 and envelope[-1] == 1.0
    for start, end in spans:
        assert np.allclose(envelope[start:end], ducked)
        attack = envelope[start - int(mix.ATTACK * RATE) : start + 1]
        assert np.all(np.diff(attack) <= 1e-7)  # falls smoothly before the line
        release = envelope[end : end + int(mix.RELEASE * RATE)]
        assert np.all(np.diff(release) >= -1e-7)  # rises smoothly after it


def test_the_limiter_holds_the_peaks_and_leaves_quiet_sound_alone():
    rng = np.random.default_rng(3)
    track = (rng.standard_normal((5 * RATE, 2)) * 0.05).astype(np.float32)
    track[RATE * 2 : RATE * 2 + 50] = 0.99  # a click
    limited = mix.limit(track, RATE, -6.0)
    assert np.max(np.abs(limited)) <= 10 ** (-6 / 20) + 1e-6
    # far from the click, nothing changed
    assert np.array_equal(limited[:RATE], track[:RATE])


def test_normalising_reaches_the_target_under_the_ceiling():
    rng = np.random.default_rng(4)
    track = (rng.standard_normal((8 * RATE, 2)) * 0.01).astype(np.float32)
    track[:: RATE // 3] = 0.9  # peaks that a plain gain would push past 0 dBFS
    normalised, level, _ = mix.normalise(track, RATE, sound.measure)
    measured = pyloudnorm.Meter(RATE).integrated_loudness(normalised.astype(np.float64))
    assert measured == pytest.approx(mix.TARGET_LUFS, abs=0.5)
    assert true_peak(normalised) <= -1.0
    assert level == pytest.approx(measured, abs=0.3)


def test_subtitle_cues_cover_the_speech_in_order_two_short_lines_each():
    text = (
        "The keeper climbs the stairs at dusk. He finds a bottle wedged between the rocks, "
        "and inside it a letter addressed to nobody he knows."
    )
    cues = subtitles.cues_for(text, 2.0, 9.0)
    assert len(cues) > 1
    assert cues[0].start == 2.0 and cues[-1].end == pytest.approx(9.0)
    assert all(a.end == pytest.approx(b.start) for a, b in zip(cues, cues[1:], strict=False))
    for cue in cues:
        lines = cue.text.split("\n")
        assert len(lines) <= 2 and all(len(line) <= subtitles.LINE_CHARS for line in lines)
    assert " ".join(" ".join(cue.text.split("\n")) for cue in cues) == text


def test_srt_and_vtt_are_written_as_players_read_them():
    cues = [subtitles.Cue(1.25, 3.5, "Bonjour, ça va?"), subtitles.Cue(3661.0, 3662.005, "a < b")]
    assert subtitles.srt(cues) == (
        "1\n00:00:01,250 --> 00:00:03,500\nBonjour, ça va?\n\n"
        "2\n01:01:01,000 --> 01:01:02,005\na < b\n\n"
    )
    assert subtitles.vtt(cues).startswith("WEBVTT\n\n00:00:01.250 --> 00:00:03.500\n")
    assert "a &lt; b" in subtitles.vtt(cues)


def test_the_music_bed_is_chords_not_a_tone_and_the_same_every_time():
    bed = music.Bed(mood="bright", key=0)
    first = music.music_bed(bed, 7.5, RATE)
    assert len(first) == int(7.5 * RATE)
    assert np.array_equal(first, music.music_bed(bed, 7.5, RATE))
    assert not np.array_equal(first, music.music_bed(music.Bed("dark", 0), 7.5, RATE))
    # several notes at once: many strong lines in the spectrum of one chord
    spectrum = np.abs(np.fft.rfft(first[RATE : 2 * RATE]))
    strong = np.flatnonzero(spectrum > 0.1 * spectrum.max())
    assert len(np.unique(strong // 5)) >= 4  # peaks at least 5 Hz apart
    # looped without a click: no jump between neighbouring samples bigger than the music has
    assert np.max(np.abs(np.diff(first))) < 0.1


def test_a_too_long_narration_is_refused_in_one_sentence():
    scene = {
        "id": "s1", "title": "t", "description": "d", "image_prompt": "i", "video_prompt": "v",
        "duration": 4, "narration": "word " * 20_000,
    }  # fmt: skip
    with pytest.raises(BadInput) as caught:
        parse_storyboard(json.dumps({"title": "T", "scenes": [scene]}), "storyboard.json")
    message = str(caught.value)
    assert "scene 1 (id 's1'), field 'narration'" in message
    assert f"more than the {MAX_NARRATION_CHARS}" in message and "shorten it" in message
    assert len(message) < 400  # the 100 KB is not echoed back


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ({"voice": " "}, "voice: is empty; name a voice"),
        ({"voice": "nope"}, "voice=nope is not a voice of the local narrator"),
        ({"burn_subtitles": "1", "subtitles": "0"}, "burn_subtitles=1 needs subtitles=1"),
        ({"narration_provider": "nobody"}, "cannot make the narration stage"),
        ({"music_provider": "google"}, "provider 'google' cannot make the music stage"),
    ],
)
def test_bad_sound_settings_are_refused(words, message):
    with pytest.raises(BadInput, match=re.escape(message)):
        check_providers(settings_from_words({"prompt": "x", **words}))


def test_the_offline_storyboard_narrates_what_fits_its_scene():
    description = "The world of the story, before anything happens: a keeper and a bottle."
    assert local_narration(description, "A bottle", 8.0) == description
    assert local_narration(description, "A bottle", 3.0) == "A bottle."
    assert local_narration(description, "A bottle", 1.0) == ""


# --- end to end ------------------------------------------------------------------------------

NARRATED = [
    "The keeper climbs the stairs at dusk.",
    "A bottle waits between the rocks.",
    "Inside it, a letter for nobody.",
]


def true_peak(track: np.ndarray) -> float:
    """dBTP: the peak of the track oversampled four times (ITU-R BS.1770-4, annex 2)."""
    up = resample_poly(track.astype(np.float64), 4, 1, axis=0)
    return 20 * np.log10(np.max(np.abs(up)))


def video_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(video=0) if p.size]


def streams(path: Path) -> list[str]:
    with av.open(str(path)) as container:
        return [stream.type for stream in container.streams]


def parse_srt(text: str) -> list[tuple[float, float, str]]:
    def seconds(stamp: str) -> float:
        hours, minutes, rest = stamp.split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(rest.replace(",", "."))

    cues = []
    for block in text.strip().split("\n\n"):
        _, timing, *lines = block.split("\n")
        start, _, end = timing.partition(" --> ")
        cues.append((seconds(start), seconds(end), " ".join(lines)))
    return cues


def resume(project: Project, *words: str) -> subprocess.CompletedProcess:
    return run_doit("resume", f"id={project.id}", *words)


def narrate(project: Project, texts: dict[str, str]) -> None:
    data = json.loads(project.storyboard_file.read_text())
    for scene in data["scenes"]:
        scene["narration"] = texts.get(scene["id"], scene["narration"])
    project.storyboard_file.write_text(json.dumps(data, indent=2))


@pytest.fixture(scope="module")
def narrated(tmp_path_factory) -> Path:
    """A finished offline project of three 4 s scenes with 0.5 s crossfades, each scene given
    a line of narration by hand."""
    root = tmp_path_factory.mktemp("narrated") / "projects"
    words = ["prompt=A lighthouse keeper", "scenes=3", "clip_duration=4", "resolution=360p"]
    made = run_doit("generate", *words, "crossfade=0.5", VIDPIPE_PROJECTS=str(root))
    assert made.returncode == 0, made.stdout + made.stderr
    project = only_project(root)
    narrate(project, dict(zip(("s1", "s2", "s3"), NARRATED, strict=True)))
    again = run_doit("resume", f"id={project.id}", VIDPIPE_PROJECTS=str(root))
    assert again.returncode == 0, again.stdout + again.stderr
    return project.root


@pytest.fixture
def project(narrated, projects) -> Project:
    projects.mkdir()
    return Project(Path(shutil.copytree(narrated, projects / narrated.name)))


def scene_windows(project: Project) -> list[tuple[float, float]]:
    """Each scene's stretch of the cut in seconds: 4 s clips, 12-frame crossfades."""
    return [(0.0, 3.75), (3.75, 7.25), (7.25, 11.0)]


@pytest.mark.slow
def test_offline_generate_speaks_each_scene_over_music_with_subtitles(project):
    final = project.final_file
    assert streams(final) == ["video", "audio", "subtitle"]
    track = sound.decode(final)
    duration = 3 * 4 - 2 * 0.5
    assert len(track) / RATE == pytest.approx(duration, abs=0.03)

    # loudness within 1 LU of the target, the true peak under -1 dBTP, by a meter of its own
    loudness = pyloudnorm.Meter(RATE).integrated_loudness(track.astype(np.float64))
    assert loudness == pytest.approx(-16.0, abs=1.0)
    assert true_peak(track) <= -1.0

    # speech where each scene's narration is, music (quieter) between the lines
    cues = parse_srt(project.subtitle_files[0].read_text())
    assert " ".join(text for *_, text in cues) == " ".join(NARRATED)
    spoken = np.zeros(len(track), dtype=bool)
    for scene_id, (start, end) in zip(("s1", "s2", "s3"), scene_windows(project), strict=True):
        speech, rate = sound.read_wav(project.narration_file(scene_id))
        line = [(a, b) for a, b, _ in cues if start <= a < end]
        assert line, f"no subtitle in scene {scene_id}"
        first, last = line[0][0], line[-1][1]
        assert start < first and last <= end  # inside the scene's window
        assert last - first == pytest.approx(len(speech) / rate, abs=0.01)  # timed to the speech
        spoken[int(first * RATE) : int(last * RATE)] = True
    between = ~spoken
    between[:RATE] = False  # not the music's fade in
    level_speech, level_between = mix.rms_db(track[spoken]), mix.rms_db(track[between])
    assert level_speech > level_between + 6
    assert level_between > -45  # the music bed, not silence

    # subtitles beside the video and inside it
    vtt = project.subtitle_files[1].read_text()
    assert vtt.startswith("WEBVTT") and vtt.count(" --> ") == len(cues)
    assert video_packets(final) == video_packets(project.picture_file)  # the picture, copied


@pytest.mark.slow
def test_a_narration_edit_remakes_only_that_speech_the_mix_and_the_mux(project):
    packets = video_packets(project.final_file)
    narrate(project, {"s2": "A green bottle waits."})
    before = mtimes(project.root)
    result = resume(project)
    assert result.returncode == 0, result.stdout + result.stderr

    changed = {
        name for name, mtime in mtimes(project.root).items()
        if before.get(name) != mtime and not name.startswith(".vidpipe/")
    }  # fmt: skip
    expected = {"narration/s2.wav", "sound/soundtrack.m4a", "final.srt", "final.vtt", "final.mp4"}
    assert changed == expected
    assert "scene s2: narration" in result.stdout and "clip" not in result.stdout
    assert video_packets(project.final_file) == packets  # no frame re-encoded
    assert "A green bottle waits." in project.subtitle_files[0].read_text()

    again = resume(project)  # and then nothing at all
    assert again.returncode == 0 and "up to date" in again.stdout


@pytest.mark.slow
def test_narration_too_long_for_its_scene_says_what_to_change(project):
    final = project.final_file.read_bytes()
    narrate(project, {"s3": " ".join(NARRATED * 3)})
    result = resume(project)
    assert result.returncode == 1
    assert re.search(
        r"scene s3: its narration takes \d+\.\d s to say and the scene has room for 3\.\d s; "
        r"shorten the narration or lengthen the scene's duration",
        result.stdout + result.stderr,
    )
    assert project.final_file.read_bytes() == final  # the last good video is kept


def marked_clip(clip: Path, at: float, seconds: float) -> None:
    """Replace the clip's sound by silence with a 20 ms 3 kHz beep `at` seconds in."""
    marked = clip.with_name("marked.mp4")
    beep = f"sine=f=3000:d=0.02:sample_rate={RATE},adelay={int(at * 1000)}:all=1,apad"
    ffmpeg.run_ffmpeg(
        [
            *("-i", str(clip), "-f", "lavfi", "-i", beep, "-map", "0:v", "-map", "1:a"),
            *("-c:v", "copy", *ffmpeg.AUDIO_CODEC_ARGS, "-t", f"{seconds}", str(marked)),
        ],
        doing="marking the clip",
    )
    marked.replace(clip)


@pytest.mark.slow
def test_sound_and_picture_stay_in_sync_at_every_scene_start(project):
    """A beep 0.5 s into each clip (just past its crossfade) is heard 0.5 s into its scene."""
    settings = yaml.safe_load(project.settings_file.read_text())
    project.settings_file.write_text(
        yaml.safe_dump({**settings, "narration": False, "music": False})
    )
    for scene_id in ("s1", "s2", "s3"):
        marked_clip(project.clip_file(scene_id), 0.5, 4.0)
    result = resume(project)
    assert result.returncode == 0, result.stdout + result.stderr

    track = np.abs(sound.decode(project.final_file)).max(axis=1)
    frame = 1 / 24
    for scene, clip_start in zip(("s1", "s2", "s3"), (0.0, 3.5, 7.0), strict=True):
        lo, hi = int((clip_start + 0.25) * RATE), int((clip_start + 0.75) * RATE)
        window = track[lo:hi]
        heard = (lo + int(np.argmax(window > 0.5 * window.max()))) / RATE
        assert heard == pytest.approx(clip_start + 0.5, abs=frame), scene


@pytest.mark.slow
def test_with_sound_off_the_clips_sound_is_cut_as_before(projects):
    words = ["prompt=A quiet film", "scenes=2", "clip_duration=1", "resolution=360p"]
    result = run_doit("generate", *words, "narration=0", "music=0", "subtitles=0")
    assert result.returncode == 0, result.stdout + result.stderr
    project = only_project(projects)
    assert streams(project.final_file) == ["video", "audio"]
    assert not (project.root / "sound").exists() and not project.subtitle_files[0].exists()


def drawn_frame(folder: Path, text: str) -> np.ndarray:
    """The first frame of a grey picture with `text` burnt in as a subtitle (lower third)."""
    picture, track = folder / "picture.mp4", folder / "sound.m4a"
    if not picture.exists():
        ffmpeg.run_ffmpeg(
            ["-f", "lavfi", "-i", "color=c=gray:s=640x360:d=1:r=24", *ffmpeg.video_codec_args(24),
             "-f", "mp4", str(picture)],
            doing="making a picture",
        )  # fmt: skip
        sound.encode_aac(np.zeros((RATE, 2), dtype=np.float32), track)
    srt = folder / "subtitles.srt"
    srt.write_text(subtitles.srt([subtitles.Cue(0.0, 1.0, text)]), encoding="utf-8")
    out = folder / "burnt.mp4"
    mux.mux(picture, track, srt, out, 24, fonts=sound_steps.font_folders())
    with av.open(str(out)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="gray")
    return frame[240:, :]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "other"),
    [("Café déjà vu", "Cafe deja vu"), ("你好世界", "灯塔守望"), ("مرحبا بالعالم", "منارة البحر")],
)
def test_burnt_subtitles_draw_accented_latin_chinese_and_arabic(tmp_path, text, other):
    """Drawn glyphs, not boxes: a font without the script draws every letter as the same
    empty box, so two different texts of the script would look alike."""
    drawn, different = drawn_frame(tmp_path, text), drawn_frame(tmp_path, other)
    assert np.count_nonzero(np.abs(drawn.astype(int) - 128) > 40) > 200  # text is there
    assert np.count_nonzero(np.abs(drawn.astype(int) - different.astype(int)) > 40) > 20


@pytest.mark.slow
def test_burn_subtitles_draws_them_into_the_picture(project):
    settings = yaml.safe_load(project.settings_file.read_text())
    project.settings_file.write_text(yaml.safe_dump({**settings, "burn_subtitles": True}))
    result = resume(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert streams(project.final_file) == ["video", "audio", "subtitle"]  # and the soft track
    burnt, plain = video_packets(project.final_file), video_packets(project.picture_file)
    assert len(burnt) == len(plain) and burnt != plain  # every frame, re-encoded
