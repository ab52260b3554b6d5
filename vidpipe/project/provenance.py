"""Provenance: how each artifact of a project was made (provider, model, prompt, cost, time,
and the fingerprint of its inputs), kept in `.vidpipe/provenance/<artifact>.json`.

A step writes its record before it moves the artifact into place, describing the finished
temporary file by its size and modification time (a rename keeps both; the storyboard by its
content). So a record always exists for a complete artifact, whenever a build is killed: one
that matches its file and the step's inputs is done (`made_as_recorded`), whatever doit's
dependency DB missed, and a record that does not match its file tells an interrupted write from
a hand edit."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
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


# what each part of an artifact's inputs (the keys of its fingerprint, vidpipe.inputs) is, in
# words: a status names what changed
INPUT_WORDS = {
    "scene": "the scene",
    "narration": "the scene's narration",
    "texts": "the narration",
    "characters": "the characters",
    "character": "the character",
    "cast": "the scene's characters",
    "size": "the setting resolution or aspect_ratio",
    "provider": "the provider's settings",
    "order": "the scenes' order",
    "durations": "the scenes' durations",
    "title": "the title",
    "spoken": "the narrated scenes",
    "cut": "the cut",
    "version": "vidpipe's way of making it",
    "burn": "the setting burn_subtitles",
    **{
        name: f"the setting {name}"
        for name in ("style", "fps", "fit", "crossfade", "music", "subtitles")
    },
}


def inputs_record(inputs: str) -> dict[str, Any]:
    """What a record keeps of the inputs an artifact is made from (`inputs`: a fingerprint,
    JSON text): their hash, and the hash of each of their parts, so that a status can name
    the part that changed (why_outdated)."""
    return {"inputs": sha256_text(inputs), "input_parts": _input_parts(inputs)}


def _input_parts(inputs: str) -> dict[str, str]:
    try:
        data = json.loads(inputs)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        key: sha256_text(json.dumps(value, sort_keys=True, ensure_ascii=False))
        for key, value in data.items()
    }


def _what_changed(record: dict[str, Any], inputs: str) -> str:
    """The parts of an artifact's inputs that differ from its record's, in words."""
    made, now = record.get("input_parts"), _input_parts(inputs)
    if not isinstance(made, dict) or not now:
        return "the scene changed since it was made"  # a record from before parts were kept
    changed = [key for key in {**made, **now} if made.get(key) != now.get(key)]
    if not changed:  # equal parts, another whole: named as a change of the scene
        return "the scene changed since it was made"
    words = [INPUT_WORDS.get(key, f"its input {key}") for key in changed]
    said = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
    return f"{said} changed since it was made"


def write_provenance(
    project: Project, artifact: Path, record: Provenance, started: float, **more: Any
) -> None:
    """Record how `artifact` was made (`more`: its inputs, its finished file's `stamp`, ...).
    A record written before its file is renamed into place also names the stamp of the file of
    the pipeline's that it replaces, so that a kill between the two leaves that file known as
    the pipeline's own (an outdated artifact), never as one placed by hand."""
    data = {
        **asdict(record),
        "artifact": str(artifact.relative_to(project.root)),
        "seconds": round(time.time() - started, 3),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **more,
    }
    replaced = _made_here(project, artifact)
    if "stamp" in more and replaced is not None and replaced != more["stamp"]:
        data["replaces_stamp"] = replaced
    fsutil.write_text(project.provenance_file(artifact), json.dumps(data, indent=2) + "\n")


def read_provenance(project: Project, artifact: Path) -> dict[str, Any] | None:
    return fsutil.read_json_object(project.provenance_file(artifact))


def hand_edit_note(project: Project) -> str | None:
    """What a build says when storyboard.json is a hand edit, which it keeps as it is."""
    if project.storyboard_file.exists() and storyboard_edited_by_hand(project):
        return f"note: {project.storyboard_file} was edited by hand; it is kept as it is"
    return None


def file_stamp(path: Path) -> dict[str, int]:
    """What a file is known by: its size and modification time (kept by a rename)."""
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def placed_by_hand(project: Project, artifact: Path) -> bool:
    """True when `artifact` is a file the user put there (uploaded, or copied into the folder),
    not one the pipeline made and recorded (the file its record describes, or the one that
    record's file was to replace when a kill stopped the rename)."""
    return artifact.exists() and _made_here(project, artifact) is None


def being_replaced(project: Project, artifact: Path) -> bool:
    """True when the file at `artifact` is the pipeline's, which a build killed before its
    rename was making again (its record already describes the new file): outdated."""
    if not artifact.exists():
        return False
    record = read_provenance(project, artifact) or {}
    stamp = file_stamp(artifact)
    return stamp != record.get("stamp") and stamp == record.get("replaces_stamp")


def _made_here(project: Project, artifact: Path) -> dict[str, int] | None:
    """The stamp of the file at `artifact` when its record says the pipeline made it (the
    file it describes, or the one that file was to replace); None otherwise."""
    if not artifact.exists():
        return None
    record = read_provenance(project, artifact) or {}
    stamp = file_stamp(artifact)
    return stamp if stamp in (record.get("stamp"), record.get("replaces_stamp")) else None


def aside_name(path: Path) -> Path:
    """Where a file placed by hand is kept when its step makes the file again: beside it,
    `<stem>.hand-<n><suffix>` with the first n not taken."""
    n = 1
    while (kept := path.with_name(f"{path.stem}.hand-{n}{path.suffix}")).exists():
        n += 1
    return kept


def made_as_recorded(project: Project, artifact: Path, inputs: str, stamped: bool = True) -> bool:
    """True when `artifact` is the complete file its record describes, made from `inputs`
    (a fingerprint) and from input files that are as they were then. `stamped` False: a
    record from before records described their file (its file is taken as it is)."""
    record = read_provenance(project, artifact)
    if record is None or not artifact.exists():
        return False
    if stamped and record.get("stamp") != file_stamp(artifact):
        return False
    return why_outdated(project, record, inputs) is None


def why_outdated(
    project: Project, record: dict[str, Any], inputs: str, files: Iterable[Path] | None = None
) -> str | None:
    """Why the artifact of `record` is not what `inputs` (a fingerprint) and the input files
    it was made from, as they are now, would make (`files`: the ones it is made from now,
    when known); None when it is."""
    if record.get("inputs") != sha256_text(inputs):
        return _what_changed(record, inputs)
    made_from = record.get("files")
    if made_from is None and files is None:
        made_from = {}  # a record from before records listed their files: none to check
    if not isinstance(made_from, dict) or not all(fsutil.is_number(t) for t in made_from.values()):
        return "its record is damaged"
    if files is not None and set(made_from) != {str(p.relative_to(project.root)) for p in files}:
        return "it is made from other files now"
    for name, mtime in made_from.items():
        path = project.root / name
        if not path.exists():
            return f"{name} is missing; a resume makes it again, then this"
        if path.stat().st_mtime_ns != mtime:
            return f"{name} changed since it was made"
    return None


def restamp(project: Project, artifact: Path, inputs: str) -> None:
    """Bring an artifact's record up to date: made from `inputs`, as its file is now."""
    record = read_provenance(project, artifact) or {}
    record.update(**inputs_record(inputs), stamp=file_stamp(artifact))
    fsutil.write_text(project.provenance_file(artifact), json.dumps(record, indent=2) + "\n")


def storyboard_written(project: Project) -> set[str]:
    """The contents (sha256) of storyboard.json that the pipeline wrote and may still be there:
    the last one, and the one it replaced (its write may have been interrupted)."""
    record = read_provenance(project, project.storyboard_file) or {}
    return {record[key] for key in ("sha256", "replaces") if record.get(key)}


def storyboard_edited_by_hand(project: Project) -> bool:
    """True when storyboard.json is not byte-for-byte what the pipeline wrote."""
    text = project.storyboard_file.read_text(encoding="utf-8")
    return sha256_text(text) not in storyboard_written(project)


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
