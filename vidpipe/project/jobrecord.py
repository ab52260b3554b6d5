"""The record of a project's latest server build job, `.vidpipe/job.json`: what it runs and
whether it is queued, running, finished or cancelled.

It lives in the project folder, so it outlives the server (a restarted server starts again
what was queued or running, and reports the rest as they ended) and is seen by every machine
that shares the projects folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vidpipe import fsutil
from vidpipe.project.folder import Project

JOB_STATES = ("queued", "running", "finished", "cancelled")
ACTIVE_JOB_STATES = ("queued", "running")


def job_file(project: Project) -> Path:
    return project.state_dir / "job.json"


def read_job(project: Project) -> dict[str, Any] | None:
    """The project's job record; None when it has none or it is not one (a damaged record
    must not stop the server: the project is then treated as having no job)."""
    record = fsutil.read_json_object(job_file(project))
    well_formed = (
        record is not None
        and record.get("state") in JOB_STATES
        and isinstance(record.get("words"), list)
        and all(isinstance(word, str) for word in record["words"])
        and isinstance(record.get("submitted"), int | float)
    )
    return record if well_formed else None


def write_job(project: Project, record: dict[str, Any]) -> None:
    project.state_dir.mkdir(exist_ok=True)
    fsutil.write_text(job_file(project), json.dumps(record) + "\n")
