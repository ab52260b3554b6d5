"""The build steps of the sound: each scene's speech, the music bed, the picture cut, the
soundtrack mix, the subtitles and the final mux (their artifacts are
vidpipe.inputs.sound_artifacts, their tasks in vidpipe.build.graph). Like every step: written
under a temporary name, renamed when complete, provenance recorded; a user-fixable problem is
a one-line failed task."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from vidpipe import fsutil
from vidpipe.build.steps import _step, file_inputs, stitch_clips
from vidpipe.errors import StepFailed
from vidpipe.inputs import artifact
from vidpipe.inputs import spoken as read_aloud
from vidpipe.media import ffmpeg, mix, mux, sound, stitch, subtitles
from vidpipe.project import costs
from vidpipe.project.folder import Project
from vidpipe.project.provenance import Provenance, file_stamp, inputs_record, write_provenance
from vidpipe.project.stages import (
    FINAL_TASK,
    MUSIC_TASK,
    SOUNDTRACK_TASK,
    SUBTITLES_TASK,
    scene_task,
)
from vidpipe.project.storyboard import Scene, Storyboard, load_storyboard
from vidpipe.providers import provider_for
from vidpipe.providers.base import MusicJob, NarrationJob

LEAD = 0.25  # seconds from a scene's start (mid-crossfade) to its first word
TAIL = 0.15  # seconds of quiet kept after its last word, before the scene ends
# the packages of `pip install 'vidpipe[fonts]'` (SIL Open Font License): Latin, Greek and
# Cyrillic with accents; Arabic; Chinese, Japanese and Korean
FONT_PACKAGES = ("fontpkg_noto_sans", "fontpkg_noto_sans_arabic", "noto_cjk_sans_otc")


@dataclass(frozen=True)
class Window:
    """A scene's own stretch of the cut, in seconds: from the middle of the crossfade into it
    to the middle of the one out of it."""

    start: float
    end: float

    @property
    def room(self) -> float:
        """Seconds of speech the scene holds."""
        return max(0.0, self.end - self.start - LEAD - TAIL)


def windows(project: Project, storyboard: Storyboard) -> tuple[list[Window], int]:
    """Each scene's window, and the cut's length in frames."""
    fps = project.settings.fps
    frames = [ffmpeg.frame_count(scene.duration, fps) for scene in storyboard.scenes]
    fade = stitch.fade_frames(project.settings.crossfade, fps, frames)
    found, position, last = [], 0, len(frames) - 1
    for index, count in enumerate(frames):
        start = position + (fade / 2 if index else 0)
        end = position + count - (fade / 2 if index < last else 0)
        found.append(Window(start / fps, end / fps))
        position += count - fade
    return found, position + fade


def spoken(project: Project, storyboard: Storyboard) -> list[Scene]:
    """The scenes whose narration is read aloud."""
    return read_aloud(project.settings, storyboard)


def _record(
    project: Project,
    storyboard: Storyboard,
    task: str,
    record: Provenance,
    started: float,
    partial: Path,
    inputs: str,
) -> None:
    """The provenance of the task's artifact, written before `partial` is renamed into place
    (so that a kill after the rename finds it done): `inputs` (the fingerprint the graph gave
    the step) and the files it was made from, which a no-op resume checks, and the finished
    file's stamp."""
    made = artifact(project, storyboard, task)
    more = {**inputs_record(inputs), "files": file_inputs(project, made.files),
            "stamp": file_stamp(partial)}  # fmt: skip
    write_provenance(project, made.target, record, started, **more)


def _fitted(scene: Scene, seconds: float, window: Window) -> None:
    if seconds > window.room + 1e-6:
        raise StepFailed(
            f"scene {scene.id}: its narration takes {seconds:.1f} s to say and the scene has "
            f"room for {window.room:.1f} s; shorten the narration or lengthen the scene's "
            "duration in storyboard.json, then resume"
        )


# --- the steps ------------------------------------------------------------------------------


@_step
def make_narration(root: str, scene_id: str, inputs: str) -> None:
    """The scene's narration, spoken: a mono WAV at the project's rate, silence trimmed."""
    project = Project(Path(root))
    storyboard = load_storyboard(project.storyboard_file)
    scene = storyboard.scene(scene_id)
    target = project.narration_file(scene_id)
    started = time.time()
    provider = provider_for("narration", project.settings, project.id)
    charges = provider.estimate("narration", scene.duration)
    with fsutil.writing(target) as partial:
        made = partial.with_name(partial.stem + "-made.wav")
        try:
            with costs.reserving(project.root, charges, f"scene {scene_id}: speech"):
                record = provider.speak(NarrationJob(scene, project.settings, made))
            speech = sound.trim_silence(sound.at_rate(made), sound.RATE)
        finally:
            made.unlink(missing_ok=True)
        if not len(speech):
            raise StepFailed(f"scene {scene_id}: the narrator made no sound; edit its narration")
        sound.write_wav(partial, speech)
        record.extra["seconds"] = round(len(speech) / sound.RATE, 3)
        _record(
            project, storyboard, scene_task(scene_id, "narration"), record, started, partial, inputs
        )


