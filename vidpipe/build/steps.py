"""The build steps: what each task of a project's graph does.

Module-level functions with plain arguments, so doit can run them in worker threads or
processes. Each writes its artifact under a temporary name and renames it when complete, and
records how it was made (provenance). A user-fixable problem becomes a failed task with a
one-line reason; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from doit.exceptions import TaskFailed
from pydantic import ValidationError

from vidpipe import fsutil
from vidpipe.build import placed
from vidpipe.errors import DiskFull, StepFailed, VidpipeError, is_disk_full
from vidpipe.inputs import portrait_files, reference_keyframes
from vidpipe.media import clipformat, ffmpeg, stills, stitch
from vidpipe.project import costs
from vidpipe.project.folder import Project
from vidpipe.project.provenance import (
    Provenance,
    aside_name,
    file_stamp,
    inputs_record,
    placed_by_hand,
    read_provenance,
    sha256_text,
    storyboard_edited_by_hand,
    write_provenance,
)
from vidpipe.project.settings import describe_validation_error
from vidpipe.project.stages import PORTRAIT_STAGE
from vidpipe.project.storyboard import Scene, Storyboard, load_storyboard, storyboard_json
from vidpipe.providers import provider_for
from vidpipe.providers.base import BILLED, ClipJob, KeyframeJob, PortraitJob, Provider

# the steps running in this process (doit's worker threads), for wait_for_steps
_running = 0
_changed = threading.Condition()


def _step(func):
    """Turn a VidpipeError into a failed task with its message (no traceback)."""

    def wrapper(*args: Any) -> TaskFailed | None:
        global _running
        with _changed:
            _running += 1
        try:
            func(*args)
        except VidpipeError as err:
            return TaskFailed(str(err))
        except Exception as err:
            if not is_disk_full(err):  # a bug: doit shows its traceback
                raise
            return TaskFailed(str(DiskFull(f"the {func.__name__} step", Path(args[0]))))
        finally:
            with _changed:
                _running -= 1
                _changed.notify_all()
        return None

    wrapper.__name__ = wrapper.__qualname__ = func.__name__
    wrapper.__doc__ = func.__doc__
    wrapper.__module__ = func.__module__
    return wrapper


def wait_for_steps(stop: Callable[[], None], seconds: float) -> None:
    """Wait up to `seconds` for the steps still running to end, calling `stop` (which asks
    them to stop, and ends their ffmpeg) meanwhile. doit leaves its worker threads unjoined
    when it is interrupted, or when its own loop fails while steps run (its DB on a full disk):
    the process would end them mid-step, before each removed its temporary files."""
    deadline = time.monotonic() + seconds
    with _changed:
        while _running and time.monotonic() < deadline:
            stop()
            _changed.wait(0.1)


def check_keyframes(paths: Iterable[Path]) -> None:
    """Keyframes may be the user's own files: each a usable picture of a sane size, checked
    from its header before anything decodes it (vidpipe.media.stills.check_keyframe)."""
    for path in paths:
        stills.check_keyframe(path)


def pending_file(project: Project, artifact: Path) -> Path:
    """Where a provider records paid work in progress for `artifact` (survives a kill)."""
    relative = artifact.relative_to(project.root)
    return project.state_dir / "pending" / relative.with_suffix(relative.suffix + ".json")


def keyframe_job(project: Project, storyboard: Storyboard, scene_id: str, out: Path) -> KeyframeJob:
    scene = storyboard.scene(scene_id)
    references = reference_keyframes(project, storyboard, "keyframe", scene)
    portraits = portrait_files(project, storyboard, "keyframe", scene)
    return KeyframeJob(scene, storyboard, project.settings, out, references, portraits)


def clip_job(project: Project, storyboard: Storyboard, scene_id: str, out: Path) -> ClipJob:
    scene = storyboard.scene(scene_id)
    references = reference_keyframes(project, storyboard, "clip", scene)
    keyframe = project.keyframe_file(scene_id)
    pending = pending_file(project, project.clip_file(scene_id))
    portraits = portrait_files(project, storyboard, "clip", scene)
    return ClipJob(
        scene, storyboard, project.settings, keyframe, out, references, portraits, pending
    )


def charges_of(provider: Provider, stage: str, job: KeyframeJob | ClipJob) -> list[costs.Charge]:
    """What running `job` will pay for (nothing when an earlier build paid for it already)."""
    if provider.resumes_paid_work(job):
        return []
    return provider.estimate(stage, job.scene.duration)


@_step
def make_storyboard(root: str, inputs: str) -> None:
    project = Project(Path(root))
    target = project.storyboard_file
    replaces = None
    if target.exists():
        if storyboard_edited_by_hand(project):
            raise VidpipeError(f"{target} was edited by hand; vidpipe never overwrites it")
        replaces = sha256_text(target.read_text(encoding="utf-8"))
    started = time.time()
    provider = provider_for("storyboard", project.settings, project.id)
    charges = provider.estimate("storyboard", project.settings.clip_duration)
    with costs.reserving(project.root, charges, "the storyboard") as spend:
        spend.paying()  # one call, made at once
        try:
            storyboard, record = provider.write_storyboard()
        except ValidationError as err:  # a provider's (a plugin's) scenes out of bounds
            raise StepFailed(
                f"the {provider.name} provider wrote an invalid storyboard: "
                f"{describe_validation_error(err)}"
            ) from None
        if BILLED in record.extra:  # priced by its answer (tokens): settled at what it cost
            spend.settle(record.cost_usd, record.extra[BILLED])
    text = storyboard_json(storyboard)
    # the record first: a kill before the rename leaves the text it replaces, known as ours
    more = {"sha256": sha256_text(text), "replaces": replaces, "inputs": inputs}
    write_provenance(project, target, record, started, **more)
    fsutil.write_text(target, text)


@_step
def make_portrait(root: str, character_id: str, inputs: str) -> None:
    """A character's portrait; one placed by hand is kept as it is (delete it to have it
    drawn), and recorded as made from the current inputs."""
    project = Project(Path(root))
    storyboard = load_storyboard(project.storyboard_file)
    character = storyboard.character(character_id)
    target = project.portrait_file(character_id)
    started = time.time()
    if placed_by_hand(project, target):
        stills.check_keyframe(target)  # the same check as a placed keyframe
        record = Provenance("hand", "placed by hand", prompt=character.description)
        more = {**inputs_record(inputs), "files": {}, "stamp": file_stamp(target)}
        write_provenance(project, target, record, started, **more)
        return
    provider = provider_for("keyframe", project.settings, project.id)
    charges = provider.estimate(PORTRAIT_STAGE, 0.0)
    with fsutil.writing(target) as partial:
        job = PortraitJob(character, project.settings, partial)
        with costs.reserving(project.root, charges, f"character {character_id}: portrait") as spend:
            record = provider.draw_portrait(replace(job, paying=spend.paying))
        more = {**inputs_record(inputs), "files": {}, "stamp": file_stamp(partial)}
        write_provenance(project, target, record, started, **more)


@_step
def make_keyframe(root: str, scene_id: str, inputs: str) -> None:
    project = Project(Path(root))
    storyboard = load_storyboard(project.storyboard_file)
    target = project.keyframe_file(scene_id)
    started = time.time()
    provider = provider_for("keyframe", project.settings, project.id)
    with fsutil.writing(target) as partial:
        job = keyframe_job(project, storyboard, scene_id, partial)
        check_keyframes(job.references.values())
        charges = charges_of(provider, "keyframe", job)
        with costs.reserving(project.root, charges, f"scene {scene_id}: keyframe") as spend:
            record = provider.draw_keyframe(replace(job, paying=spend.paying))
        files = file_inputs(project, [*job.references.values(), *job.portraits.values()])
        # recorded before the rename, so that a kill after it finds the keyframe done
        more = {**inputs_record(inputs), "files": files, "stamp": file_stamp(partial)}
        write_provenance(project, target, record, started, **more)


@_step
def make_clip(root: str, scene_id: str, inputs: str) -> None:
    project = Project(Path(root))
    storyboard = load_storyboard(project.storyboard_file)
    target = project.clip_file(scene_id)
    started = time.time()
    provider = provider_for("clip", project.settings, project.id)
    # the user's own clip is kept, beside the new one, never overwritten
    kept = aside_name(target) if placed_by_hand(project, target) else None
    with fsutil.writing(target) as partial:
        job = clip_job(project, storyboard, scene_id, partial)
        check_keyframes([job.keyframe, *job.references.values()])
        label = f"scene {scene_id}: clip"
        with costs.reserving(project.root, charges_of(provider, "clip", job), label) as spend:
            record = provider.render_clip(replace(job, paying=spend.paying))
        # any provider's clip is brought to the project's encoding once, here, not per stitch
        spec = clip_spec(project, job.scene)
        record.extra["conformed"] = clipformat.conform(partial, spec, named=target)
        used = [job.keyframe, *job.references.values(), *job.portraits.values()]
        files = file_inputs(project, used)
        more = {
            **inputs_record(inputs),
            "files": files,
            "canonical": clipformat.stamp(partial, spec),  # a rename keeps size and mtime
            "stamp": file_stamp(partial),
        }
        if kept is not None:
            more["note"] = f"the clip placed by hand is kept as {kept.relative_to(project.root)}"
        # recorded before the rename, so that a kill after it finds the clip done
        write_provenance(project, target, record, started, **more)
        if kept is not None:
            os.replace(target, kept)
    if job.pending is not None:
        job.pending.unlink(missing_ok=True)  # only now: the clip and its record are in place


def file_inputs(project: Project, paths: Iterable[Path]) -> dict[str, int]:
    """The input files an artifact was made from, as they were: relative path -> mtime."""
    return {str(path.relative_to(project.root)): path.stat().st_mtime_ns for path in paths}


def clip_spec(project: Project, scene: Scene) -> clipformat.ClipSpec:
    """The canonical form of a scene's clip."""
    settings = project.settings
    frames = ffmpeg.frame_count(scene.duration, settings.fps)
    return clipformat.ClipSpec(*settings.frame_size(), settings.fps, frames, settings.fit)


