"""Background builds for the server: the job interface, and its embedded implementation.

`Jobs` is what the server asks of a job runner. `JobManager` (the default, no extra service)
runs each job as a child process on this machine, `python -m vidpipe <command> id=<project>
progress=json` (the installed package), and keeps its JSON progress events for readers; the
Celery implementation (vidpipe.api.celery_jobs) runs them on workers.

Every job is recorded in its project folder (vidpipe.project.jobrecord) as it changes state,
so a server that stops (SIGTERM or kill -9) starts again, when it next starts, every job that
was queued or running; a cancelled job stays cancelled. At most `max_builds` run at once; the
rest wait in the order they were submitted. One job per project at a time; the project lock
also keeps a CLI build and a server build of one project from overlapping. A child dies with
the server, recorded as interrupted (resumable); it is stopped by SIGTERM (which works however
the server was started: a server started in the background by a script ignores SIGINT, and so
would its children).
"""

from __future__ import annotations

import collections
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from vidpipe.errors import EXIT_INTERRUPTED
from vidpipe.process import DIE_WITH_PARENT_ENV
from vidpipe.project.folder import Project, all_projects
from vidpipe.project.jobrecord import ACTIVE_JOB_STATES, read_job, write_job

EVENTS_KEPT = 500
STDERR_KEPT = 2000  # characters of a child's stderr kept for its error event


class JobBusy(Exception):
    """The project already has a queued or running job."""


class Jobs(Protocol):
    """What the server asks of a job runner (embedded or Celery)."""

    def submit(self, project_id: str, words: list[str]) -> None:
        """Queue `vidpipe <words> id=<project_id>`; JobBusy if one is queued or running."""

    def state(self, project_id: str) -> str | None:
        """The latest job's state (queued, running, finished, cancelled); None: never one."""

    def cancel(self, project_id: str) -> bool:
        """Stop a running job or drop a queued one; False when none is queued or running."""

    def events(self, project_id: str, after: int, timeout: float) -> tuple[list[dict], int, bool]:
        """Events after sequence number `after` (waiting up to `timeout` s for one), the last
        sequence number, and whether the job is still queued or running."""

    def counts(self) -> dict[str, int]:
        """How many jobs are running and queued."""

    def shutdown(self) -> None:
        """Stop: running jobs are stopped and stay recorded, to start again next time."""


@dataclass
class Job:
    project_id: str
    words: list[str]  # vidpipe command and its name=value words
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    submitted: float = field(default_factory=time.time)
    state: str = "queued"  # queued, running, finished, cancelled
    exit_code: int | None = None
    cancelling: bool = False
    process: subprocess.Popen | None = None
    events: collections.deque = field(default_factory=lambda: collections.deque(maxlen=EVENTS_KEPT))

    def record(self) -> dict[str, Any]:
        return {"id": self.id, "words": self.words, "state": self.state,
                "submitted": self.submitted, "exit_code": self.exit_code}  # fmt: skip


