"""What a project's folder says about it: status, per-scene state, runs, costs.

Everything here is computed from the project folder (the truth), with the same input
fingerprints the task graph uses, so it can never disagree with what a resume would do.
"""

from __future__ import annotations

from typing import Any

from vidpipe import fsutil
from vidpipe.errors import VidpipeError
from vidpipe.inputs import Artifact, artifacts, storyboard_inputs, storyboard_is_current
from vidpipe.project import costs
from vidpipe.project.folder import Project, is_building
from vidpipe.project.provenance import (
    being_replaced,
    placed_by_hand,
    read_provenance,
    why_outdated,
)
from vidpipe.project.stages import scene_task
from vidpipe.project.status import ACTIVE_STATES, read_status, status_file
from vidpipe.project.storyboard import Storyboard, load_storyboard

RUNS_KEPT_IN_INDEX = 10


def live_status(project: Project) -> dict[str, Any]:
    """status.json, corrected for a build that died: active but nobody holds the lock. A
    project with no status.json yet is pending (created, or queued), not interrupted; a
    build writes "pending" as it starts, so a recorded pending build with no lock died."""
    status = read_status(project)
    started = status["state"] != "pending" or status_file(project).exists()
    if status["state"] in ACTIVE_STATES and started and not is_building(project):
        status = {**status, "state": "interrupted"}
    return status


def read_runs(project: Project) -> list[dict[str, Any]]:
    """The project's run log (a line cut short by a kill, or of another shape, is skipped)."""
    return [run for run in fsutil.read_json_lines(project.state_dir / "runs.jsonl") if _is_run(run)]


def _is_run(run: Any) -> bool:
    return (
        isinstance(run, dict)
        and isinstance(run.get("outcome"), str)
        and isinstance(run.get("steps"), list)
        and all(
            isinstance(step, dict)
            and isinstance(step.get("task"), str)
            and isinstance(step.get("outcome"), str)
            for step in run["steps"]
        )
        and fsutil.is_number(run.get("cost_usd", 0.0))
        and (run.get("estimated_usd") is None or fsutil.is_number(run["estimated_usd"]))
    )


def _artifact_state(project: Project, artifact: Artifact, failed: str | None) -> dict[str, Any]:
    """done / missing / outdated (its inputs changed since it was made) / failed."""
    if failed is not None:
        return {"state": "failed", "reason": failed}
    if not artifact.target.exists():
        return {"state": "missing"}
    if being_replaced(project, artifact.target):
        return {"state": "outdated", "reason": "a build was stopped while it made it again"}
    record = read_provenance(project, artifact.target) or {}
    reason = why_outdated(project, record, artifact.config, artifact.files)
    if reason is not None:
        return {"state": "outdated", "reason": reason}
    cost = record.get("cost_usd", 0.0)
    return {"state": "done", "cost_usd": cost if fsutil.is_number(cost) else 0.0}


def scene_states(
    project: Project, storyboard: Storyboard, failures: dict[str, str]
) -> list[dict[str, Any]]:
    made = {artifact.task: artifact for artifact in artifacts(project, storyboard)}
    cut = _cut_notes(project)
    scenes = []
    for scene in storyboard.scenes:
        record: dict[str, Any] = {"id": scene.id, "title": scene.title, "duration": scene.duration}
        for stage in ("keyframe", "clip"):
            task = scene_task(scene.id, stage)
            record[stage] = _artifact_state(project, made[task], failures.get(task))
        note = _clip_note(project, made[scene_task(scene.id, "clip")].target, scene.id, cut)
        if note and record["clip"]["state"] == "done":
            record["clip"]["note"] = note
        scenes.append(record)
    return scenes


def _cut_notes(project: Project) -> dict[str, Any]:
    """scene id -> what the last cut did to its clip placed by hand (trimmed it), for the
    clips that are still the files it cut (one replaced or removed since has no note)."""
    for made in (project.picture_file, project.final_file):  # the cut with sound, or without
        record = read_provenance(project, made) or {}
        notes, files = record.get("clip_notes"), record.get("files")
        if made.exists() and isinstance(notes, dict) and isinstance(files, dict):
            return {scene: note for scene, note in notes.items() if _is_cut(project, scene, files)}
    return {}


def _is_cut(project: Project, scene_id: object, files: dict[str, Any]) -> bool:
    """Whether the scene's clip is the file a cut was made from (`files`: its record's)."""
    if not isinstance(scene_id, str):
        return False
    clip = project.clip_file(scene_id)
    name = str(clip.relative_to(project.root))
    return clip.exists() and files.get(name) == clip.stat().st_mtime_ns


def _clip_note(project: Project, clip: Any, scene_id: str, cut: dict[str, Any]) -> str | None:
    """What the status says of a clip beside its state: placed by hand (and what the cut
    did to it), or the user's clip its step kept aside."""
    if placed_by_hand(project, clip):
        said = cut.get(scene_id)
        return f"placed by hand; {said}" if isinstance(said, str) else "placed by hand"
    note = (read_provenance(project, clip) or {}).get("note")
    return note if isinstance(note, str) else None


def is_up_to_date(project: Project) -> bool:
    """True when a build would have nothing to do: no build runs or left temporary files, the
    storyboard is current, and every
    artifact was made from exactly the inputs it has now (its provenance: the fingerprint and
    the files it was made from). Answers from the folder, without the build or doit."""
    if is_building(project) or not storyboard_is_current(project, storyboard_inputs(project)):
        return False
    if any(project.root.rglob(f"*{fsutil.PARTIAL_MARK}-*")):
        return False  # a killed build's temporary files: the build removes them
    try:
        storyboard = load_storyboard(project.storyboard_file)
    except VidpipeError:
        return False
    return all(
        _artifact_state(project, artifact, None)["state"] == "done"
        for artifact in artifacts(project, storyboard)
    )


def summarize(project: Project) -> dict[str, Any]:
    """The index record of a project (JSON-ready)."""
    settings = project.settings
    status = live_status(project)
    runs = read_runs(project)
    last_failures = {
        step["task"]: step.get("error", "")
        for step in (runs[-1]["steps"] if runs and runs[-1]["outcome"] != "complete" else [])
        if step["outcome"] == "failed"
    }
    storyboard_error = None
    scenes: list[dict[str, Any]] = []
    title = settings.prompt[:80]
    if project.storyboard_file.exists():
        try:
            storyboard = load_storyboard(project.storyboard_file)
            title = storyboard.title
            scenes = scene_states(project, storyboard, last_failures)
        except VidpipeError as err:
            storyboard_error = str(err)
    return {
        "id": project.id,
        "title": title,
        "prompt": settings.prompt,
        "settings": settings.model_dump(),
        "state": status["state"],
        "step": status.get("step"),
        "error": status.get("error") or storyboard_error,
        "scenes_total": len(scenes),
        "scenes_done": sum(scene["clip"]["state"] == "done" for scene in scenes),
        "scenes": scenes,
        "final": str(project.final_file) if project.final_file.exists() else None,
        "created": project.created(),
        "updated": status.get("updated") or project.created(),
        "runs": runs[-RUNS_KEPT_IN_INDEX:],
        "cost_spent_usd": round(costs.spent(project.root), 4),
        "cost_estimated_usd": runs[-1].get("estimated_usd") if runs else None,
    }
