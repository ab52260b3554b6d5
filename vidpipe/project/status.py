"""A project's build status, kept in `.vidpipe/status.json` (written by the build only)."""

from __future__ import annotations

import json
import time
from typing import Any

from vidpipe import fsutil
from vidpipe.project.folder import Project

ACTIVE_STATES = ("pending", "storyboard", "keyframes", "video_gen", "stitching")
# stopped: a build asked to stop after a stage (until=) did, for review
STATES = (*ACTIVE_STATES, "stopped", "complete", "failed", "interrupted")
# what a listing says of a project whose files cannot be read (never written to status.json)
UNREADABLE = "unreadable"
LISTED_STATES = (*STATES, UNREADABLE)


def status_file(project: Project):
    return project.state_dir / "status.json"


def read_status(project: Project) -> dict[str, Any]:
    """status.json; a missing or damaged one reads as pending (nothing known yet)."""
    status = fsutil.read_json_object(status_file(project))
    if status is None or status.get("state") not in STATES:
        return {"state": "pending"}
    if not isinstance(status.get("updated"), int | float) or isinstance(status["updated"], bool):
        status.pop("updated", None)
    for name in ("step", "error"):
        if not isinstance(status.get(name), str | None):
            status.pop(name)
    return status


def write_status(project: Project, state: str, **fields: Any) -> None:
    assert state in STATES, state
    data = {"state": state, "updated": time.time(), **fields}
    fsutil.write_text(status_file(project), json.dumps(data) + "\n")
