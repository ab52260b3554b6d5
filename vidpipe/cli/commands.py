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

from vidpipe import usecases
from vidpipe.errors import EXIT_OK, BadInput
from vidpipe.project.costs import take_approval
from vidpipe.project.folder import Project, open_project
from vidpipe.project.provenance import hand_edit_note
from vidpipe.project.settings import STAGES, ProjectSettings, settings_from_words
from vidpipe.project.stages import SOUND_STAGES, STOP_STAGES
from vidpipe.project.status import LISTED_STATES
from vidpipe.providers import BUILTIN, SOUND_BUILTIN
from vidpipe.read import snapshot
from vidpipe.read.summary import is_up_to_date, summarize
from vidpipe.read.views import listing_text, status_text

# The words every command reads the same way; check_words has checked their values.


def _json_progress(words: dict[str, str]) -> bool:
    return words.pop("progress", "text") == "json"


def _print(record: dict[str, object], words: dict[str, str], text: str) -> None:
    print(json.dumps(record, indent=2) if words.get("format") == "json" else text)


def _announce(project: Project, json_progress: bool) -> None:
    if json_progress:
        print(json.dumps({"event": "project", "project": project.id, "path": str(project.root)}))
    else:
        print(_announcement(project))


def _announcement(project: Project) -> str:
    return f"project {project.id}: {project.root}"


def build_project(project: Project, **options: Any) -> int:
    """vidpipe.build.runner.build_project, loaded only when there is a build to run: the build
    (doit, the media engine) is most of a command's start-up, and a resume of a project that
    is up to date answers from the project folder alone."""
    from vidpipe.build import runner

    return runner.build_project(project, **options)


def generate(words: dict[str, str]) -> int:
    json_progress = _json_progress(words)
    if not words.get("prompt", "").strip():
        raise BadInput(
            'say what the video is about: vidpipe generate prompt="A lighthouse keeper '
            'finds a message in a bottle"'
        )
    approval = take_approval(words)
    until = words.pop("until", None)
    project = usecases.new_project(settings_from_words(words), source="command line")
    _announce(project, json_progress)
    return build_project(project, json_progress=json_progress, approval=approval, until=until)


def resume(words: dict[str, str]) -> int:
    plain = set(words) == {"id"}  # the words whose up-to-date answer is kept: read.snapshot
    json_progress = _json_progress(words)
    approval = take_approval(words)
    until = words.pop("until", None)
    if "id" in words:
        project = open_project(words["id"])
    else:
        unfinished = usecases.latest_unfinished()
        if unfinished is None:
            print(
                "nothing to resume: every project is complete (resume id=<id> rebuilds one "
                "after a hand edit)"
            )
            return EXIT_OK
        project = unfinished
    _announce(project, json_progress)
    before = snapshot.take(project.root) if plain else None
    if not json_progress and is_up_to_date(project):
        lines = (hand_edit_note(project), f"up to date: {project.final_file}")
        answer = "".join(f"{line}\n" for line in lines if line)
        print(answer, end="")
        if before is not None:
            snapshot.save(project.root, before, f"{_announcement(project)}\n{answer}")
        return EXIT_OK
    return build_project(project, json_progress=json_progress, approval=approval, until=until)


def status(words: dict[str, str]) -> int:
    project = open_project(words["id"]) if "id" in words else usecases.newest_project()
    record = summarize(project)
    _print(record, words, status_text(record, colour=sys.stdout.isatty()))
    return EXIT_OK


def projects(words: dict[str, str]) -> int:
    from vidpipe.read.index import ProjectIndex  # TinyDB: only for a listing

    records = ProjectIndex().listing(words.get("status"))
    _print({"projects": records}, words, listing_text(records, colour=sys.stdout.isatty()))
    return EXIT_OK


def stitch(words: dict[str, str]) -> int:
    """Re-cut final.mp4 from the existing clips with a new crossfade; regenerates nothing."""
    json_progress = _json_progress(words)
    project = open_project(words["id"])
    settings = usecases.stitch_settings(project, words.get("crossfade"), source="command line")
    before = project.settings
    _announce(project, json_progress)
    code = build_project(
        project,
        json_progress=json_progress,
        only=settings.cut_tasks(),
        prepare=lambda: project.save_settings(settings),
    )
    if code != EXIT_OK and Project(project.root).settings == settings:
        project.save_settings(before)  # a failed stitch keeps the crossfade it had
    return code


def watch(words: dict[str, str]) -> int:
    """Rebuild on every saved edit of the storyboard, a keyframe or the settings."""
    project = open_project(words["id"])
    from vidpipe.cli.watch import watch_project

    return watch_project(project)


def serve(words: dict[str, str]) -> int:
    from vidpipe.api.serve import serve_forever

    return serve_forever(words)


def worker(words: dict[str, str]) -> int:
    from vidpipe.api.serve import worker_forever

    return worker_forever(words)


# --- the commands, their options and help ------------------------------------------------------


