"""Run a project's task graph: one build per project at a time, resumable after any stop."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import TextIO

from doit.cmd_base import ModuleTaskLoader
from doit.doit_cmd import DoitMain

from vidpipe import fsutil
from vidpipe.build.estimate import BuildPlan, plan_build
from vidpipe.build.graph import task_creators
from vidpipe.build.reporter import BuildLog, BuildReporter, JsonProgress, Progress
from vidpipe.errors import (
    EXIT_BUILD_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    BadInput,
    NotReady,
)
from vidpipe.media import ffmpeg
from vidpipe.process import raise_interrupt
from vidpipe.project import costs
from vidpipe.project.folder import Project, project_lock
from vidpipe.project.provenance import storyboard_edited_by_hand
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
        if storyboard_edited_by_hand(project):
            out.write(f"note: {project.storyboard_file} was edited by hand; it is kept as it is\n")
    check_crossfade(settings.crossfade, durations)


def check_crossfade(crossfade: float, durations: dict[str, float]) -> None:
    """A crossfade may take at most half of any scene (`durations`: name -> seconds)."""
    for name, seconds in durations.items():
        if crossfade * 2 > seconds:
            raise BadInput(
                f"crossfade={crossfade:g} is too long for {name} ({seconds:g}s): "
                f"a crossfade may take at most half of a scene; use crossfade={seconds / 2:g} "
                "or less"
            )


def check_stitchable(project: Project, crossfade: float) -> None:
    """Every scene has a clip, and `crossfade` fits every scene."""
    storyboard = load_storyboard(project.storyboard_file)
    check_crossfade(crossfade, {f"scene {s.id}": s.duration for s in storyboard.scenes})
    missing = [scene.id for scene in storyboard.scenes if not project.clip_file(scene.id).exists()]
    if missing:
        raise NotReady(
            f"scene {missing[0]} has no clip yet, so there is nothing to stitch; "
            f"build it first: vidpipe resume id={project.id}"
        )


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
        plan = plan_build(project, only, until)
        approval = approval or costs.Approval()
        costs.approve(plan.charges, approval, project.id, out, as_json=json_progress)
        write_status(project, "pending")
        log = BuildLog()
        progress = (JsonProgress if json_progress else Progress)(out)
        code = _run(project, plan, only, log, progress, approval, until)
        outcome = _record_outcome(project, log, code, until)
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
        return EXIT_OK
    ffmpeg.ffmpeg_exe()  # no usable ffmpeg: one clear error before any step starts
    # --continue: a scene that fails (a safety filter, a bad keyframe) does not stop the
    # other scenes; the final cut waits until every scene has its clip
    args = ["run", "--continue", *(["--single", *only] if only else [])]
    with costs.run_ledger(project.root, approval.budget):
        return _run_doit(project, log, progress, args, until)


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
    previous = signal.signal(signal.SIGTERM, raise_interrupt)
    cwd = os.getcwd()
    try:
        os.chdir(project.root)  # the graph's paths are relative to the project
        return DoitMain(loader, config_filenames=()).run(args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        os.chdir(cwd)
        signal.signal(signal.SIGTERM, previous)
        ffmpeg.stop_children()


def _record_outcome(project: Project, log: BuildLog, code: int, until: str | None) -> str:
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
    }
    with open(project.state_dir / "runs.jsonl", "a", encoding="utf-8") as runs:
        runs.write(json.dumps(run) + "\n")
    index.refresh(project)
    return outcome
