"""Builds on a Celery queue with Redis as broker and result store: `vidpipe serve queue=URL`
submits them (`CeleryJobs`, the same job interface as the embedded runner) and `vidpipe worker
queue=URL`, on any number of machines that share the projects folder, runs them.

- The job record in the shared project folder (vidpipe.project.jobrecord) is the truth about a
  job. A delivery of a job that is finished, cancelled or superseded does nothing, so a
  message delivered twice never builds twice.
- One worker builds a project at a time, across machines: a Redis lease lock (`SET NX PX`),
  renewed while the build runs and released only by its holder; a dead worker's lock expires.
- A worker that dies mid-build (kill -9, its machine gone) leaves a running job whose lease
  has expired: the server's supervisor queues it again and another worker resumes it, with
  the build's own guarantees (nothing finished is made again, paid work in progress is
  collected, not submitted again).
- Progress events go to a Redis list per project, numbered by a Redis counter, so they reach
  the server in order from any machine, and a restarted server reads on where it was.
- Cancel: a queued job is revoked and recorded cancelled; for a running one a flag is set in
  Redis, and its worker stops the build with SIGTERM (recorded interrupted, resumable).
- Paid calls at once (`google.clip_concurrency`, ...) are counted in the same Redis, across
  all workers (vidpipe.providers.slots).
"""

from __future__ import annotations

import collections
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import redis
from celery import Celery

from vidpipe.api.jobs import EVENTS_KEPT, STDERR_KEPT, JobBusy, keep_tail, progress_events
from vidpipe.errors import BadInput
from vidpipe.process import DIE_WITH_PARENT_ENV
from vidpipe.project.folder import Project, all_projects
from vidpipe.project.jobrecord import ACTIVE_JOB_STATES, read_job, write_job
from vidpipe.providers.slots import QUEUE_ENV

TASK = "vidpipe.build"
QUEUE = "vidpipe-builds"
LEASE_MS = 15_000  # a dead worker's project is free again after this
RENEW_SECONDS = 5.0
WATCH_SECONDS = 0.5  # how often a worker looks for a cancel flag
SUPERVISE_SECONDS = 2.0  # how often the server looks for jobs whose worker died
LOCK_RETRY_SECONDS = 1.0

# Redis scripts: renew or release the lock only while this token holds it
RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"  # noqa: E501
RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"  # noqa: E501
)


def lock_key(project_id: str) -> str:
    return f"vidpipe:lock:{project_id}"


def events_key(project_id: str) -> str:
    return f"vidpipe:events:{project_id}"


def cancel_key(job_id: str) -> str:
    return f"vidpipe:cancel:{job_id}"


def connect(url: str) -> redis.Redis:
    """A Redis client for `url`, checked: a bad or unreachable URL is one clear error."""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise BadInput(f"queue={url} is not a Redis URL; use e.g. queue=redis://127.0.0.1:6379/0")
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=5)
        client.ping()
    except (redis.RedisError, ValueError) as err:
        raise BadInput(
            f"cannot reach the queue at {url} ({err}); is redis-server running?"
        ) from None
    return client


def add_event(store: redis.Redis, project_id: str, event: dict[str, Any]) -> None:
    """Append a progress event of the project, numbered in order across machines."""
    event["seq"] = store.incr(f"vidpipe:seq:{project_id}")
    key = events_key(project_id)
    store.rpush(key, json.dumps(event))
    store.ltrim(key, -EVENTS_KEPT, -1)


def celery_app(url: str, projects_root: Path) -> Celery:
    """The Celery app of the queue at `url`; its task builds projects of `projects_root`."""
    app = Celery("vidpipe", broker=url, backend=url)
    app.conf.update(
        task_acks_late=True,  # acknowledged after the build: a lost worker's job comes back
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # long tasks: take one at a time
        task_default_queue=QUEUE,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )

    @app.task(name=TASK, bind=True, max_retries=None)
    def build(task: Any, project_id: str, job_id: str) -> None:
        store = redis.Redis.from_url(url)
        if not Worker(store, projects_root, url).run(project_id, job_id):
            raise task.retry(countdown=LOCK_RETRY_SECONDS)

    return app


