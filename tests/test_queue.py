"""Builds on Celery workers over a real Redis: a server (`vidpipe serve queue=...`) and workers
(`vidpipe worker queue=...`) as separate processes, each in its own working folder, sharing
one projects folder, as separate machines would."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from api_client import Client, start_server, stop
from conftest import doit_env, probe, recorded_tasks, wait_until

from vidpipe.api.celery_jobs import lock_key
from vidpipe.project.folder import Project, create_project
from vidpipe.project.jobrecord import read_job
from vidpipe.project.settings import ProjectSettings
from vidpipe.project.stages import scene_task
from vidpipe.providers.slots import ACQUIRE, slots_key

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("redis-server") is None,
        reason="needs redis-server (apt-get install redis-server; CI installs it)",
    ),
]

TINY = {"scenes": 1, "clip_duration": 1, "resolution": "360p"}
LONG = {"scenes": 6, "clip_duration": 2, "resolution": "360p"}


def free_port() -> int:
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return int(probe_socket.getsockname()[1])


@pytest.fixture
def queue(tmp_path: Path) -> Iterator[str]:
    """A real Redis on a free loopback port, its URL."""
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    store = redis.Redis(port=port)

    def answers() -> bool:
        with contextlib.suppress(redis.ConnectionError):
            return bool(store.ping())
        return False

    try:
        wait_until(answers, 30, what="redis-server to answer")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(server)


class Workers:
    """`vidpipe worker` processes, each with its own working folder (its "machine")."""

    def __init__(self, url: str, projects: Path, machines: Path) -> None:
        self.url, self.projects, self.machines = url, projects, machines
        self.processes: list[subprocess.Popen] = []

    def start(self, **env: str) -> subprocess.Popen:
        folder = self.machines / f"machine-{len(self.processes)}"
        folder.mkdir(parents=True)
        process = subprocess.Popen(
            [sys.executable, "-m", "vidpipe", "worker", f"queue={self.url}"],
            cwd=folder, env=doit_env(VIDPIPE_PROJECTS=str(self.projects), **env),
            stdout=(folder / "worker.log").open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=60)


@pytest.fixture
def workers(queue: str, projects: Path, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(queue, projects, tmp_path / "machines")
    try:
        yield pool
    finally:
        pool.stop_all()


@pytest.fixture
def server(queue: str, projects: Path) -> Iterator[tuple[subprocess.Popen, Client]]:
    process, client = start_server(projects, f"queue={queue}")
    try:
        yield process, client
    finally:
        stop(process)


def settled(client: Client, project_id: str) -> dict | None:
    status = client.get(f"/api/projects/{project_id}/status").json
    return status if status["job"] in ("finished", "cancelled") else None


def wait_settled(client: Client, project_id: str, timeout: float = 240) -> dict:
    return wait_until(lambda: settled(client, project_id), timeout, what=f"{project_id} to end")


def generate(client: Client, prompt: str, size: dict) -> str:
    answer = client.post("/api/generate", {"prompt": prompt, **size})
    assert answer.status == 202, answer.body
    return str(answer.json["id"])


def finished_clips(projects: Path, project_id: str) -> dict[Path, int]:
    folder = projects / project_id
    done = recorded_tasks(folder)
    return {
        clip: clip.stat().st_mtime_ns
        for clip in folder.glob("clips/s[0-9].mp4")
        if scene_task(clip.stem, "clip") in done
    }


def worker_of(projects: Path, project_id: str) -> int | None:
    record = read_job(Project(projects / project_id)) or {}
    worker = record.get("worker") if record.get("state") == "running" else None
    return int(worker.rpartition(":")[2]) if worker else None


def test_twelve_projects_at_once_complete_on_two_workers(server, workers, projects):
    _, client = server
    for _ in range(2):
        workers.start()
    ids = [generate(client, f"A quick sketch {n}", TINY) for n in range(12)]
    for project_id in ids:
        status = wait_settled(client, project_id)
        assert (status["state"], status["job"]) == ("complete", "finished"), status
        assert probe(projects / project_id / "final.mp4").frames == 24
    builders = {read_job(Project(projects / i))["worker"] for i in ids}
    assert len(builders) == 2, builders  # both machines took builds
    events = client.get(f"/api/projects/{ids[-1]}/events?after=-1&wait=0").json["events"]
    assert [e["event"] for e in events][0] == "project" and events[-1]["event"] == "exit"
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)


def test_a_worker_killed_mid_build_leaves_it_to_another(server, workers, projects):
    _, client = server
    first, second = workers.start(), workers.start()
    project_id = generate(client, "A night train", LONG)
    wait_until(lambda: worker_of(projects, project_id), 60, what="a worker to take it")
    wait_until(lambda: finished_clips(projects, project_id), 120, what="a first clip")
    victim = first if worker_of(projects, project_id) == first.pid else second
    finished = finished_clips(projects, project_id)
    os.kill(victim.pid, signal.SIGKILL)  # the machine is gone
    status = wait_settled(client, project_id)
    assert (status["state"], status["job"]) == ("complete", "finished"), status
    survivor = second if victim is first else first
    record = read_job(Project(projects / project_id))
    assert record["worker"].endswith(f":{survivor.pid}") and record["attempt"] >= 1
    for clip, mtime in finished.items():
        assert clip.stat().st_mtime_ns == mtime, f"{clip} was made again"
    assert probe(projects / project_id / "final.mp4").frames == 6 * 2 * 24


def test_builds_go_on_through_a_server_killed_and_started_again(queue, workers, projects):
    workers.start()
    server, client = start_server(projects, f"queue={queue}")
    try:
        ids = [generate(client, f"Through the night {n}", TINY) for n in range(3)]
        wait_until(lambda: any(worker_of(projects, i) for i in ids), 60, what="a build to start")
    finally:
        stop(server, signal.SIGKILL)
    server, client = start_server(projects, f"queue={queue}")
    try:
        for project_id in ids:
            status = wait_settled(client, project_id)
            assert (status["state"], status["job"]) == ("complete", "finished"), status
        # the events of a build that ran while the server was down reach the new server
        events = client.get(f"/api/projects/{ids[0]}/events?after=-1&wait=0").json["events"]
        assert [e["event"] for e in events][0] == "project" and events[-1]["event"] == "exit"
    finally:
        stop(server)


def test_cancel_reaches_a_build_on_a_remote_worker(server, workers, projects):
    _, client = server
    workers.start()
    project_id = generate(client, "A slow river", LONG)
    wait_until(lambda: finished_clips(projects, project_id), 120, what="a first clip")
    assert client.post(f"/api/projects/{project_id}/cancel").status == 202
    status = wait_settled(client, project_id, 60)
    assert (status["state"], status["job"]) == ("interrupted", "cancelled"), status
    queued = generate(client, "Never started", TINY)  # a second project: the worker is free
    assert wait_settled(client, queued)["state"] == "complete"
    assert read_job(Project(projects / project_id))["state"] == "cancelled"


def test_a_project_locked_by_another_worker_waits_for_its_lock(queue, server, workers, projects):
    _, client = server
    store = redis.Redis.from_url(queue)
    workers.start()
    project = create_project(ProjectSettings(prompt="Held", **TINY), projects)
    store.set(lock_key(project.id), "another machine's token", px=600_000)
    assert client.post(f"/api/projects/{project.id}/resume").status == 202

    def waiting() -> bool:
        events = client.get(f"/api/projects/{project.id}/events?after=-1&wait=1").json["events"]
        return any(event["event"] == "waiting" for event in events)

    wait_until(waiting, 60, what="the worker to find the lock held")
    assert read_job(project)["state"] == "queued"
    assert not (project.state_dir / "runs.jsonl").exists()  # no build ran
    store.delete(lock_key(project.id))  # the other machine lets go
    assert wait_settled(client, project.id)["state"] == "complete"
    assert json.loads((project.state_dir / "runs.jsonl").read_text().splitlines()[-1])[
        "outcome"] == "complete"  # fmt: skip


def paid(**google: object) -> dict:
    """A short Google project with the go-ahead, `google` among its Google options."""
    return {
        "scenes": 2, "clip_duration": 1, "resolution": "360p", "narration": False,
        "providers": {"storyboard": "google", "keyframe": "google", "clip": "google"},
        "provider_options": {"google": {"poll_interval": 0.05, **google}},
        "yes": True, "budget": 50,
    }  # fmt: skip


def at_its_clips(client: Client, project_id: str) -> bool:
    events = client.get(f"/api/projects/{project_id}/events?after=-1&wait=0").json["events"]
    return any(e["event"] == "start" and e.get("step", "").endswith(": clip") for e in events)


def test_the_veo_limit_holds_across_workers(queue, workers, projects, fake, vertex):
    process, client = start_server(projects, f"queue={queue}", **vertex)
    try:
        the_veo_limit_holds(queue, client, workers, projects, fake, vertex)
    finally:
        stop(process)


def the_veo_limit_holds(queue, client, workers, projects, fake, vertex) -> None:
    for _ in range(2):
        workers.start(**vertex)
    fake.release.clear()  # Veo jobs run until the test lets them end
    ids = [generate(client, f"A paid journey {n}", paid(clip_concurrency=1)) for n in range(2)]
    for project_id in ids:  # each build on its own worker, each at a clip
        wait_until(lambda p=project_id: at_its_clips(client, p), 120,
                   what=f"{project_id} to reach its clips")  # fmt: skip
    assert len({worker_of(projects, i) for i in ids}) == 2  # on two workers
    store = redis.Redis.from_url(queue)
    wait_until(lambda: len(fake.jobs()) == 1, 30, what="a first Veo job")
    time.sleep(3)  # the other build waits for the slot: it submits nothing
    assert (len(fake.jobs()), fake.running()) == (1, 1)
    assert store.zcard(slots_key("clip")) == 1  # the slot, held in Redis

    fake.release.set()
    for project_id in ids:
        status = wait_settled(client, project_id)
        assert (status["state"], status["job"]) == ("complete", "finished"), status
    assert fake.max_running == 1  # clip_concurrency=1 across both workers
    assert len(fake.jobs()) == 4  # every clip paid once
    assert store.zcard(slots_key("clip")) == 0  # every slot given back


def test_a_slot_is_renewed_while_held_and_freed_when_its_holder_is_killed(queue):
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom vidpipe.providers.slots import deployment_slot\n"
         "with deployment_slot(sys.argv[1], 'clip', 1, lease_ms=1500):\n"
         "    print('held', flush=True)\n    time.sleep(600)\n", queue],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    store = redis.Redis.from_url(queue)

    def take() -> bool:
        return bool(store.eval(ACQUIRE, 1, slots_key("clip"), 1, "another build", 60_000))

    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        time.sleep(3)  # two leases: it is still held, renewed
        assert not take()
    finally:
        holder.kill()  # its machine is gone, the slot with it
        holder.wait()
    wait_until(take, 10, what="the killed build's slot to expire")


def test_a_worker_killed_during_a_veo_job_leaves_it_to_be_collected_not_paid_again(
    queue, workers, projects, fake, vertex
):
    process, client = start_server(projects, f"queue={queue}", **vertex)
    try:
        first, second = workers.start(**vertex), workers.start(**vertex)
        fake.release.clear()  # the Veo jobs run until the test lets them end
        project_id = generate(client, "A paid night train", paid())
        saved = projects / project_id / ".vidpipe" / "pending" / "clips"
        wait_until(lambda: len(list(saved.glob("s[0-9].mp4.json"))) == 2, 120,
                   what="both Veo jobs started and saved")  # fmt: skip
        victim = first if worker_of(projects, project_id) == first.pid else second
        os.kill(victim.pid, signal.SIGKILL)  # its machine is gone, its Veo jobs run on
        fake.release.set()
        status = wait_settled(client, project_id)
        assert (status["state"], status["job"]) == ("complete", "finished"), status
        survivor = second if victim is first else first
        assert read_job(Project(projects / project_id))["worker"].endswith(f":{survivor.pid}")
        assert len(fake.jobs()) == 2  # collected by the other worker, not submitted again
        for scene_id in ("s1", "s2"):
            made = (
                projects / project_id / ".vidpipe" / "provenance" / "clips" / f"{scene_id}.mp4.json"
            )
            assert json.loads(made.read_text())["extra"]["collected_after_restart"] is True
    finally:
        stop(process)