@_step
def make_music(root: str, inputs: str) -> None:
    project = Project(Path(root))
    storyboard = load_storyboard(project.storyboard_file)
    _, frames = windows(project, storyboard)
    seconds = frames / project.settings.fps
    target = project.music_file
    started = time.time()
    provider = provider_for("music", project.settings, project.id)
    charges = provider.estimate("music", seconds)
    with fsutil.writing(target) as partial:
        made = partial.with_name(partial.stem + "-made.wav")
        try:
            with costs.reserving(project.root, charges, "the music bed"):
                record = provider.compose(MusicJob(storyboard, project.settings, seconds, made))
            bed = sound.at_rate(made)
        finally:
            made.unlink(missing_ok=True)
        sound.write_wav(partial, bed)
        _record(project, storyboard, MUSIC_TASK, record, started, partial, inputs)


@_step
def make_picture(root: str, inputs: str) -> None:
    """The cut of the clips, with their own sound: what the soundtrack is laid on."""
    project = Project(Path(root))
    stitch_clips(project, project.picture_file, inputs)


@_step
def make_soundtrack(root: str, inputs: str) -> None:
    project = Project(Path(root))
    settings = project.settings
    storyboard = load_storyboard(project.storyboard_file)
    found, frames = windows(project, storyboard)
    length = frames * sound.RATE // settings.fps
    started = time.time()
    clips = _exactly(sound.decode_mp4(project.picture_file), length)
    music = sound.read_wav(project.music_file)[0] if settings.music else None
    lines = []
    for scene in spoken(project, storyboard):
        speech, _ = sound.read_wav(project.narration_file(scene.id))
        window = found[storyboard.scenes.index(scene)]
        _fitted(scene, len(speech) / sound.RATE, window)
        lines.append(mix.Line(round((window.start + LEAD) * sound.RATE), speech))
    mixed = mix.mix(clips, music, lines, sound.RATE)
    track, level, peak = mix.normalise(mixed, sound.RATE, sound.measure)
    extra = {
        "loudness_lufs": level,
        "true_peak_dbtp": peak,
        "speech_starts": [line.start / sound.RATE for line in lines],
    }
    record = Provenance("vidpipe", "numpy-mix", extra=extra)
    with fsutil.writing(project.soundtrack_file) as partial:
        sound.encode_aac(track, partial)
        _record(project, storyboard, SOUNDTRACK_TASK, record, started, partial, inputs)


def _exactly(samples, length: int):
    """`samples` cut or padded with silence to `length` samples."""
    import numpy as np

    if len(samples) >= length:
        return samples[:length]
    silence = np.zeros((length - len(samples), *samples.shape[1:]), samples.dtype)
    return np.concatenate([samples, silence])


def cues(project: Project, storyboard: Storyboard) -> list[subtitles.Cue]:
    """The subtitles: each scene's narration over its speech as made (over its window when
    nothing is spoken)."""
    found, _ = windows(project, storyboard)
    read_aloud = {scene.id for scene in spoken(project, storyboard)}
    timed: list[subtitles.Cue] = []
    for scene, window in zip(storyboard.scenes, found, strict=True):
        if not scene.narration:
            continue
        start = window.start + LEAD
        if scene.id in read_aloud:
            speech, rate = sound.read_wav(project.narration_file(scene.id))
            end = start + len(speech) / rate
        else:
            end = max(start + 0.5, window.end - TAIL)
        timed += subtitles.cues_for(scene.narration, start, end)
    return timed


@_step
def make_subtitles(root: str, inputs: str) -> None:
    project = Project(Path(root))
    storyboard = load_storyboard(project.storyboard_file)
    started = time.time()
    timed = cues(project, storyboard)
    srt_file, vtt_file = project.subtitle_files
    fsutil.write_text(vtt_file, subtitles.vtt(timed))
    record = Provenance("vidpipe", "subtitles", extra={"cues": len(timed)})
    with fsutil.writing(srt_file) as partial:
        partial.write_text(subtitles.srt(timed), encoding="utf-8")
        _record(project, storyboard, SUBTITLES_TASK, record, started, partial, inputs)


@_step
def make_mux(root: str, inputs: str) -> None:
    """final.mp4: the picture's video copied, the soundtrack, the subtitles as a soft track
    (and drawn in, with burn_subtitles=1)."""
    project = Project(Path(root))
    settings = project.settings
    srt_file = project.subtitle_files[0]
    has_cues = settings.subtitles and srt_file.read_text(encoding="utf-8").strip() != ""
    fonts = font_folders() if settings.burn_subtitles and has_cues else None
    started = time.time()
    with fsutil.writing(project.final_file) as partial:
        mux.mux(
            project.picture_file,
            project.soundtrack_file,
            srt_file if has_cues else None,
            partial,
            settings.fps,
            fonts=fonts,
        )
        extra = {"subtitles": bool(has_cues), "burnt_in": fonts is not None}
        record = Provenance("vidpipe", "ffmpeg", extra=extra)
        storyboard = load_storyboard(project.storyboard_file)
        _record(project, storyboard, FINAL_TASK, record, started, partial, inputs)


def font_folders() -> list[Path]:
    """The folders of the fonts subtitles are drawn with (every script a storyboard may hold)."""
    import importlib.util

    folders = []
    for name in FONT_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise StepFailed(
                f"burn_subtitles=1 needs the subtitle fonts ({name} is not installed): "
                "pip install 'vidpipe[fonts]', then resume (or set burn_subtitles=0)"
            )
        folders.append(Path(next(iter(spec.submodule_search_locations))))
    return folders
