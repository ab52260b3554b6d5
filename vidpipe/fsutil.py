"""Crash-safe file writes: an artifact is either complete or absent, never half-written."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

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
    """Yield a temporary path to write; on success it replaces `target`, on error it is removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(target)
    try:
        yield partial
        commit(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def write_text(target: Path, text: str) -> None:
    with writing(target) as partial:
        partial.write_text(text, encoding="utf-8")


def remove_partials(folder: Path) -> None:
    """Delete temporary files left by a killed build (call with the project lock held)."""
    for stale in folder.rglob(f"*{PARTIAL_MARK}-*"):
        stale.unlink(missing_ok=True)
