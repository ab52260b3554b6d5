"""Run a project's task graph: one build per project at a time, resumable after any stop."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from typing import TextIO

from doit.cmd_base import ModuleTaskLoader
from doit.doit_cmd import DoitMain

from vidpipe import fsutil, process
from vidpipe.build import steps
from vidpipe.build.committed import record_committed
from vidpipe.build.estimate import BuildPlan, plan_build
from vidpipe.build.graph import task_creators
from vidpipe.build.reporter import BuildLog, BuildReporter, JsonProgress, Progress
from vidpipe.errors import (
    EXIT_BUILD_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    DiskFull,
)
from vidpipe.inputs import artifacts
from vidpipe.media import ffmpeg
from vidpipe.project import costs
from vidpipe.project.cut import check_crossfade
from vidpipe.project.folder import Project, project_lock
from vidpipe.project.provenance import hand_edit_note, refresh_input_times
from vidpipe.project.status import write_status
from vidpipe.project.storyboard import load_storyboard
from vidpipe.providers import check_providers
from vidpipe.read import index


def check_project(project: Project, out: TextIO) -> None:
    """Refuse to start on bad settings or an invalid hand edit (nothing is changed)."""
    settings = project.settings
    check_providers(settings, source=str(project.settings_file))
    if not project.storyboard_file.exists():
        durations = {"clip_duration": settings.clip_duration}
    else:
        storyboard = load_storyboard(project.storyboard_file)
        durations = {f"scene {scene.id}": scene.duration for scene in storyboard.scenes}
        note = hand_edit_note(project)
        if note:
            out.write(note + "\n")
    check_crossfade(settings.crossfade, durations)


def build_project(
    project: Project,
    out: TextIO = sys.stdout,
    *,
    json_progress: bool = False,
    only: list[str] | None = None,
    prepare: Callable[[], None] | None = None,
    approval: costs.Approval | None = None,
    until: str | None = None,
) -> int:
    """Bring the project up to date (or only the `only` tasks, without their dependencies; or
    only up to the stage `until`, a STOP_STAGES name, to review it); `prepare` runs first,
    under the project's lock. Paid work starts only with the user's `approval`, within its
    budget. Returns an exit code (vidpipe.errors)."""
    with project_lock(project):
        if prepare is not None:
            prepare()
        fsutil.remove_partials(project.root)
        check_project(project, out)
        record_committed(project)  # finished when a build was killed, before doit knew
        plan = plan_build(project, only, until)
        approval = approval or costs.Approval()
        costs.approve(plan.charges, approval, project.id, out, as_json=json_progress,
                      portraits=plan.portraits)  # fmt: skip
        write_status(project, "pending")
        log = BuildLog()
        progress = (JsonProgress if json_progress else Progress)(out)
        try:
            code = _run(project, plan, only, log, progress, approval, until)
        except KeyboardInterrupt:  # before doit took over the signals
            code = EXIT_INTERRUPTED
        except DiskFull as err:  # outside any step: doit's own records
            log.steps.append({"task": "build", "step": "build", "outcome": "failed",
                              "error": str(err)})  # fmt: skip
            progress.emit({"event": "failed", "project": project.id, "step": "build",
                           "error": str(err), "elapsed": round(time.time() - log.started, 3),
                           "done": len(log.ran)}, [])  # fmt: skip
            code = EXIT_BUILD_FAILED
        outcome = _record_outcome(project, log, code, costs.total(plan.charges), until)
        if outcome == "failed":
            code = EXIT_BUILD_FAILED
    final = str(project.final_file)
    if json_progress:
        progress.emit({"event": "end", "project": project.id, "outcome": outcome, "final": final,
                       "exit_code": code}, [])  # fmt: skip
    elif outcome == "complete":
        out.write(f"{'done' if log.ran else 'up to date'}: {final}\n")
    elif outcome == "stopped":
        out.write(f"stopped after the {until} for review; go on with: vidpipe resume "
                  f"id={project.id}\n")  # fmt: skip
    elif outcome == "interrupted":
        out.write(f"interrupted; continue with: vidpipe resume id={project.id}\n")
    else:
        out.write(f"build failed; fix the problem above, then: vidpipe resume id={project.id}\n")
    return code


def _run(
    project: Project,
    plan: BuildPlan,
    only: list[str] | None,
    log: BuildLog,
    progress: Progress,
    approval: costs.Approval,
    until: str | None = None,
) -> int:
    """Run the steps of `plan` with doit; with none to run, doit is not started at all."""
    if plan.nothing_to_do:
        log.up_to_date = plan.up_to_date
        # the plan found every input unchanged (by content, as doit compares files): record
        # their times, so that the next resume's folder check finds the project done
        for artifact in artifacts(project, load_storyboard(project.storyboard_file)):
            if until is None:  # (a plan up to a stage checked only part of them)
                refresh_input_times(project, artifact.target)
        return EXIT_OK
    ffmpeg.ffmpeg_exe()  # no usable ffmpeg: one clear error before any step starts
    # --continue: a scene that fails (a safety filter, a bad keyframe) does not stop the
    # other scenes; the final cut waits until every scene has its clip
    with costs.run_ledger(project.root, approval.budget, project.settings.project_budget):
        # doit runs one `--single` task a run (of several created after another task, it runs
        # the first only), so the `only` tasks run one after the other, in order
        for name in only or [""]:
            single = ["--single", name] if name else []
            code = _run_doit(project, log, progress, ["run", "--continue", *single], until)
            if code != EXIT_OK:
                break
        return code


def _run_doit(
    project: Project, log: BuildLog, progress: Progress, args: list[str], until: str | None
) -> int:
    reporter = type(
        "ProjectReporter",
        (BuildReporter,),
        {"project": project, "log": log, "progress": progress, "until": until},
    )
    loader = ModuleTaskLoader(
        {
            **task_creators(project, until),
            "DOIT_CONFIG": {
                "backend": "vidpipe-durable",
                "dep_file": ".vidpipe/doit.sqlite3",
                "reporter": reporter,
                "num_process": project.settings.workers,
                "par_type": "thread",
                "verbosity": 0,
            },
        }
    )
    previous = signal.signal(signal.SIGTERM, process.raise_interrupt)
    cwd = os.getcwd()
    errors = io.StringIO()  # doit's own error output: a traceback, unless the disk is full
    try:
        os.chdir(project.root)  # the graph's paths are relative to the project
        with contextlib.redirect_stderr(errors):
            code = DoitMain(loader, config_filenames=()).run(args)
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    finally:
        # doit leaves the steps it started running when it is interrupted or its own loop
        # fails: they stop (their ffmpeg, and encoders in process, at once) and remove their
        # temporary files before the process goes on, and ends
        steps.wait_for_steps(_stop_steps, seconds=10)
        os.chdir(cwd)
        signal.signal(signal.SIGTERM, previous)
    failed = code not in (EXIT_OK, EXIT_BUILD_FAILED, EXIT_INTERRUPTED)
    if failed and _out_of_space(errors.getvalue(), project):
        raise DiskFull("recording the build's progress", project.state_dir)
    sys.stderr.write(errors.getvalue())
    return code


def _stop_steps() -> None:
    process.ask_to_stop()
    ffmpeg.stop_children()


def _out_of_space(doit_errors: str, project: Project) -> bool:
    """Whether doit failed for want of disk space: it says so, or the disk is full (SQLite says
    "disk I/O error" when it cannot create its journal files on a full disk, and doit's own
    error text can be lost when the dependency file fails in a worker thread)."""
    if "disk is full" in doit_errors or "No space left on device" in doit_errors:
        return True
    return shutil.disk_usage(project.root).free < 2**20


def _record_outcome(
    project: Project, log: BuildLog, code: int, estimated: float, until: str | None
) -> str:
    """Write the final status, append the run to the project's run log, refresh the index."""
    if code == EXIT_OK and until is not None:
        outcome = "stopped"
        write_status(project, "stopped", until=until)
    elif code == EXIT_OK:
        outcome = "complete" if project.final_file.exists() else "failed"
        write_status(project, "complete")
    elif code == EXIT_INTERRUPTED:
        outcome = "interrupted"
        write_status(project, "interrupted", error="stopped by a signal")
    else:
        outcome = "failed"
        # other scenes went on after the first failure (--continue): name that failure again
        first = log.failures[0] if log.failures else {"step": "build", "error": f"exit {code}"}
        write_status(project, "failed", step=first["step"], error=first.get("error"))
    ended = time.time()
    run = {
        "started": round(log.started, 3),
        "ended": round(ended, 3),
        "seconds": round(ended - log.started, 3),
        "outcome": outcome,
        "steps": log.steps,
        "ran": len(log.ran),
        "up_to_date": log.up_to_date,
        "cost_usd": round(log.cost_usd, 4),
        "estimated_usd": round(estimated, 4),
    }
    with open(project.state_dir / "runs.jsonl", "a", encoding="utf-8") as runs:
        runs.write(json.dumps(run) + "\n")
    index.refresh(project)
    return outcome
