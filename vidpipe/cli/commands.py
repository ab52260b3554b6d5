"""The user commands, each a function of its `name=value` words that returns an exit code.

The same functions serve `vidpipe <command> ...` (vidpipe.cli.main) and `doit <command> ...`
in a clone (vidpipe.cli.doit_tasks).
"""

from __future__ import annotations

import difflib
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

from vidpipe.build.runner import build_project, check_crossfade, check_stitchable
from vidpipe.build.sound_graph import cut_tasks
from vidpipe.errors import EXIT_OK, BadInput, ProjectNotFound
from vidpipe.project.costs import take_approval
from vidpipe.project.folder import (
    Project,
    all_projects,
    create_project,
    open_project,
    projects_root,
)
from vidpipe.project.settings import (
    STAGES,
    ProjectSettings,
    settings_from_words,
    validate_settings,
)
from vidpipe.project.stages import SOUND_STAGES
from vidpipe.project.status import STATES, read_status
from vidpipe.providers import available, check_providers, sound_available
from vidpipe.read.index import ProjectIndex
from vidpipe.read.summary import summarize
from vidpipe.read.views import listing_text, status_text


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


def generate(words: dict[str, str]) -> int:
    json_progress = _progress_json(words)
    if not words.get("prompt", "").strip():
        raise BadInput(
            'say what the video is about: vidpipe generate prompt="A lighthouse keeper '
            'finds a message in a bottle"'
        )
    approval = take_approval(words)
    settings = settings_from_words(words)
    check_crossfade(settings.crossfade, {"clip_duration": settings.clip_duration})
    settings = check_providers(settings, source="command line")
    project = create_project(settings)
    _announce(project, json_progress)
    return build_project(project, json_progress=json_progress, approval=approval)


def resume(words: dict[str, str]) -> int:
    json_progress = _progress_json(words)
    approval = take_approval(words)
    if "id" in words:
        project = open_project(words["id"])
    else:
        unfinished = latest_unfinished()
        if unfinished is None:
            print(
                "nothing to resume: every project is complete (resume id=<id> rebuilds one "
                "after a hand edit)"
            )
            return EXIT_OK
        project = unfinished
    _announce(project, json_progress)
    return build_project(project, json_progress=json_progress, approval=approval)


def latest_unfinished() -> Project | None:
    """The most recently touched project whose last build did not complete."""
    projects = all_projects()
    if not projects:
        raise ProjectNotFound(
            f'no projects in {projects_root()}/ yet; start one with: vidpipe generate prompt="..."'
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


def status(words: dict[str, str]) -> int:
    fmt = _format(words)
    record = summarize(_project_or_latest(words))
    if fmt == "json":
        print(json.dumps(record, indent=2))
    else:
        print(status_text(record, colour=sys.stdout.isatty()))
    return EXIT_OK


def projects(words: dict[str, str]) -> int:
    fmt = _format(words)
    wanted = words.get("status")
    if wanted is not None and wanted not in STATES:
        raise BadInput(f"status={wanted} is not a status; use one of: {', '.join(STATES)}")
    records = ProjectIndex().listing(wanted)
    if fmt == "json":
        print(json.dumps({"projects": records}, indent=2))
    else:
        print(listing_text(records, colour=sys.stdout.isatty()))
    return EXIT_OK


def stitch(words: dict[str, str]) -> int:
    """Re-cut final.mp4 from the existing clips with a new crossfade; regenerates nothing."""
    json_progress = _progress_json(words)
    if "id" not in words:
        raise BadInput("say which project: vidpipe stitch id=<project id> crossfade=0.5")
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
        only=cut_tasks(settings),
        prepare=lambda: project.save_settings(settings),
    )


def watch(words: dict[str, str]) -> int:
    """Rebuild on every saved edit of the storyboard, a keyframe or the settings."""
    if "id" not in words:
        raise BadInput("say which project: vidpipe watch id=<project id>")
    project = open_project(words["id"])
    from vidpipe.cli.watch import watch_project

    return watch_project(project)


