"""Background builds for the server: child processes over the same task graph as the CLI.

Each job runs `python -m vidpipe <command> id=<project> progress=json` (the installed package)
as a child process and keeps its JSON progress events for readers. At most `max_builds` run; the
rest wait in order. One job per project at a time; the project lock also keeps a CLI build and
a server build of one project from overlapping. A child dies with the server (SIGTERM, so it
records itself as interrupted and stays resumable).
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidpipe.process import DIE_WITH_PARENT_ENV

EVENTS_KEPT = 500


@dataclass
class Job:
    project_id: str
    words: list[str]  # doit command and its name=value words
    state: str = "queued"  # queued, running, finished, cancelled
    exit_code: int | None = None
    process: subprocess.Popen | None = None
    events: collections.deque = field(default_factory=lambda: collections.deque(maxlen=EVENTS_KEPT))


class JobBusy(Exception):
    """The project already has a queued or running job."""


class JobManager:
    def __init__(self, projects_root: Path, max_builds: int = 2) -> None:
        self.projects_root = projects_root
        self.max_builds = max_builds
        self.jobs: dict[str, Job] = {}  # latest job per project
        self.queue: collections.deque[Job] = collections.deque()
        self.changed = threading.Condition()
        self.stopping = False
        self.seq = itertools.count()
        self.workers = [
            threading.Thread(target=self._work, name=f"build-{n}", daemon=True)
            for n in range(max_builds)
        ]
        for worker in self.workers:
            worker.start()

    # --- requests ------------------------------------------------------------------------------
    def submit(self, project_id: str, words: list[str]) -> Job:
        with self.changed:
            current = self.jobs.get(project_id)
            if current is not None and current.state in ("queued", "running"):
                raise JobBusy(project_id)
            job = Job(project_id, words)
            self.jobs[project_id] = job
            self.queue.append(job)
            self.changed.notify_all()
            return job

    def active(self, project_id: str) -> Job | None:
        job = self.jobs.get(project_id)
        return job if job is not None and job.state in ("queued", "running") else None

    def cancel(self, project_id: str) -> bool:
        """Stop a running build (SIGINT: doit saves its state) or drop a queued one."""
        with self.changed:
            job = self.active(project_id)
            if job is None:
                return False
            if job.state == "queued":
                self.queue.remove(job)
                job.state = "cancelled"
                self._add_event(job, {"event": "cancelled", "project": project_id})
            elif job.process is not None:
                job.process.send_signal(signal.SIGINT)
            self.changed.notify_all()
            return True

    def events(self, project_id: str, after: int, timeout: float) -> tuple[list[dict], int, bool]:
        """Events after sequence number `after`, waiting up to `timeout` s for new ones."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                job = self.jobs.get(project_id)
                if job is None:
                    return [], after, False
                fresh = [event for event in job.events if event["seq"] > after]
                running = job.state in ("queued", "running")
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
                    job.process.send_signal(signal.SIGINT)
            self.changed.notify_all()

    # --- workers -------------------------------------------------------------------------------
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
            self._run(job)

    def _run(self, job: Job) -> None:
        env = {**os.environ, "VIDPIPE_PROJECTS": str(self.projects_root), DIE_WITH_PARENT_ENV: "1"}
        command = [
            sys.executable, "-m", "vidpipe", *job.words, f"id={job.project_id}", "progress=json",
        ]  # fmt: skip
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
            assert process.stdout is not None
            for line in process.stdout:
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    event = {"event": "output", "text": line.rstrip()}
                with self.changed:
                    self._add_event(job, event)
            errors = process.stderr.read() if process.stderr else ""
        with self.changed:
            job.exit_code = process.returncode
            job.state = "finished"
            if errors.strip():
                self._add_event(job, {"event": "error", "text": errors.strip()[-2000:]})
            self._add_event(job, {"event": "exit", "exit_code": process.returncode})