class Worker:
    """Runs one delivered job on this machine, under the project's Redis lease lock."""

    def __init__(self, store: redis.Redis, projects_root: Path, url: str) -> None:
        self.store, self.root, self.url = store, projects_root, url

    def run(self, project_id: str, job_id: str) -> bool:
        """Build the job if it is still to be done; False: the lock is held, try again."""
        project = Project(self.root / project_id)
        record = read_job(project)
        if record is None or record.get("id") != job_id or record["state"] not in ACTIVE_JOB_STATES:
            return True  # finished, cancelled or superseded: nothing to do
        token = uuid.uuid4().hex
        if not self.store.set(lock_key(project_id), token, nx=True, px=LEASE_MS):
            if record["state"] == "running":
                return True  # a second delivery while its worker builds it
            waiting = {"event": "waiting", "reason": "another worker holds its lock"}
            add_event(self.store, project_id, waiting)
            return False
        try:
            record = read_job(project)  # again, under the lock: it may have been cancelled
            if record is None or record.get("id") != job_id or record["state"] == "cancelled":
                return True
            write_job(
                project,
                {**record, "state": "running", "worker": f"{socket.gethostname()}:{os.getpid()}"},
            )
            self._build(project, record, token)
        finally:
            self.store.eval(RELEASE, 1, lock_key(project_id), token)
        return True

    def _build(self, project: Project, record: dict[str, Any], token: str) -> None:
        env = {
            **os.environ,
            "VIDPIPE_PROJECTS": str(self.root),
            DIE_WITH_PARENT_ENV: "1",
            QUEUE_ENV: self.url,
        }  # paid calls at once are counted in its Redis: slots.py
        command = [sys.executable, "-m", "vidpipe", *record["words"], f"id={project.id}",
                   "progress=json"]  # fmt: skip
        stderr: collections.deque[str] = collections.deque()
        with subprocess.Popen(
            command, cwd=self.root, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ) as process:  # fmt: skip
            done = threading.Event()
            cancelled = threading.Event()
            threads = [
                threading.Thread(target=keep_tail, args=(process.stderr, stderr), daemon=True),
                threading.Thread(target=self._watch, daemon=True,
                                 args=(project.id, record["id"], token, process, done, cancelled)),
            ]  # fmt: skip
            for thread in threads:
                thread.start()
            for event in progress_events(process.stdout):
                add_event(self.store, project.id, event)
            process.wait()
            done.set()
            for thread in threads:
                thread.join()
        state = "cancelled" if cancelled.is_set() else "finished"
        current = read_job(project)
        if current is not None and current.get("id") == record["id"]:
            write_job(project, {**current, "state": state, "exit_code": process.returncode})
        errors = "".join(stderr).strip()[-STDERR_KEPT:]
        if errors:
            add_event(self.store, project.id, {"event": "error", "text": errors})
        add_event(self.store, project.id, {"event": "exit", "exit_code": process.returncode})

    def _watch(
        self,
        project_id: str,
        job_id: str,
        token: str,
        process: subprocess.Popen,
        done: threading.Event,
        cancelled: threading.Event,
    ) -> None:
        """While the build runs: renew the lease, and stop the build when it is cancelled."""
        renewed = time.monotonic()
        while not done.wait(WATCH_SECONDS):
            if time.monotonic() - renewed >= RENEW_SECONDS:
                self.store.eval(RENEW, 1, lock_key(project_id), token, LEASE_MS)
                renewed = time.monotonic()
            if not cancelled.is_set() and self.store.exists(cancel_key(job_id)):
                cancelled.set()
                process.send_signal(signal.SIGTERM)