@dataclass(frozen=True)
class Option:
    name: str
    default: str  # as the user would type it; "" when there is none
    allowed: str  # the values it takes, for the help
    meaning: str
    choices: tuple[str, ...] = ()  # when given, the only values check_words lets through
    required: bool = False


def _choice(name: str, default: str, choices: tuple[str, ...], meaning: str) -> Option:
    return Option(name, default, ", ".join(choices), meaning, choices)


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
    "fit": "a keyframe or placed clip of another shape: crop (centred) or bars (whole, black bars)",
    "clip_duration": "seconds per scene",
    "scenes": "number of scenes",
    "crossfade": "seconds of crossfade between scenes; 0 = hard cuts",
    "fps": "frames per second",
    "workers": "scenes built at the same time",
    "project_budget": "a cap in dollars on what all the project's builds spend together",
    "narration": "1: a narrator reads each scene's narration; 0: no speech",
    "music": "1: a music bed under the narration; 0: none",
    "subtitles": "1: final.srt, final.vtt and a subtitle track in final.mp4; 0: none",
    "burn_subtitles": "1: the subtitles drawn into the picture (re-encodes it)",
    "voice": "the narrator's voice (local: an eSpeak NG language code; google: a Gemini voice)",
}
PROGRESS = _choice("progress", "text", ("text", "json"), "json: one JSON object per line and event")
SPENDING = (
    Option("yes", "", "1", "go ahead with paid calls (else asked on a terminal, refused off one)"),
    Option("budget", "", "dollars", "a cap on what this run may spend"),
)
PROJECT_ID = Option("id", "", "a project id", "the project", required=True)
QUEUE = Option(
    "queue",
    "",
    "a Redis URL",
    "build on Celery workers (`vidpipe worker`) instead of on this machine",
)
UNTIL = _choice("until", "", STOP_STAGES, "stop after this stage to review it; a resume without "
                "until= goes on to the video")  # fmt: skip
FORMAT = _choice("format", "text", ("text", "json"), "the output format")


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
    # the built-ins; plugins are found when used (scanning the installed packages for them at
    # every start-up would cost more than some commands take)
    providers = ", ".join(sorted(BUILTIN)) + ", or a plugin's name"
    options.append(Option("provider", "local", providers, "the provider of the picture's stages"))
    options += [
        Option(f"{stage}_provider", "local", providers, f"the provider of the {stage} stage")
        for stage in STAGES
    ]
    options += [
        Option(
            f"{stage}_provider",
            "local",
            ", ".join(sorted(SOUND_BUILTIN[stage])) + ", or a plugin's name",
            f"the provider of the {stage} stage",
        )  # fmt: skip
        for stage in SOUND_STAGES
    ]
    return (*options, UNTIL, PROGRESS, *SPENDING)


COMMANDS: dict[str, Command] = {
    command.name: command
    for command in (
        Command("generate", generate, "create a project and build its video",
                'vidpipe generate prompt="..." [option=value ...]', _settings_options(),
                open_ended=True),
        Command("resume", resume, "continue a failed or killed build, or rebuild after a hand "
                "edit (without id: the latest unfinished project)", "vidpipe resume [id=<id>]",
                (Option("id", "the latest unfinished", "a project id", "the project"), UNTIL,
                 PROGRESS, *SPENDING)),
        Command("status", status, "a project's settings, scenes, runs and costs",
                "vidpipe status [id=<id>] [format=json]",
                (Option("id", "the newest", "a project id", "the project"), FORMAT)),
        Command("projects", projects, "all projects, newest first",
                "vidpipe projects [status=<state>] [format=json]",
                (_choice("status", "", LISTED_STATES, "only projects in this state"), FORMAT)),
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
                 _choice("resume_interrupted", "0", ("0", "1"), "resume builds a dead server "
                         "left"),
                 _choice("allow_remote", "0", ("0", "1"), "serve a non-loopback address "
                         "without a token (VIDPIPE_API_TOKEN)"),
                 QUEUE)),
        Command("worker", worker, "run builds from a Celery queue (Redis) on this machine",
                "vidpipe worker queue=redis://HOST:6379/0 [concurrency=1]",
                (Option("queue", "", "a Redis URL", "the queue of `vidpipe serve queue=`",
                        required=True),
                 Option("concurrency", "1", "whole number 1-64", "builds run at the same time"))),
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
    """Refuse an option the command does not take (naming the nearest one it does), a value
    outside an option's choices, and a missing required option."""
    names = [option.name for option in command.options]
    for word in words:
        if word in names or (command.open_ended and "." in word):
            continue
        raise BadInput(
            f"{command.name} takes no option {word}=...{_nearest(word, names)}; "
            f"`vidpipe help {command.name}` lists its options"
        )
    for option in command.options:
        value = words.get(option.name)
        if value is None and option.required:
            raise BadInput(f"{command.name} needs {option.name}=: {command.usage}")
        if value is not None and option.choices and value not in option.choices:
            raise BadInput(
                f"{option.name}={value[:40]} is not one of: {', '.join(option.choices)}"
                f"{_nearest(value, option.choices)}"
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
