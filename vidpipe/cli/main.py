"""`vidpipe <command> [name=value ...]`: the installed command line (also `python -m vidpipe`).

Every outcome has its own exit code (vidpipe.errors): a user's mistake is one line on stderr, a
bug is its traceback and EXIT_INTERNAL, a closed pipe (`vidpipe projects | head`) is quiet.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from vidpipe.errors import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    BadInput,
    DiskFull,
    VidpipeError,
    is_disk_full,
)
from vidpipe.process import die_with_parent, raise_interrupt

HELP_WORDS = ("help", "--help", "-h")


def parse(argv: list[str]) -> tuple[str, dict[str, str]]:
    """The command and its `name=value` words (the first `=` splits: values may hold `=`)."""
    command, *rest = argv
    words: dict[str, str] = {}
    for word in rest:
        name, equals, value = word.partition("=")
        if not equals or not name:
            raise BadInput(
                f"{word!r} is not a name=value word; quote values with spaces, e.g. "
                'prompt="A lighthouse keeper finds a message in a bottle"'
            )
        if name in words:
            raise BadInput(f"{name}= is given twice; give it once")
        words[name] = value
    return command, words


def run(argv: list[str]) -> int:
    """Run one command line; returns its exit code."""
    if len(argv) == 2 and argv[0] == "resume" and argv[1].startswith("id="):
        from vidpipe.read import snapshot  # a no-op resume, answered from file times alone

        kept = snapshot.answer(argv[1].removeprefix("id="))
        if kept is not None:
            print(kept, end="")
            return EXIT_OK
    # the commands (and what they import) load here, inside `guarded`: a Ctrl-C while they
    # load is an interruption like any other, not a traceback
    from vidpipe.cli import commands

    if not argv or argv[0] in HELP_WORDS:
        if len(argv) > 1:
            print(commands.command_help(argv[1]))
        else:
            print(commands.overview())
        return EXIT_OK
    if any(word in HELP_WORDS for word in argv[1:]):
        print(commands.command_help(argv[0]))
        return EXIT_OK
    name, words = parse(argv)
    return commands.run_command(name, words)


def guarded(run_it: Callable[[], int]) -> int:
    """Run `run_it()`, turning every outcome into an exit code and at most one line of error
    (a traceback only for a bug)."""
    try:
        code = run_it()
        sys.stdout.flush()
        return code
    except VidpipeError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except BrokenPipeError:
        # the reader went away (`| head`): say nothing more; stdout's final flush must not fail
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as err:
        if is_disk_full(err):
            name = getattr(err, "filename", None)
            full = DiskFull(f"writing {name}" if name else "a write", Path(name or ".").parent)
            print(f"error: {full}", file=sys.stderr)
            return full.exit_code
        traceback.print_exc()
        print(
            "internal error: this is a bug in vidpipe; the traceback above says where",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def main(argv: list[str] | None = None) -> int:
    # SIGTERM stops any command like Ctrl-C, from its first moment (a build records itself
    # as interrupted); SIGINT may be ignored, in a process a script started in the background
    signal.signal(signal.SIGTERM, raise_interrupt)
    die_with_parent()
    # pydantic looks for plugins in the metadata of every installed package when the first
    # model is made: about a quarter of a no-op resume. vidpipe uses none; a user who does
    # sets the variable (empty keeps them all), and builds started from here inherit it.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    code = guarded(lambda: run(sys.argv[1:] if argv is None else argv))
    return code
