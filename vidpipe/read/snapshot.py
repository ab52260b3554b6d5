"""A make-style answer to a no-op `vidpipe resume id=<id>`, before anything heavy is loaded.

When the full check (vidpipe.read.summary.is_up_to_date: settings, storyboard, provenance,
fingerprints) finds a project up to date, the resume keeps what it printed with the stat
(modification time, size, inode) of every file that verdict rests on: the project folder's
files, vidpipe's own code and templates, the files that VIDPIPE_ variables name, and the
folders of sys.path (a package installed or removed changes their times). The next
`resume id=<id>` compares stats alone and, when none differs, prints the same answer: no
settings, pydantic or build are loaded. Any difference, a running build, another Python or
other VIDPIPE_ values mean the full check. The answers are kept in the projects folder's
`.uptodate/`, so that a no-op resume writes nothing in the project.

Stats are taken before the full check, and the answer is kept only when every time is more
than a second older than that (git's rule for racily clean files): an edit made during the
check, or after it, always changes a time that was kept.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import vidpipe
from vidpipe import fsutil, templates
from vidpipe.errors import DiskFull
from vidpipe.project.location import BUILD_LOCK, PROJECT_ID_PATTERN, STATE_FOLDER, projects_root

FOLDER = ".uptodate"  # of the projects folder (a no-op resume writes nothing in the project)
RACY_NS = 1_000_000_000


def take(root: Path) -> dict[str, Any]:
    """The stats that a verdict on the project at `root` rests on, taken now."""
    taken = time.time_ns()
    stats: dict[str, list[int]] = {}
    for folder in (root, Path(vidpipe.__file__).parent, templates.templates_dir()):
        _walk(folder, stats)
    for value in _settings().values():
        if os.path.isfile(value):
            _stat(value, stats)
    cwd = os.getcwd()
    for entry in sys.path:
        if entry and entry != cwd and os.path.isdir(entry):
            _stat(entry, stats)
    return {"key": _key(), "taken": taken, "stats": stats}


def save(root: Path, before: dict[str, Any], answer: str) -> None:
    """Keep `answer` for the stats `before` (taken before the check that gave it), unless some
    file was changed too shortly before them to be told apart from a later edit."""
    newest = max((stat[0] for stat in before["stats"].values()), default=0)
    if newest > before["taken"] - RACY_NS:
        return
    with contextlib.suppress(OSError, DiskFull):  # kept only to answer sooner next time
        fsutil.write_text(_kept_file(root), json.dumps({**before, "answer": answer}))


def answer(project_id: str) -> str | None:
    """What the last full check of the project printed, if nothing it rests on has changed
    since; None: run the full check."""
    if not PROJECT_ID_PATTERN.match(project_id):
        return None
    root = projects_root() / project_id
    kept = fsutil.read_json_object(_kept_file(root))
    if kept is None or kept.get("key") != _key():
        return None
    if fsutil.is_locked(root / STATE_FOLDER / BUILD_LOCK):
        return None  # a build has started
    now = take(root)
    if now["stats"] != kept.get("stats"):
        return None
    text = kept.get("answer")
    return text if isinstance(text, str) else None


def _kept_file(root: Path) -> Path:
    return root.parent / FOLDER / f"{root.name}.json"


def _key() -> dict[str, Any]:
    return {"python": sys.executable, "vidpipe": vidpipe.__version__, "env": _settings()}


def _settings() -> dict[str, str]:
    return {name: value for name, value in sorted(os.environ.items()) if name[:8] == "VIDPIPE_"}


def _walk(folder: Path, stats: dict[str, list[int]]) -> None:
    for parent, folders, files in os.walk(folder):
        folders[:] = [name for name in folders if name != "__pycache__"]
        for name in files:
            _stat(os.path.join(parent, name), stats)


def _stat(path: str, stats: dict[str, list[int]]) -> None:
    try:
        stat = os.stat(path)
    except OSError:
        return  # gone while walking: the stats differ from any kept ones anyway
    stats[path] = [stat.st_mtime_ns, stat.st_size, stat.st_ino]