class JobManager:
    """The embedded job runner: child processes on this machine, recorded in the projects."""

    program = [sys.executable, "-m", "vidpipe"]  # what a job runs, before its words

    def __init__(self, projects_root: Path, max_builds: int = 2) -> None:
        self.projects_root = projects_root
        self.max_builds = max_builds
        self.jobs: dict[str, Job] = {}  # latest job per project
        self.queue: collections.deque[Job] = collections.deque()
        self.changed = threading.Condition()
        self.stopping = False
        self.seq = itertools.count()
        self._restore()
        self.workers = [
            threading.Thread(target=self._work, name=f"build-{n}", daemon=True)
            for n in range(max_builds)
        ]
        for worker in self.workers:
            worker.start()

    def _restore(self) -> None:
        """Queue again, in their order, the jobs a stopped server left queued or running."""
        left = []
        for project in all_projects(self.projects_root):
            record = read_job(project)
            if record is None:
                continue
            job = Job(project.id, record["words"], str(record.get("id")), record["submitted"],
                      record["state"], record.get("exit_code"))  # fmt: skip
            self.jobs[project.id] = job
            if job.state in ACTIVE_JOB_STATES:
                left.append(job)
        for job in sorted(left, key=lambda job: job.submitted):
            job.state = "queued"
            self._save(job)
            self.queue.append(job)

    # --- requests ------------------------------------------------------------------------------
    def submit(self, project_id: str, words: list[str]) -> None:
        with self.changed:
            if self.active(project_id) is not None:
                raise JobBusy(project_id)
            job = Job(project_id, words)
            self.jobs[project_id] = job
            self._save(job)
            self.queue.append(job)
            self.changed.notify_all()

    def active(self, project_id: str) -> Job | None:
        job = self.jobs.get(project_id)
        return job if job is not None and job.state in ACTIVE_JOB_STATES else None

    def state(self, project_id: str) -> str | None:
        with self.changed:  # a state is seen once its record is written (see _end)
            job = self.jobs.get(project_id)
            return job.state if job is not None else None

    def cancel(self, project_id: str) -> bool:
        with self.changed:
            job = self.active(project_id)
            if job is None:
                return False
            if job.state == "queued":
                self.queue.remove(job)
                self._end(job, "cancelled")
                self._add_event(job, {"event": "cancelled", "project": project_id})
            else:
                job.cancelling = True
                if job.process is not None:
                    job.process.send_signal(signal.SIGTERM)
            self.changed.notify_all()
            return True

    def events(self, project_id: str, after: int, timeout: float) -> tuple[list[dict], int, bool]:
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                job = self.jobs.get(project_id)
                if job is None:
                    return [], after, False
                fresh = [event for event in job.events if event["seq"] > after]
                running = job.state in ACTIVE_JOB_STATES
                left = deadline - time.monotonic()
                if fresh or not running or left <= 0:
                    last = fresh[-1]["seq"] if fresh else after
                    return fresh, last, running
                self.changed.wait(left)

    def counts(self) -> dict[str, int]:
        with self.changed:
            states = [job.state for job in self.jobs.values()]
        return {"running": states.count("running"), "queued": states.count("queued")}

    def shutdown(self) -> None:
        with self.changed:
            self.stopping = True
            for job in self.jobs.values():
                if job.state == "running" and job.process is not None:
                    job.process.send_signal(signal.SIGTERM)
            self.changed.notify_all()

    # --- workers -------------------------------------------------------------------------------
    def _save(self, job: Job) -> None:
        write_job(Project(self.projects_root / job.project_id), job.record())

    def _end(self, job: Job, state: str) -> None:
        """Call with `self.changed` held."""
        job.state = state
        self._save(job)

    def _add_event(self, job: Job, event: dict[str, Any]) -> None:
        """Call with `self.changed` held."""
        event["seq"] = next(self.seq)
        job.events.append(event)
        self.changed.notify_all()

    def _work(self) -> None:
        while True:
            with self.changed:
                while not self.queue and not self.stopping:
                    self.changed.wait()
                if self.stopping:
                    return
                job = self.queue.popleft()
                job.state = "running"
                self._save(job)
            self._run(job)

    def _run(self, job: Job) -> None:
        env = {**os.environ, "VIDPIPE_PROJECTS": str(self.projects_root), DIE_WITH_PARENT_ENV: "1"}
        command = [*self.program, *job.words, f"id={job.project_id}", "progress=json"]
        stderr: collections.deque[str] = collections.deque()
        with subprocess.Popen(
            command,
            cwd=self.projects_root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as process:
            with self.changed:
                job.process = process
                if job.cancelling:  # cancelled before it had a process to stop
                    process.send_signal(signal.SIGTERM)
            # stderr is drained beside stdout: a child that writes much to it never blocks
            drain = threading.Thread(target=keep_tail, args=(process.stderr, stderr), daemon=True)
            drain.start()
            for event in progress_events(process.stdout):
                with self.changed:
                    self._add_event(job, event)
            drain.join()
        errors = "".join(stderr).strip()[-STDERR_KEPT:]
        with self.changed:
            job.exit_code = process.returncode
            if errors:
                self._add_event(job, {"event": "error", "text": errors})
            self._add_event(job, {"event": "exit", "exit_code": process.returncode})
            if job.cancelling:
                self._end(job, "cancelled")
            elif self.stopping and process.returncode in (EXIT_INTERRUPTED, -signal.SIGTERM):
                self._end(job, "queued")  # stopped with the server: it starts again next time
            else:
                self._end(job, "finished")  # last: a reader that sees it has every event


def progress_events(stream: IO[str] | None) -> Iterator[dict[str, Any]]:
    """A build's progress events, one JSON object a line (`progress=json`); another line is
    passed on as an "output" event."""
    for line in stream or ():
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            yield {"event": "output", "text": line.rstrip()}


def keep_tail(stream: IO[str] | None, tail: collections.deque[str]) -> None:
    """Read `stream` to its end, keeping about its last STDERR_KEPT characters in `tail`."""
    if stream is None:
        return
    kept = 0
    for chunk in iter(lambda: stream.read(8192), ""):
        tail.append(chunk)
        kept += len(chunk)
        while kept - len(tail[0]) > STDERR_KEPT:
            kept -= len(tail.popleft())