def known_canonical(project: Project, clip: Path, spec: clipformat.ClipSpec) -> bool:
    """Whether the clip is as its step left it, conformed (then it need not be probed)."""
    recorded = (read_provenance(project, clip) or {}).get("canonical")
    return recorded is not None and clip.exists() and recorded == clipformat.stamp(clip, spec)


@_step
def make_final(root: str, inputs: str) -> None:
    project = Project(Path(root))
    stitch_clips(project, project.final_file, inputs)


def stitch_clips(project: Project, target: Path, inputs: str) -> None:
    """The clips cut together in the storyboard's order into `target`, with their own sound;
    `inputs`: the fingerprint of the cut (vidpipe.inputs.final_config)."""
    settings = project.settings
    storyboard = load_storyboard(project.storyboard_file)
    clips, cut, notes = [], [], {}
    for scene in storyboard.scenes:
        path, spec = project.clip_file(scene.id), clip_spec(project, scene)
        clips.append(path)
        if known_canonical(project, path, spec):
            cut.append(stitch.ClipRef(path, spec.frames, True))
        elif placed_by_hand(project, path):  # converted once, then taken from its cache
            own = placed.conformed(project, path, spec)
            cut.append(stitch.ClipRef(own.path, spec.frames, True))
            if own.note:
                notes[scene.id] = own.note
        else:  # made before clips were conformed: the stitch probes it
            cut.append(stitch.ClipRef(path, spec.frames, False))
    started = time.time()
    with fsutil.writing(target) as partial:
        size, fps = settings.frame_size(), settings.fps
        stitch.stitch(cut, partial, size, fps, settings.crossfade, settings.fit)
        record = Provenance("vidpipe", "ffmpeg", extra={"crossfade": settings.crossfade})
        files = file_inputs(project, clips)
        more: dict[str, Any] = {
            **inputs_record(inputs),
            "files": files,
            "stamp": file_stamp(partial),
        }
        if notes:  # for the status (per scene) and the build's output
            more["clip_notes"] = notes
            more["note"] = "; ".join(f"clips/{scene}.mp4: {note}" for scene, note in notes.items())
        write_provenance(project, target, record, started, **more)
