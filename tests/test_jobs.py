"""The embedded job runner survives its server: real `vidpipe serve` processes on loopback,
stopped by kill -9 and SIGTERM with builds queued and running, then started again."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pytest
from api_client import Client, running_server, start_server, stop
from conftest import probe, recorded_tasks, wait_until

from vidpipe.api.jobs import JobManager
from vidpipe.project.folder import Project, is_building
from vidpipe.project.jobrecord import read_job
from vidpipe.project.stages import scene_task

pytestmark = pytest.mark.slow  # servers and builds

SHORT = {"scenes": 2, "clip_duration": 1, "resolution": "360p"}
LONG = {"scenes": 6, "clip_duration": 2, "resolution": "360p"}


def settled(client: Client, project_id: str) -> dict | None:
    status = client.get(f"/api/projects/{project_id}/status").json
    return status if status["job"] in ("finished", "cancelled") else None


def no_build_left(projects: Path, ids: list[str]) -> bool:
    return not any(is_building(Project(projects / project_id)) for project_id in ids)


def finished_clips(projects: Path, project_id: str) -> dict[Path, int]:
    """Clips whose step the build has recorded, with their mtimes."""
    folder = projects / project_id
    done = recorded_tasks(folder)
    return {
        clip: clip.stat().st_mtime_ns
        for clip in folder.glob("clips/s[0-9].mp4")
        if scene_task(clip.stem, "clip") in done
    }


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_queued_and_running_builds_survive_a_server_stop(projects: Path, how) -> None:
    server, client = start_server(projects)
    try:
        running = client.post("/api/generate", {"prompt": "A night train", **LONG}).json["id"]
        queued = [client.post("/api/generate", {"prompt": f"Queued {n}", **SHORT}).json["id"]
                  for n in range(2)]  # fmt: skip
        wait_until(lambda: finished_clips(projects, running), what="a first clip recorded")
        assert [client.get(f"/api/projects/{q}/status").json["job"] for q in queued] == [
            "queued", "queued"]  # fmt: skip
        finished = finished_clips(projects, running)
    finally:
        stop(server, how)
    ids = [running, *queued]
    wait_until(lambda: no_build_left(projects, ids), 30, what="the builds to stop with it")
    assert {read_job(Project(projects / i))["state"] for i in ids} <= {"queued", "running"}

    server, client = start_server(projects)  # starts again what was queued or running
    try:
        for project_id in ids:
            status = wait_until(lambda p=project_id: settled(client, p), 180, what=project_id)
            assert (status["state"], status["job"]) == ("complete", "finished"), status
        for clip, mtime in finished.items():
            assert clip.stat().st_mtime_ns == mtime, f"{clip} was made again"
        assert probe(projects / running / "final.mp4").frames == 6 * 2 * 24
    finally:
        stop(server)


def test_cancel_stops_a_build_of_a_background_server_and_it_stays_cancelled(projects: Path):
    server, client = start_server(projects, background=True)
    try:
        project_id = client.post("/api/generate", {"prompt": "A slow river", **LONG}).json["id"]
        wait_until(lambda: finished_clips(projects, project_id), what="a first clip recorded")
        assert client.post(f"/api/projects/{project_id}/cancel").status == 202
        status = wait_until(lambda: settled(client, project_id), 60, what="the cancel")
        assert (status["state"], status["job"]) == ("interrupted", "cancelled"), status
    finally:
        stop(server)
    server, client = start_server(projects, "resume_interrupted=1")
    try:
        status = client.get(f"/api/projects/{project_id}/status").json
        assert (status["state"], status["job"]) == ("interrupted", "cancelled")
        assert not is_building(Project(projects / project_id))
        assert client.post(f"/api/projects/{project_id}/resume").status == 202  # on purpose
        status = wait_until(lambda: settled(client, project_id), 180, what="the resume")
        assert (status["state"], status["job"]) == ("complete", "finished"), status
    finally:
        stop(server)


def test_a_child_that_writes_a_megabyte_to_stderr_does_not_stall_the_queue(
    projects: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chatty = tmp_path / "chatty.py"  # a test double of the child: 1 MB on stderr, then vidpipe
    chatty.write_text(
        "import runpy, sys\n"
        "sys.stderr.write('x' * 1_000_000 + '\\nlast words\\n'); sys.stderr.flush()\n"
        "sys.argv = ['vidpipe', *sys.argv[1:]]\n"
        "runpy.run_module('vidpipe', run_name='__main__')\n"
    )
    monkeypatch.setattr(JobManager, "program", [sys.executable, str(chatty)])
    with running_server(projects, max_builds=1) as (client, jobs):
        ids = [client.post("/api/generate", {"prompt": f"Chatty {n}", **SHORT}).json["id"]
               for n in range(2)]  # fmt: skip
        for project_id in ids:
            status = wait_until(lambda p=project_id: settled(client, p), 180, what=project_id)
            assert status["state"] == "complete", status
        events = client.get(f"/api/projects/{ids[0]}/events?after=-1&wait=0").json["events"]
        error = next(event for event in events if event["event"] == "error")
        assert error["text"].endswith("last words") and len(error["text"]) <= 2000


def test_a_damaged_job_record_is_ignored(projects: Path) -> None:
    project = Project(projects / "a-broken-record-000000")
    project.state_dir.mkdir(parents=True)
    (project.root / "project.yaml").write_text("prompt: A broken record\n")
    for text in ("{not json", json.dumps({"state": "queued", "words": "resume"}), "[]"):
        (project.state_dir / "job.json").write_text(text)
        assert read_job(project) is None
        jobs = JobManager(projects, max_builds=0)
        try:
            assert jobs.state(project.id) is None and jobs.counts()["queued"] == 0
        finally:
            jobs.shutdown()
    assert os.path.exists(project.state_dir / "job.json")  # left for the user to look at
