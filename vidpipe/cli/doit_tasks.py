"""The user's commands as doit tasks of the repository's dodo.py: `doit generate prompt=...`
in a clone is `vidpipe generate prompt=...` (the same functions, vidpipe.cli.commands).

Each command builds one project's own task graph (vidpipe.build.graph) with its own durable
dependency DB; these outer tasks keep no state (the `vidpipe-memory` backend).
"""

from __future__ import annotations

from typing import Any

from doit import doit_cmd
from doit.cmd_help import Help
from doit.reporter import ConsoleReporter

from vidpipe.cli.commands import COMMANDS, Command, command_help, overview, run_command
from vidpipe.cli.main import guarded
from vidpipe.errors import EXIT_OK
from vidpipe.process import die_with_parent


class CommandReporter(ConsoleReporter):
    """doit's console reporter without the per-task lines (the commands print their own)."""

    def execute_task(self, task: Any) -> None:
        pass


DOIT_CONFIG = {
    "backend": "vidpipe-memory",
    "verbosity": 2,
    "reporter": CommandReporter,
    "default_tasks": ["usage"],  # bare `doit` prints the commands
}


def _run(name: str) -> None:
    """Run a command with doit's `name=value` words (doit collects them before any task)."""
    die_with_parent()
    code = guarded(lambda: run_command(name, dict(doit_cmd._CMDLINE_VARS or {})))
    if code != EXIT_OK:
        raise SystemExit(code)


def _task(command: Command) -> Any:
    def creator() -> dict[str, Any]:
        # never up to date: a command runs whenever it is named
        doc = f"{command.usage}   (every option: vidpipe help {command.name})"
        return {"actions": [(_run, [command.name])], "uptodate": [False], "doc": doc}

    creator.__doc__ = f"{command.summary}: {command.usage}"
    return creator


for _name, _command in COMMANDS.items():
    globals()[f"task_{_name}"] = _task(_command)


def task_usage() -> dict[str, Any]:
    """The commands (what bare `doit` prints): doit usage."""
    return {"actions": [lambda: print(overview())], "uptodate": [False], "verbosity": 2}


class CommandHelp(Help):
    """`doit help <command>` prints the command's options, as `vidpipe help <command>` does
    (doit's own help shows only a task's first line). Registered for this repository in
    pyproject.toml ([tool.doit.plugins.command]); other tasks keep doit's help."""

    def _execute(self, pos_args: list[str]) -> bool:
        if pos_args[0] in COMMANDS:
            print(command_help(pos_args[0]))
            return True
        return bool(super()._execute(pos_args))
