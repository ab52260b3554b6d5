"""The doit reporter of a project build: progress lines for the user, status for the project.

The reporter is the single writer of the project's status during a build. With parallel
worker threads doit calls some of its methods from the workers, so it serialises them.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from vidpipe.project import Project
from vidpipe.status import write_status


def step_of(task_name: str) -> tuple[str, str]:
    """(status state, label) of a task: `scene:s3-clip` -> ("video_gen", "scene s3: clip")."""
    if task_name.startswith("scene:"):
        scene_id, _, kind = task_name.removeprefix("scene:").rpartition("-")
        return ("keyframes" if kind == "keyframe" else "video_gen"), f"scene {scene_id}: {kind}"
    if task_name == "final":
        return "stitching", "final cut"
    return "storyboard", task_name


@dataclass
class BuildLog:
    """What happened in one build, for the code that started it."""

    ran: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (step label, reason)


def _is_step(task) -> bool:
    """Real build steps (not doit's internal creator tasks)."""
    return bool(task.actions) and not task.name.startswith("_")


class BuildReporter:
    # doit instantiates the reporter itself: build_project sets these on a subclass
    project: Project
    log: BuildLog

    def __init__(self, outstream, options: dict[str, Any]) -> None:
        self.out = outstream
        self.started_at = time.monotonic()
        self.task_started: dict[str, float] = {}
        self.lock = threading.Lock()

    def _line(self, text: str) -> None:
        self.out.write(f"[{time.monotonic() - self.started_at:6.1f}s] {text}\n")
        self.out.flush()

    def execute_task(self, task) -> None:
        if not _is_step(task):
            return
        state, label = step_of(task.name)
        with self.lock:
            self.task_started[task.name] = time.monotonic()
            write_status(self.project, state, step=label)
            self._line(f"{label} ...")

    def add_success(self, task) -> None:
        with self.lock:
            if task.name not in self.task_started:
                return
            seconds = time.monotonic() - self.task_started[task.name]
            self.log.ran.append(task.name)
            self._line(f"{step_of(task.name)[1]} done ({seconds:.1f}s)")

    def add_failure(self, task, fail) -> None:
        label = step_of(task.name)[1]
        message = fail.get_msg().strip()
        with self.lock:
            if not self.log.failures:
                write_status(self.project, "failed", step=label, error=message)
            self.log.failures.append((label, message))
            self._line(f"{label} FAILED: {message}")

    def skip_uptodate(self, task) -> None:
        if _is_step(task):
            with self.lock:
                self.log.up_to_date.append(task.name)

    def runtime_error(self, msg: str) -> None:
        with self.lock:
            self.log.failures.append(("build", msg))
            self._line(f"ERROR: {msg}")

    def cleanup_error(self, exception) -> None:
        self._line(f"cleanup error: {exception}")

    def initialize(self, tasks, selected_tasks) -> None:
        pass

    def get_status(self, task) -> None:
        pass

    def skip_ignore(self, task) -> None:
        pass

    def teardown_task(self, task) -> None:
        pass

    def complete_run(self) -> None:
        pass  # the final status is written by build_project, which knows why the run ended
