"""Resuming: nothing is paid for twice, after success, a kill -9, SIGTERM or a refused build."""

from __future__ import annotations

import os
import signal
import time

import pytest
from conftest import FAST, mtimes, only_project, probe, run_doit, start_doit

from vidpipe.project.folder import project_lock
from vidpipe.project.status import read_status


def test_resume_after_success_runs_nothing(projects):
    assert run_doit("generate", "prompt=A fox in the snow", *FAST).returncode == 0
    project = only_project(projects)
    before = mtimes(project.root / "keyframes") | mtimes(project.root / "clips")
    final_before = project.final_file.stat().st_mtime_ns

    result = run_doit("resume", f"id={project.id}")
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    assert " ..." not in result.stdout  # no step started
    assert mtimes(project.root / "keyframes") | mtimes(project.root / "clips") == before
    assert project.final_file.stat().st_mtime_ns == final_before


def test_resume_without_id_takes_the_latest_unfinished_project(projects):
    assert run_doit("generate", "prompt=First video", *FAST).returncode == 0
    nothing = run_doit("resume")
    assert nothing.returncode == 0
    assert "nothing to resume" in nothing.stdout

    project = only_project(projects)
    project.final_file.unlink()
    (project.state_dir / "status.json").write_text('{"state": "failed", "updated": 1}')
    result = run_doit("resume")
    assert result.returncode == 0, result.stderr
    assert project.id in result.stdout
    assert project.final_file.is_file()
    assert read_status(project)["state"] == "complete"


def test_resume_of_an_unknown_project_is_a_clear_error(projects):
    for bad in ("no-such-project", "../etc", "x" * 200):
        result = run_doit("resume", f"id={bad}")
        assert result.returncode == 4
        assert result.stderr.startswith("error: ")
        assert "Traceback" not in result.stderr


def finished_clips(projects) -> list:
    return [p for p in projects.glob("*/clips/*.mp4") if ".partial-" not in p.name]


def _wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_kill_9_during_clips_keeps_every_finished_clip(projects):
    build = start_doit("generate", "prompt=A long night train", "scenes=8", "clip_duration=2",
                       "resolution=360p")  # fmt: skip
    _wait_for(lambda: len(finished_clips(projects)) >= 3)
    # Clips that finished a moment before the kill are finished by any definition (their
    # task has been recorded); a clip renamed in the very last instant may not be.
    time.sleep(0.3)
    finished = {path: path.stat() for path in finished_clips(projects)}
    finished = {p: s for p, s in finished.items() if s.st_mtime < time.time() - 0.25}
    os.killpg(build.pid, signal.SIGKILL)
    build.wait()
    project = only_project(projects)
    assert not project.final_file.exists()
    assert 0 < len(finished) < 8

    result = run_doit("resume", f"id={project.id}")
    assert result.returncode == 0, result.stderr + result.stdout
    for path, stat in finished.items():
        now = path.stat()
        assert (now.st_mtime_ns, now.st_ino) == (stat.st_mtime_ns, stat.st_ino), path
        assert f"scene {path.stem}: clip ..." not in result.stdout
    assert probe(project.final_file).frames == 8 * 2 * 24
    assert not list(project.root.rglob("*.partial-*"))


def test_sigterm_stops_the_build_and_leaves_it_resumable(projects):
    build = start_doit("generate", "prompt=A quiet harbour", "scenes=6", "clip_duration=2",
                       "resolution=360p")  # fmt: skip
    _wait_for(lambda: len(finished_clips(projects)) >= 1)
    build.send_signal(signal.SIGTERM)
    out, _ = build.communicate(timeout=60)
    assert build.returncode == 130
    assert "interrupted; continue with: vidpipe resume id=" in out
    project = only_project(projects)
    assert read_status(project)["state"] == "interrupted"

    result = run_doit("resume")  # the latest unfinished project
    assert result.returncode == 0, result.stderr
    assert probe(project.final_file).frames == 6 * 2 * 24


def test_a_second_build_of_the_same_project_is_refused(projects):
    assert run_doit("generate", "prompt=Two at once", *FAST).returncode == 0
    project = only_project(projects)
    project.final_file.unlink()
    with project_lock(project):
        result = run_doit("resume", f"id={project.id}")
    assert result.returncode == 5
    assert f"project {project.id} is being built by pid {os.getpid()}" in result.stderr
    assert not project.final_file.exists()  # the refused build did nothing
    assert run_doit("resume", f"id={project.id}").returncode == 0
    assert project.final_file.exists()


@pytest.mark.parametrize("junk", ["clips/s2.partial-abc123.mp4", "final.partial-ffffff.mp4"])
def test_temporary_files_of_a_killed_build_never_count_as_built(projects, junk):
    assert run_doit("generate", "prompt=Leftovers", *FAST).returncode == 0
    project = only_project(projects)
    (project.root / junk).write_bytes(b"half an mp4")
    assert run_doit("resume", f"id={project.id}").returncode == 0
    assert not (project.root / junk).exists()
