"""Run a project's task graph: one build per project at a time, resumable after any stop."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import sys
from collections.abc import Iterator
from typing import TextIO

from doit.cmd_base import ModuleTaskLoader
from doit.doit_cmd import DoitMain

from vidpipe import fsutil, media
from vidpipe.errors import (
    EXIT_BUILD_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    BadInput,
    ProjectBusy,
)
from vidpipe.graph import task_creators
from vidpipe.project import Project
from vidpipe.providers import provider_for
from vidpipe.reporter import BuildLog, BuildReporter
from vidpipe.settings import STAGES
from vidpipe.status import write_status
from vidpipe.steps import storyboard_edited_by_hand
from vidpipe.storyboard import load_storyboard


@contextlib.contextmanager
def project_lock(project: Project) -> Iterator[None]:
    """Hold the project's build lock (released by the kernel if this process dies)."""
    project.state_dir.mkdir(exist_ok=True)
    lock_path = project.state_dir / "lock"
    handle = open(lock_path, "a+")  # noqa: SIM115 (held for the whole build)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise ProjectBusy(
                f"project {project.id} is being built by {holder}; wait for it to finish "
                "or stop it, then resume"
            ) from None
        handle.truncate(0)
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()


def check_project(project: Project, out: TextIO) -> None:
    """Refuse to start on bad settings or an invalid hand edit (nothing is changed)."""
    settings = project.settings
    for stage in STAGES:
        provider_for(stage, settings)
    media.ffmpeg_exe()
    if not project.storyboard_file.exists():
        durations = {"clip_duration": settings.clip_duration}
    else:
        storyboard = load_storyboard(project.storyboard_file)
        durations = {f"scene {scene.id}": scene.duration for scene in storyboard.scenes}
        if storyboard_edited_by_hand(project):
            out.write(f"note: {project.storyboard_file} was edited by hand; it is kept as it is\n")
    for name, seconds in durations.items():
        if settings.crossfade * 2 > seconds:
            raise BadInput(
                f"crossfade={settings.crossfade:g} is too long for {name} ({seconds:g}s): "
                f"a crossfade may take at most half of a scene; use crossfade={seconds / 2:g} "
                "or less"
            )


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def build_project(project: Project, out: TextIO = sys.stdout) -> int:
    """Bring the project up to date; returns an exit code (see vidpipe.errors)."""
    with project_lock(project):
        fsutil.remove_partials(project.root)
        check_project(project, out)
        write_status(project, "pending")
        log = BuildLog()
        reporter = type("ProjectReporter", (BuildReporter,), {"project": project, "log": log})
        loader = ModuleTaskLoader(
            {
                **task_creators(project),
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
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        cwd = os.getcwd()
        try:
            os.chdir(project.root)  # the graph's paths are relative to the project
            code = DoitMain(loader, config_filenames=()).run(["run"])
        except KeyboardInterrupt:
            code = EXIT_INTERRUPTED
        finally:
            os.chdir(cwd)
            signal.signal(signal.SIGTERM, previous)
            media.stop_children()
    if code == EXIT_OK:
        write_status(project, "complete")
        if log.ran:
            out.write(f"done: {project.final_file}\n")
        else:
            out.write(f"up to date: {project.final_file}\n")
    elif code == EXIT_INTERRUPTED:
        write_status(project, "interrupted", error="stopped by a signal")
        out.write(f"interrupted; continue with: doit resume id={project.id}\n")
    else:
        code = EXIT_BUILD_FAILED
        if not log.failures:
            write_status(project, "failed", step="build", error=f"doit exit code {code}")
        out.write(f"build failed; fix the problem above, then: doit resume id={project.id}\n")
    return code
