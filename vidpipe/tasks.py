"""The user's commands, as doit tasks of the repository's dodo.py.

    doit generate prompt="..." [style=... aspect_ratio=... clip_duration=... scenes=...
                                crossfade=... provider=... resolution=... workers=...]
    doit resume [id=<project id>]

`generate` and `resume` take `yes=1` (go ahead with paid calls) and `budget=<dollars>` (a cap
for this run).

Each command builds one project's own task graph (vidpipe.graph) with its own durable
dependency DB; these outer tasks keep no state (the `vidpipe-memory` backend).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from doit import doit_cmd
from doit.reporter import ConsoleReporter

from vidpipe.build import build_project
from vidpipe.costs import take_approval
from vidpipe.errors import EXIT_OK, BadInput, ProjectNotFound, VidpipeError
from vidpipe.project import Project, all_projects, create_project, open_project, projects_root
from vidpipe.providers import check_providers
from vidpipe.settings import settings_from_words
from vidpipe.status import read_status


class CommandReporter(ConsoleReporter):
    """doit's console reporter without the per-task lines (the commands print their own)."""

    def execute_task(self, task):
        pass


DOIT_CONFIG = {
    "backend": "vidpipe-memory",
    "verbosity": 2,
    "reporter": CommandReporter,
    "default_tasks": [],
}


def command_words() -> dict[str, str]:
    """Every `name=value` word of the command line (doit collects them before any task runs)."""
    return dict(doit_cmd._CMDLINE_VARS or {})


def _allow(words: dict[str, str], allowed: set[str], command: str) -> None:
    unknown = sorted(set(words) - allowed)
    if unknown:
        raise BadInput(
            f"doit {command} takes no {unknown[0]}=...; it takes: "
            f"{', '.join(sorted(allowed)) or 'no options'}"
        )


def run_command(command: Callable[[], int]) -> None:
    """Run a command; a user error is one line on stderr and a documented exit code."""
    try:
        code = command()
    except VidpipeError as err:
        print(f"error: {err}", file=sys.stderr)
        code = err.exit_code
    sys.stdout.flush()
    if code != EXIT_OK:
        raise SystemExit(code)


def generate() -> int:
    words = command_words()
    if not words.get("prompt", "").strip():
        raise BadInput(
            'say what the video is about: doit generate prompt="A lighthouse keeper '
            'finds a message in a bottle"'
        )
    approval = take_approval(words)
    settings = settings_from_words(words)
    check_providers(settings)
    project = create_project(settings)
    print(f"project {project.id}: {project.root}")
    return build_project(project, approval=approval)


def resume() -> int:
    words = command_words()
    approval = take_approval(words)
    _allow(words, {"id"}, "resume")
    if "id" in words:
        project = open_project(words["id"])
    else:
        project = latest_unfinished()
        if project is None:
            print(
                "nothing to resume: every project is complete (resume id=<id> rebuilds one "
                "after a hand edit)"
            )
            return EXIT_OK
    print(f"project {project.id}: {project.root}")
    return build_project(project, approval=approval)


def latest_unfinished() -> Project | None:
    """The most recently touched project whose last build did not complete."""
    projects = all_projects()
    if not projects:
        raise ProjectNotFound(
            f'no projects in {projects_root()}/ yet; start one with: doit generate prompt="..."'
        )
    candidates = [
        (status.get("updated", 0.0), project)
        for project in projects
        if (status := read_status(project)).get("state") != "complete"
    ]
    return max(candidates, key=lambda pair: pair[0])[1] if candidates else None


def task_generate():
    """Make a new video: doit generate prompt="..." [style= scenes= clip_duration= ...]."""
    return {"actions": [(run_command, [generate])], "uptodate": [False]}


def task_resume():
    """Continue a build, or rebuild after a hand edit: doit resume [id=<project id>]."""
    return {"actions": [(run_command, [resume])], "uptodate": [False]}