def serve(words: dict[str, str]) -> int:
    from vidpipe.api.serve import serve_forever

    return serve_forever(words)


# --- the commands, their options and help ------------------------------------------------------


@dataclass(frozen=True)
class Option:
    name: str
    default: str  # as the user would type it; "" when there is none
    allowed: str  # the values it takes
    meaning: str


@dataclass(frozen=True)
class Command:
    name: str
    run: Callable[[dict[str, str]], int]
    summary: str
    usage: str
    options: tuple[Option, ...]
    open_ended: bool = False  # takes `<provider>.<option>=value` words too


def _allowed(annotation: Any, metadata: list[Any]) -> str:
    """The values a settings field takes, for the help."""
    if get_origin(annotation) is Literal:
        return ", ".join(str(arg) for arg in get_args(annotation))
    if annotation is bool:
        return "0, 1"
    bounds = {name: getattr(m, name) for m in metadata for name in ("ge", "gt", "le")
              if getattr(m, name, None) is not None}  # fmt: skip
    low = f">= {bounds['ge']}" if "ge" in bounds else f"> {bounds['gt']}" if "gt" in bounds else ""
    high = f"<= {bounds['le']}" if "le" in bounds else ""
    kind = {int: "whole number", float: "number"}.get(annotation, "text")
    return " ".join(part for part in (kind, low, high) if part)


MEANINGS = {
    "prompt": "what the video is about (quote it: it may contain `=`)",
    "style": "free text: watercolor, noir, anime, pixel art, ...",
    "aspect_ratio": "the frame's shape",
    "resolution": "the short side of the frame",
    "clip_duration": "seconds per scene",
    "scenes": "number of scenes",
    "crossfade": "seconds of crossfade between scenes; 0 = hard cuts",
    "fps": "frames per second",
    "workers": "scenes built at the same time",
    "narration": "1: a narrator reads each scene's narration; 0: no speech",
    "music": "1: a music bed under the narration; 0: none",
    "subtitles": "1: final.srt, final.vtt and a subtitle track in final.mp4; 0: none",
    "burn_subtitles": "1: the subtitles drawn into the picture (re-encodes it)",
    "voice": "the narrator's voice (local: an eSpeak NG language code; google: a Gemini voice)",
}
PROGRESS = Option("progress", "text", "text, json", "json: one JSON object per line and event")
SPENDING = (
    Option("yes", "", "1", "go ahead with paid calls (else asked on a terminal, refused off one)"),
    Option("budget", "", "dollars", "a cap on what this run may spend"),
)
PROJECT_ID = Option("id", "", "a project id", "the project")
FORMAT = Option("format", "text", "text, json", "the output format")


def _settings_options() -> tuple[Option, ...]:
    options = []
    for name, field in ProjectSettings.model_fields.items():
        if name in ("providers", "provider_options"):
            continue
        default = "" if field.is_required() else f"{field.default:g}" if isinstance(
            field.default, float) else str(field.default)  # fmt: skip
        if isinstance(field.default, bool) or field.default is None:
            default = {True: "1", False: "0", None: "the provider's"}[field.default]
        options.append(
            Option(name, default, _allowed(field.annotation, field.metadata), MEANINGS[name])
        )
    providers = ", ".join(sorted(available()))
    options.append(Option("provider", "local", providers, "the provider of the picture's stages"))
    options += [
        Option(f"{stage}_provider", "local", providers, f"the provider of the {stage} stage")
        for stage in STAGES
    ]
    options += [
        Option(
            f"{stage}_provider",
            "local",
            ", ".join(sorted(sound_available(stage))),
            f"the provider of the {stage} stage",
        )  # fmt: skip
        for stage in SOUND_STAGES
    ]
    return (*options, PROGRESS, *SPENDING)


