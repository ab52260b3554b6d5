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


def status_file(project: Project):
    return project.state_dir / "status.json"


def read_status(project: Project) -> dict[str, Any]:
    try:
        return json.loads(status_file(project).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {"state": "pending"}


def write_status(project: Project, state: str, **fields: Any) -> None:
    assert state in STATES, state
    data = {"state": state, "updated": time.time(), **fields}
    fsutil.write_text(status_file(project), json.dumps(data) + "\n")