class CeleryJobs:
    """The server's side of the queue: the job interface of vidpipe.api.jobs over Celery."""

    def __init__(self, projects_root: Path, url: str) -> None:
        self.root = projects_root
        self.store = connect(url)
        self.app = celery_app(url, projects_root)
        self.submitting = threading.Lock()  # one active job per project
        self.stopping = threading.Event()
        self.supervisor = threading.Thread(target=self._supervise, name="supervisor", daemon=True)
        self.supervisor.start()

    def _project(self, project_id: str) -> Project:
        return Project(self.root / project_id)

    def submit(self, project_id: str, words: list[str]) -> None:
        with self.submitting:
            if self.state(project_id) in ACTIVE_JOB_STATES:
                raise JobBusy(project_id)
            record = {"id": uuid.uuid4().hex, "words": words, "state": "queued",
                      "submitted": time.time(), "exit_code": None, "attempt": 0}  # fmt: skip
            write_job(self._project(project_id), record)
            self._send(project_id, record)

    def _send(self, project_id: str, record: dict[str, Any]) -> None:
        task_id = f"{record['id']}-{record.get('attempt', 0)}"
        self.app.send_task(TASK, args=[project_id, record["id"]], task_id=task_id)

    def state(self, project_id: str) -> str | None:
        record = read_job(self._project(project_id))
        return record["state"] if record is not None else None

    def cancel(self, project_id: str) -> bool:
        with self.submitting:
            project = self._project(project_id)
            record = read_job(project)
            if record is None or record["state"] not in ACTIVE_JOB_STATES:
                return False
            self.store.set(cancel_key(record["id"]), 1, ex=24 * 3600)  # a running build stops
            if record["state"] == "queued":
                write_job(project, {**record, "state": "cancelled"})
                self.app.control.revoke(f"{record['id']}-{record.get('attempt', 0)}")
                add_event(self.store, project_id, {"event": "cancelled", "project": project_id})
            return True

    def events(self, project_id: str, after: int, timeout: float) -> tuple[list[dict], int, bool]:
        deadline = time.monotonic() + timeout
        while True:
            stored = self.store.lrange(events_key(project_id), 0, -1)
            fresh = [event for event in map(json.loads, stored) if event["seq"] > after]
            running = self.state(project_id) in ACTIVE_JOB_STATES
            if fresh or not running or time.monotonic() >= deadline:
                return fresh, fresh[-1]["seq"] if fresh else after, running
            time.sleep(0.1)

    def counts(self) -> dict[str, int]:
        states = [self.state(project.id) for project in all_projects(self.root)]
        return {"running": states.count("running"), "queued": states.count("queued")}

    def shutdown(self) -> None:
        """Stop supervising; builds on the workers go on, and a restarted server finds them."""
        self.stopping.set()

    def _supervise(self) -> None:
        """Queue again every running job whose worker died (its lease expired)."""
        while not self.stopping.wait(SUPERVISE_SECONDS):
            for project in all_projects(self.root):
                with self.submitting:
                    record = read_job(project)
                    if record is None or record["state"] != "running":
                        continue
                    if self.store.exists(lock_key(project.id)):
                        continue
                    record = read_job(project)  # again: it may have just finished
                    if record is None or record["state"] != "running":
                        continue
                    record = {**record, "state": "queued", "attempt": record.get("attempt", 0) + 1}
                    write_job(project, record)
                    add_event(self.store, project.id, {"event": "requeued",
                                                       "reason": "its worker stopped"})  # fmt: skip
                    self._send(project.id, record)


def run_worker(url: str, projects_root: Path, concurrency: int) -> int:
    """`vidpipe worker`: run builds from the queue until stopped (SIGTERM waits for them)."""
    connect(url)
    print(f"worker on {url}, projects in {projects_root}", flush=True)
    app = celery_app(url, projects_root)
    name = f"vidpipe-{socket.gethostname()}-{os.getpid()}@%h"
    app.worker_main(["worker", "--pool=threads", f"--concurrency={concurrency}",
                     "--loglevel=WARNING", f"--hostname={name}", "--queues", QUEUE,
                     "--without-gossip", "--without-mingle"])  # fmt: skip
    return 0
