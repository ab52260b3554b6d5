"""`doit watch`: rebuild a project on every saved edit, until Ctrl-C."""

from __future__ import annotations

from pathlib import Path

import watchfiles

from vidpipe.build import build_project
from vidpipe.errors import EXIT_OK, VidpipeError
from vidpipe.fsutil import PARTIAL_MARK
from vidpipe.project import Project

DEBOUNCE_MS = 400


def _keyframe_mtimes(project: Project) -> dict[Path, int]:
    return {path: path.stat().st_mtime_ns for path in (project.root / "keyframes").glob("*.png")}


def user_edits(project: Project, changes: set[tuple], built: dict[Path, int]) -> list[Path]:
    """The changed files that are the user's edits: the storyboard, the settings, or a keyframe
    that the last build did not write itself."""
    edits = []
    for _, name in changes:
        path = Path(name)
        if PARTIAL_MARK in path.name or not path.exists():
            continue
        if path in (project.storyboard_file, project.settings_file) or (
            path.parent == project.root / "keyframes"
            and path.suffix == ".png"
            and built.get(path) != path.stat().st_mtime_ns
        ):
            edits.append(path)
    return edits


def _build(project: Project) -> None:
    try:
        build_project(project)
    except VidpipeError as err:  # an invalid edit: say so and keep watching
        print(f"error: {err}", flush=True)


def watch_project(project: Project) -> int:
    _build(project)
    built = _keyframe_mtimes(project)
    print(f"watching {project.root} for edits (Ctrl-C stops)", flush=True)
    try:
        for changes in watchfiles.watch(project.root, debounce=DEBOUNCE_MS, raise_interrupt=True):
            edits = user_edits(project, changes, built)
            if not edits:
                continue
            names = ", ".join(str(path.relative_to(project.root)) for path in edits)
            print(f"changed: {names}", flush=True)
            project.__dict__.pop("settings", None)  # project.yaml may be one of them
            _build(project)
            built = _keyframe_mtimes(project)
    except KeyboardInterrupt:
        pass
    print("stopped watching", flush=True)
    return EXIT_OK
