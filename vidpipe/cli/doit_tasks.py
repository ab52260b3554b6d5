"""The user's commands, as doit tasks of the repository's dodo.py.

    doit generate prompt="..." [style=... aspect_ratio=... clip_duration=... scenes=...
                                crossfade=... provider=... resolution=... workers=...]
    doit resume [id=<project id>]
    doit status [id=<project id>] [format=json]
    doit projects [status=<state>] [format=json]
    doit stitch id=<project id> crossfade=<seconds>
    doit watch id=<project id>
    doit serve [host=127.0.0.1] [port=8000] [max_builds=2] [resume_interrupted=1] [allow_remote=1]

`generate` and `resume` take `progress=json` for one JSON object per line and event, and
`yes=1` (go ahead with paid calls) and `budget=<dollars>` (a cap for this run).

Each command builds one project's own task graph (vidpipe.build.graph) with its own durable
dependency DB; these outer tasks keep no state (the `vidpipe-memory` backend).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

from doit import doit_cmd
from doit.reporter import ConsoleReporter

from vidpipe.api.jobs import die_with_parent
from vidpipe.build.runner import build_project, check_crossfade, check_stitchable
from vidpipe.errors import EXIT_OK, BadInput, ProjectNotFound, VidpipeError
from vidpipe.project.costs import take_approval
from vidpipe.project.folder import (
    Project,
    all_projects,
    create_project,
    open_project,
    projects_root,
)
from vidpipe.project.settings import settings_from_words, validate_settings
from vidpipe.project.status import STATES, read_status
from vidpipe.providers import check_providers
from vidpipe.read.index import ProjectIndex
from vidpipe.read.summary import summarize
from vidpipe.read.views import listing_text, status_text


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
    die_with_parent()
    try:
        code = command()
    except VidpipeError as err:
        print(f"error: {err}", file=sys.stderr)
        code = err.exit_code
    sys.stdout.flush()
    if code != EXIT_OK:
        raise SystemExit(code)


def _progress_json(words: dict[str, str]) -> bool:
    """Pop `progress=text|json` from the words."""
    progress = words.pop("progress", "text")
    if progress not in ("text", "json"):
        raise BadInput(f"progress={progress} is not a progress format; use progress=text or json")
    return progress == "json"


def _announce(project: Project, json_progress: bool) -> None:
    if json_progress:
        print(json.dumps({"event": "project", "project": project.id, "path": str(project.root)}))
    else:
        print(f"project {project.id}: {project.root}")


def generate() -> int:
    words = command_words()
    json_progress = _progress_json(words)
    if not words.get("prompt", "").strip():
        raise BadInput(
            'say what the video is about: doit generate prompt="A lighthouse keeper '
            'finds a message in a bottle"'
        )
    approval = take_approval(words)
    settings = settings_from_words(words)
    check_crossfade(settings.crossfade, {"clip_duration": settings.clip_duration})
    check_providers(settings)
    project = create_project(settings)
    _announce(project, json_progress)
    return build_project(project, json_progress=json_progress, approval=approval)


def resume() -> int:
    words = command_words()
    json_progress = _progress_json(words)
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
    _announce(project, json_progress)
    return build_project(project, json_progress=json_progress, approval=approval)


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


def _format(words: dict[str, str]) -> str:
    fmt = words.pop("format", "text")
    if fmt not in ("text", "json"):
        raise BadInput(f"format={fmt} is not an output format; use format=text or format=json")
    return fmt


def _project_or_latest(words: dict[str, str]) -> Project:
    if "id" in words:
        return open_project(words["id"])
    projects = all_projects()
    if not projects:
        raise ProjectNotFound(f"no projects in {projects_root()}/ yet")
    return max(projects, key=lambda project: project.created())


def status() -> int:
    words = command_words()
    fmt = _format(words)
    _allow(words, {"id"}, "status")
    record = summarize(_project_or_latest(words))
    if fmt == "json":
        print(json.dumps(record, indent=2))
    else:
        print(status_text(record, colour=sys.stdout.isatty()))
    return EXIT_OK


def projects() -> int:
    words = command_words()
    fmt = _format(words)
    _allow(words, {"status"}, "projects")
    wanted = words.get("status")
    if wanted is not None and wanted not in STATES:
        raise BadInput(f"status={wanted} is not a status; use one of: {', '.join(STATES)}")
    records = ProjectIndex().listing(wanted)
    if fmt == "json":
        print(json.dumps({"projects": records}, indent=2))
    else:
        print(listing_text(records, colour=sys.stdout.isatty()))
    return EXIT_OK


def stitch() -> int:
    """Re-cut final.mp4 from the existing clips with a new crossfade; regenerates nothing."""
    words = command_words()
    json_progress = _progress_json(words)
    _allow(words, {"id", "crossfade"}, "stitch")
    if "id" not in words:
        raise BadInput("say which project: doit stitch id=<project id> crossfade=0.5")
    project = open_project(words["id"])
    settings = project.settings
    if "crossfade" in words:
        data = {**settings.model_dump(), "crossfade": words["crossfade"]}
        settings = validate_settings(data, source="command line")
    check_stitchable(project, settings.crossfade)
    _announce(project, json_progress)
    return build_project(
        project,
        json_progress=json_progress,
        only=["final"],
        prepare=lambda: project.save_settings(settings),
    )


def watch() -> int:
    """Rebuild on every saved edit of the storyboard, a keyframe or the settings."""
    words = command_words()
    _allow(words, {"id"}, "watch")
    if "id" not in words:
        raise BadInput("say which project: doit watch id=<project id>")
    project = open_project(words["id"])
    from vidpipe.cli.watch import watch_project

    return watch_project(project)


def serve() -> int:
    words = command_words()
    allowed = {"host", "port", "max_builds", "resume_interrupted", "allow_remote"}
    _allow(words, allowed, "serve")
    from vidpipe.api.serve import serve_forever

    return serve_forever(words)


def _command(action: Callable[[], int]) -> dict:
    """A user command as a doit task: never up to date, it runs whenever it is named."""
    return {"actions": [(run_command, [action])], "uptodate": [False]}


def task_generate():
    """Make a new video: doit generate prompt="..." [style= scenes= clip_duration= ...]."""
    return _command(generate)


def task_resume():
    """Continue a build, or rebuild after a hand edit: doit resume [id=<project id>]."""
    return _command(resume)


def task_status():
    """Show a project's status, scenes, runs and costs: doit status [id=...] [format=json]."""
    return _command(status)


def task_projects():
    """List all projects, newest first: doit projects [status=failed] [format=json]."""
    return _command(projects)


def task_stitch():
    """Re-stitch from the existing clips: doit stitch id=<project id> crossfade=0.5."""
    return _command(stitch)


def task_watch():
    """Rebuild on every saved edit of a project: doit watch id=<project id> (Ctrl-C stops)."""
    return _command(watch)


def task_serve():
    """Serve the HTTP API: doit serve [host=127.0.0.1] [port=8000] [max_builds=2]."""
    return _command(serve)
