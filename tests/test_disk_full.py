"""A full disk is an ordinary failure: builds on a small file system mounted for the test
(tmpfs; as root, as CI runs) fail with one line that says so, leave nothing half-made that
counts, keep the listing working, and resume once space is freed."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import doit_env, probe, recorded_tasks

from vidpipe.errors import EXIT_BUILD_FAILED
from vidpipe.project.folder import Project, all_projects

pytestmark = pytest.mark.slow


@contextlib.contextmanager
def small_disk(tmp_path: Path, size: str) -> Iterator[Path]:
    folder = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                             capture_output=True, text=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small file system here ({mounted.stderr.strip()})")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def vidpipe(root: Path, *words: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vidpipe", *words], cwd=root.parent,
        env=doit_env(VIDPIPE_PROJECTS=str(root)), capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def grow(disk: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(disk)], check=True)


# sizes at which the offline build of WORDS runs out of space in different steps
WORDS = ["prompt=A full harbour", "scenes=3", "clip_duration=1", "resolution=360p"]


@pytest.mark.parametrize("size", ["60k", "150k", "300k", "600k"])
def test_a_full_disk_fails_the_build_in_one_line_and_a_resume_finishes_it(tmp_path, size):
    with small_disk(tmp_path, size) as disk:
        root = disk / "projects"
        result = vidpipe(root, "generate", *WORDS)
        assert result.returncode in (EXIT_BUILD_FAILED, 0), result.stderr
        if result.returncode == 0:
            pytest.skip(f"the build fit in {size}")
        assert "Traceback" not in result.stderr + result.stdout
        assert "the disk is full" in result.stderr + result.stdout
        listing = vidpipe(root, "projects")
        assert listing.returncode == 0, listing.stderr  # the listing works on a full disk
        projects = all_projects(root)
        folders = [p for p in root.iterdir() if p.is_dir()] if root.exists() else []
        assert len(folders) == len(projects) <= 1  # no folder without its project.yaml
        if not projects:
            return  # it failed before the project existed: nothing was made
        project = projects[0]
        assert not list(project.root.rglob("*.partial-*"))
        done_before = recorded_tasks(project.root)
        grow(disk, "50m")
        resumed = vidpipe(root, "resume", f"id={project.id}")
        assert resumed.returncode == 0, resumed.stderr
        assert probe(Project(project.root).final_file).frames == 3 * 24
        assert done_before <= recorded_tasks(project.root)