COMMANDS: dict[str, Command] = {
    command.name: command
    for command in (
        Command("generate", generate, "create a project and build its video",
                'vidpipe generate prompt="..." [option=value ...]', _settings_options(),
                open_ended=True),
        Command("resume", resume, "continue a failed or killed build, or rebuild after a hand "
                "edit (without id: the latest unfinished project)", "vidpipe resume [id=<id>]",
                (Option("id", "the latest unfinished", "a project id", "the project"), PROGRESS,
                 *SPENDING)),
        Command("status", status, "a project's settings, scenes, runs and costs",
                "vidpipe status [id=<id>] [format=json]",
                (Option("id", "the newest", "a project id", "the project"), FORMAT)),
        Command("projects", projects, "all projects, newest first",
                "vidpipe projects [status=<state>] [format=json]",
                (Option("status", "", ", ".join(STATES), "only projects in this state"), FORMAT)),
        Command("stitch", stitch, "re-cut final.mp4 from the existing clips, regenerating nothing",
                "vidpipe stitch id=<id> [crossfade=<seconds>]",
                (PROJECT_ID, Option("crossfade", "the project's", "number >= 0",
                                    "seconds of crossfade; kept for later resumes"), PROGRESS)),
        Command("watch", watch, "rebuild on every saved edit of a project (Ctrl-C stops)",
                "vidpipe watch id=<id>", (PROJECT_ID,)),
        Command("serve", serve, "the HTTP API", "vidpipe serve [host=] [port=] [max_builds=]",
                (Option("host", "127.0.0.1", "an address", "where to listen"),
                 Option("port", "8000", "whole number 0-65535", "the port (0: any free one)"),
                 Option("max_builds", "2", "whole number 0-64", "builds run at the same time"),
                 Option("resume_interrupted", "0", "0, 1", "resume builds a dead server left"),
                 Option("allow_remote", "0", "0, 1", "serve a non-loopback address without "
                        "a token (VIDPIPE_API_TOKEN)"))),
    )
}  # fmt: skip
ALIASES = {"list": "projects"}  # the name the original design used


def find_command(name: str) -> Command:
    """The command called `name` (or an alias); a typo names the nearest command."""
    name = ALIASES.get(name, name)
    if name in COMMANDS:
        return COMMANDS[name]
    raise BadInput(f"there is no command {name!r}{_nearest(name, [*COMMANDS, *ALIASES])}; "
                   "`vidpipe help` lists the commands")  # fmt: skip


def _nearest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def check_words(command: Command, words: dict[str, str]) -> None:
    """Refuse an option the command does not take, naming the nearest one it does."""
    names = [option.name for option in command.options]
    for word in words:
        if word in names or (command.open_ended and "." in word):
            continue
        raise BadInput(
            f"{command.name} takes no option {word}=...{_nearest(word, names)}; "
            f"`vidpipe help {command.name}` lists its options"
        )


def run_command(name: str, words: dict[str, str]) -> int:
    """Run the command `name` with its words; raises VidpipeError for the user's mistakes."""
    command = find_command(name)
    check_words(command, words)
    return command.run(dict(words))


def overview() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = ["vidpipe: a text prompt in, a finished video out, built like make.", "",
             "usage: vidpipe <command> [name=value ...]", "", "commands:"]  # fmt: skip
    lines += [f"  {name:<{width}}  {command.summary}" for name, command in COMMANDS.items()]
    lines += ["", "`vidpipe help <command>` lists a command's options with their defaults.",
              "Projects go to ./projects, or to the folder in VIDPIPE_PROJECTS."]  # fmt: skip
    return "\n".join(lines)


def command_help(name: str) -> str:
    command = find_command(name)
    lines = [f"{command.usage}", "", f"{command.summary}.", "", "options:"]
    for option in command.options:
        default = f" (default {option.default})" if option.default else ""
        lines.append(f"  {option.name}=  {option.allowed}{default}: {option.meaning}")
    if command.open_ended:
        lines.append("  <provider>.<option>=  a provider's own setting (docs/google.md)")
    return "\n".join(lines)
