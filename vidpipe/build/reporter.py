"""The doit reporter of a project build: progress for the user, status and index for readers.

The reporter is the single writer of the project's status and index record during a build.
With parallel worker threads doit calls some of its methods from the workers, so it serialises
them. Progress goes out as events (`emit`): readable lines (with a live "running" line on a
terminal), or one JSON object per line for programs (`progress=json`, used by the server).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from doit.exceptions import UnmetDependency

from vidpipe.errors import VidpipeError
from vidpipe.inputs import artifacts
from vidpipe.project.folder import Project
from vidpipe.project.provenance import refresh_input_times
from vidpipe.project.stages import step_of
from vidpipe.project.status import write_status
from vidpipe.project.storyboard import load_storyboard
from vidpipe.read import index


@dataclass
class BuildLog:
    """What happened in one build: kept in the project's run log and the index."""

    started: float = field(default_factory=time.time)
    steps: list[dict[str, Any]] = field(default_factory=list)  # one per task that ran
    up_to_date: int = 0
    cost_usd: float = 0.0

    @property
    def ran(self) -> list[str]:
        return [step["task"] for step in self.steps if step["outcome"] == "done"]

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [step for step in self.steps if step["outcome"] == "failed"]


class Progress:
    """Readable progress lines; on a terminal also a live line of what is running."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.live = out.isatty()

    def emit(self, event: dict[str, Any], running: list[str]) -> None:
        text = self._describe(event)
        if self.live:
            self.out.write("\r\033[K")
        if text:
            self.out.write(text + "\n")
        if self.live and running:
            count = f"{event['done']}/{event['total']}" if event.get("total") else event["done"]
            self.out.write(
                f"[{event['elapsed']:6.1f}s] {count} done, running: {', '.join(running)}"
            )
        self.out.flush()

    @staticmethod
    def _describe(event: dict[str, Any]) -> str:
        kind = event["event"]
        count = f"({event['done']}/{event['total']}) " if event.get("total") else ""
        head = f"[{event['elapsed']:6.1f}s] {count}{event.get('step', '')}"
        if kind == "start":
            return f"{head} ..."
        if kind == "done":
            note = f"; {event['note']}" if event.get("note") else ""
            return f"{head} done ({event['seconds']:.1f}s){note}"
        if kind == "failed":
            return f"{head} FAILED: {event['error']}"
        return ""


class JsonProgress(Progress):
    """One JSON object per line and event, for programs."""

    def emit(self, event: dict[str, Any], running: list[str]) -> None:
        self.out.write(json.dumps(event) + "\n")
        self.out.flush()


class BuildReporter:
    # doit instantiates the reporter itself: build_project sets these on a subclass
    project: Project
    log: BuildLog
    progress: Progress
    until: str | None = None  # the build stops after this stage (until=)

    def __init__(self, outstream, options: dict[str, Any]) -> None:
        self.started_at = time.monotonic()
        self.task_started: dict[str, float] = {}
        self.lock = threading.Lock()
        self.total: int | None = None

    def _emit(self, kind: str, task=None, **fields: Any) -> None:
        if self.total is None and self.project.storyboard_file.exists():
            with contextlib.suppress(VidpipeError):  # the storyboard, and what comes after it
                storyboard = load_storyboard(self.project.storyboard_file)
                after = {"storyboard": 0, "keyframes": len(storyboard.scenes)}
                later = after.get(self.until or "", len(artifacts(self.project, storyboard)))
                self.total = 1 + later
        event = {
            "event": kind,
            "project": self.project.id,
            "elapsed": round(time.monotonic() - self.started_at, 3),
            "done": len(self.log.steps) - len(self.task_started) + self.log.up_to_date,
            "total": self.total,
            **fields,
        }
        if task is not None:
            event["task"] = task.name
            event["state"], event["step"] = step_of(task.name)
        running = [step_of(name)[1] for name in self.task_started]
        self.progress.emit(event, running)

    def _index(self) -> None:
        # an invalid hand edit mid-build must not stop it: the index catches up on the next event
        with contextlib.suppress(VidpipeError):
            index.refresh(self.project)

    def execute_task(self, task) -> None:
        if not _is_step(task):
            return
        state, label = step_of(task.name)
        with self.lock:
            self.task_started[task.name] = time.monotonic()
            self.log.steps.append({"task": task.name, "step": label, "outcome": "running"})
            write_status(self.project, state, step=label)
            self._index()
            self._emit("start", task)

    def _finish(self, task, outcome: str, **fields: Any) -> dict[str, Any] | None:
        started = self.task_started.pop(task.name, None)
        if started is None:
            return None
        step = next(s for s in reversed(self.log.steps) if s["task"] == task.name)
        step.update(outcome=outcome, seconds=round(time.monotonic() - started, 3), **fields)
        return step

    def add_success(self, task) -> None:
        with self.lock:
            step = self._finish(task, "done", cost_usd=self._cost_of(task))
            if step is None:
                return
            self.log.cost_usd += step["cost_usd"]
            self._index()
            note = self._note_of(task)
            self._emit("done", task, seconds=step["seconds"], **({"note": note} if note else {}))

    def _cost_of(self, task) -> float:
        from vidpipe.project.provenance import read_provenance

        if not task.targets:
            return 0.0
        record = read_provenance(self.project, self.project.root / task.targets[0]) or {}
        return float(record.get("cost_usd") or 0.0)

    def _note_of(self, task) -> str | None:
        """What the step said of its artifact for the user (a file placed by hand kept)."""
        from vidpipe.project.provenance import read_provenance

        if not task.targets:
            return None
        record = read_provenance(self.project, self.project.root / task.targets[0]) or {}
        note = record.get("note")
        return note if isinstance(note, str) else None

    def add_failure(self, task, fail) -> None:
        if not _is_step(task):
            return
        state, label = step_of(task.name)
        if isinstance(fail, UnmetDependency):  # waits for a failed step; not a failure itself
            with self.lock:
                self._emit("blocked", task, error="waits for a step that failed")
            return
        message = fail.get_msg().strip()
        with self.lock:
            first = not self.log.failures
            self._finish(task, "failed", error=message)
            if first:
                write_status(self.project, "failed", step=label, error=message)
            self._index()
            self._emit("failed", task, error=message)

    def skip_uptodate(self, task) -> None:
        if _is_step(task):
            with self.lock:
                self.log.up_to_date += 1
            for target in task.targets:  # doit found its inputs unchanged, by content
                refresh_input_times(self.project, self.project.root / target)

    def runtime_error(self, msg: str) -> None:
        with self.lock:
            self.log.steps.append({"task": "build", "step": "build", "outcome": "failed",
                                   "error": msg})  # fmt: skip
            self._emit("failed", step="build", error=msg)

    def cleanup_error(self, exception) -> None:
        self._emit("failed", step="cleanup", error=str(exception))

    def initialize(self, tasks, selected_tasks) -> None:
        pass

    def get_status(self, task) -> None:
        pass

    def skip_ignore(self, task) -> None:
        pass

    def teardown_task(self, task) -> None:
        pass

    def complete_run(self) -> None:
        pass  # the run is recorded by build_project, which knows why it ended


def _is_step(task) -> bool:
    """Real build steps (not doit's internal creator tasks)."""
    return bool(task.actions) and not task.name.startswith("_")
