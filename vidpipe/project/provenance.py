"""Provenance: how each artifact of a project was made (provider, model, prompt, cost, time,
and the fingerprint of its inputs), kept in `.vidpipe/provenance/<artifact>.json`."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vidpipe import fsutil
from vidpipe.project.folder import Project


@dataclass
class Provenance:
    """How an artifact was made; stored next to the build state of the project."""

    provider: str
    model: str
    prompt: str = ""
    cost_usd: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_provenance(
    project: Project, artifact: Path, record: Provenance, started: float, **more: Any
) -> None:
    data = {
        **asdict(record),
        "artifact": str(artifact.relative_to(project.root)),
        "seconds": round(time.time() - started, 3),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **more,
    }
    fsutil.write_text(project.provenance_file(artifact), json.dumps(data, indent=2) + "\n")


def read_provenance(project: Project, artifact: Path) -> dict[str, Any] | None:
    return fsutil.read_json_object(project.provenance_file(artifact))


def hand_edit_note(project: Project) -> str | None:
    """What a build says when storyboard.json is a hand edit, which it keeps as it is."""
    if project.storyboard_file.exists() and storyboard_edited_by_hand(project):
        return f"note: {project.storyboard_file} was edited by hand; it is kept as it is"
    return None


def storyboard_edited_by_hand(project: Project) -> bool:
    """True when storyboard.json is not byte-for-byte what the pipeline last wrote."""
    record = read_provenance(project, project.storyboard_file)
    text = project.storyboard_file.read_text(encoding="utf-8")
    return record is None or record.get("sha256") != sha256_text(text)


def refresh_input_times(project: Project, artifact: Path) -> None:
    """Record the current modification times of the files `artifact` was made from, once the
    build has found them unchanged by content (a file rewritten with the same bytes), so that
    the next no-op check (vidpipe.read.summary.is_up_to_date) sees it as done."""
    record = read_provenance(project, artifact)
    files = (record or {}).get("files")
    if not record or not isinstance(files, dict):
        return
    paths = {name: project.root / name for name in files}
    current = {name: path.stat().st_mtime_ns for name, path in paths.items() if path.exists()}
    if current != files and set(current) == set(files):
        fsutil.write_text(
            project.provenance_file(artifact),
            json.dumps({**record, "files": current}, indent=2) + "\n",
        )
