"""Crash-safe file writes: an artifact is either complete or absent, never half-written."""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vidpipe.errors import DiskFull, is_disk_full

PARTIAL_MARK = ".partial"


def partial_path(target: Path) -> Path:
    """A unique temporary name to write a target under (`s1.partial-1f2e3d.mp4`: ffmpeg still
    sees .mp4, and concurrent writers of one target never share a file)."""
    return target.with_name(f"{target.stem}{PARTIAL_MARK}-{secrets.token_hex(3)}{target.suffix}")


def commit(partial: Path, target: Path) -> None:
    """Move a finished temporary file into place atomically and durably."""
    with open(partial, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, target)
    fsync_dir(target.parent)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def writing(target: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces `target`, on error it is removed
    (a full disk is raised as DiskFull, naming the target)."""
    partial = partial_path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        yield partial
        commit(partial, target)
    except OSError as err:
        if is_disk_full(err):
            raise DiskFull(f"writing {target}", target.parent) from None
        raise
    finally:
        partial.unlink(missing_ok=True)


def write_text(target: Path, text: str) -> None:
    with writing(target) as partial:
        partial.write_text(text, encoding="utf-8")


def read_json_object(path: Path) -> dict[str, Any] | None:
    """The JSON object in `path`; None when it is missing, unreadable or not a JSON object
    (state files are the pipeline's own: a damaged one counts as absent, never as a crash)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a log, one a line; missing means none, and a line cut short by a
    kill, or of another shape than an object, is skipped (the other lines are still good)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    entries = []
    for line in lines:
        try:
            entry = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


def is_number(value: object) -> bool:
    """Whether a value read from a JSON file is a finite number (not a bool, not NaN)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def work_folder(out: Path) -> tempfile.TemporaryDirectory[str]:
    """A temporary folder beside `out` (a partial file's path): a killed step leaves it where
    the next build's clean-up (remove_partials) finds it, never in TMPDIR for ever."""
    return tempfile.TemporaryDirectory(prefix=f"{out.stem}-work-", dir=out.parent)


def remove_partials(folder: Path) -> None:
    """Delete temporary files and work folders left by a killed build (call with the project
    lock held)."""
    for stale in sorted(folder.rglob(f"*{PARTIAL_MARK}-*"), reverse=True):  # inner ones first
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


def is_locked(path: Path) -> bool:
    """True while some process holds an exclusive `flock` on the file at `path`."""
    try:
        with open(path) as handle:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except FileNotFoundError:
        return False
    except BlockingIOError:
        return True
    return False
