"""What a project's folder says about it: status, per-scene state, runs, costs.

Everything here is computed from the project folder (the truth), with the same input
fingerprints the task graph uses, so it can never disagree with what a resume would do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vidpipe.errors import VidpipeError
from vidpipe.inputs import clip_config, keyframe_config
from vidpipe.project import costs
from vidpipe.project.folder import Project, is_building
from vidpipe.project.provenance import read_provenance, sha256_text
from vidpipe.project.stages import scene_task
from vidpipe.project.status import ACTIVE_STATES, read_status
from vidpipe.project.storyboard import Storyboard, load_storyboard

RUNS_KEPT_IN_INDEX = 10


def live_status(project: Project) -> dict[str, Any]:
    """status.json, corrected for a build that died: active but nobody holds the lock."""
    status = read_status(project)
    active = status["state"] in ACTIVE_STATES and status["state"] != "pending"
    if active and not is_building(project):
        status = {**status, "state": "interrupted"}
    return status


def read_runs(project: Project) -> list[dict[str, Any]]:
    try:
        lines = (project.state_dir / "runs.jsonl").read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    runs = []
    for line in lines:
        try:
            runs.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut short by a kill; the other runs are still good
    return runs


def _artifact_state(
    project: Project, artifact: Path, inputs: str, failed: str | None
) -> dict[str, Any]:
    """done / missing / outdated (its inputs changed since it was made) / failed."""
    if failed is not None:
        return {"state": "failed", "reason": failed}
    if not artifact.exists():
        return {"state": "missing"}
    record = read_provenance(project, artifact) or {}
    if record.get("inputs") != sha256_text(inputs):
        return {"state": "outdated", "reason": "the scene changed since it was made"}
    for name, mtime in (record.get("files") or {}).items():
        path = project.root / name
        if not path.exists() or path.stat().st_mtime_ns != mtime:
            return {"state": "outdated", "reason": f"{name} changed since it was made"}
    return {"state": "done", "cost_usd": record.get("cost_usd", 0.0)}


def scene_states(
    project: Project, storyboard: Storyboard, failures: dict[str, str]
) -> list[dict[str, Any]]:
    settings = project.settings
    scenes = []
    for scene in storyboard.scenes:
        keyframe = project.keyframe_file(scene.id)
        clip = project.clip_file(scene.id)
        scenes.append(
            {
                "id": scene.id,
                "title": scene.title,
                "duration": scene.duration,
                "keyframe": _artifact_state(
                    project,
                    keyframe,
                    keyframe_config(settings, storyboard, scene),
                    failures.get(scene_task(scene.id, "keyframe")),
                ),
                "clip": _artifact_state(
                    project,
                    clip,
                    clip_config(settings, scene),
                    failures.get(scene_task(scene.id, "clip")),
                ),
            }
        )
    return scenes


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
