"""`doit watch`: rebuild a project on every saved edit, until Ctrl-C.

File events only wake the loop up; what decides is a comparison of the user's files (the
storyboard, the settings, the keyframes) with what the last build started from, plus what that
build wrote itself. So an edit saved while a build runs is picked up right after it, and an
event the watcher drops is caught by the next periodic check.
"""

from __future__ import annotations

from pathlib import Path

import watchfiles

from vidpipe.build.runner import build_project
from vidpipe.errors import EXIT_OK, VidpipeError
from vidpipe.fsutil import PARTIAL_MARK
from vidpipe.project.folder import Project

DEBOUNCE_MS = 400
RECHECK_MS = 1000


def user_files(project: Project) -> dict[Path, int]:
    """path -> mtime of every file a user edits by hand."""
    keyframes = [
        path for path in (project.root / "keyframes").glob("*.png") if PARTIAL_MARK not in path.name
    ]
    found = {}
    for path in [project.storyboard_file, project.settings_file, *keyframes]:
        try:
            found[path] = path.stat().st_mtime_ns
        except FileNotFoundError:
            continue
    return found


def _provenance(project: Project, files: dict[Path, int]) -> dict[Path, int]:
    records = {}
    for path in files:
        try:
            records[path] = project.provenance_file(path).stat().st_mtime_ns
        except (FileNotFoundError, ValueError):
            continue
    return records


def build_and_snapshot(project: Project) -> dict[Path, int]:
    """Build; return the user files as the build found them, plus those it wrote itself."""
    started_from = user_files(project)
    records_before = _provenance(project, started_from)
    try:
        build_project(project)
    except VidpipeError as err:  # an invalid edit: say so and keep watching
        print(f"error: {err}", flush=True)
    now = user_files(project)
    records_after = _provenance(project, now)
    written = {p: m for p, m in now.items() if records_after.get(p) != records_before.get(p)}
    return {**started_from, **written}


def watch_project(project: Project) -> int:
    seen = build_and_snapshot(project)
    print(f"watching {project.root} for edits (Ctrl-C stops)", flush=True)
    try:
        for _ in watchfiles.watch(
            project.root,
            debounce=DEBOUNCE_MS,
            rust_timeout=RECHECK_MS,
            yield_on_timeout=True,
            raise_interrupt=True,
        ):
            current = user_files(project)
            changed = sorted(
                p for p in current.keys() | seen.keys() if current.get(p) != seen.get(p)
            )
            if not changed:
                continue
            names = ", ".join(str(path.relative_to(project.root)) for path in changed)
            print(f"changed: {names}", flush=True)
            project.__dict__.pop("settings", None)  # project.yaml may be one of them
            seen = build_and_snapshot(project)
    except KeyboardInterrupt:
        pass
    print("stopped watching", flush=True)
    return EXIT_OK
