"""Resuming: nothing is paid for twice, after success, a kill -9, SIGTERM or a refused build."""

from __future__ import annotations

import os
import signal

import pytest
from conftest import (
    FAST,
    mtimes,
    only_project,
    probe,
    recorded_tasks,
    run_doit,
    start_doit,
    wait_until,
)

from vidpipe.project.folder import project_lock
from vidpipe.project.stages import scene_task
from vidpipe.project.status import read_status

pytestmark = pytest.mark.slow  # doit builds


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


def recorded_clips(projects) -> list:
    """Finished clips whose step the build has recorded in its doit DB: finished by any
    definition (a clip renamed in the very last instant before a kill may not be)."""
    return [
        path
        for path in finished_clips(projects)
        if scene_task(path.stem, "clip") in recorded_tasks(path.parent.parent)
    ]


def test_kill_9_during_clips_keeps_every_finished_clip(projects):
    build = start_doit("generate", "prompt=A long night train", "scenes=8", "clip_duration=2",
                       "resolution=360p")  # fmt: skip
    wait_until(lambda: len(recorded_clips(projects)) >= 3, what="three clips recorded as done")
    finished = {path: path.stat() for path in recorded_clips(projects)}
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
    wait_until(lambda: finished_clips(projects), what="a finished clip")
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
