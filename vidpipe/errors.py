"""The exceptions vidpipe shows to users, and the exit codes they map to.

A `VidpipeError` is a user-facing problem: it is printed as one message (what went wrong
and how to fix it), never with a traceback. Anything else is a bug and keeps its traceback.
"""

import errno
import shutil
from pathlib import Path

# Exit codes of the user commands (the README's table, tested). None is 2 or 3, which doit
# itself uses (an error running a task; a command line doit did not understand).
EXIT_OK = 0
EXIT_BUILD_FAILED = 1  # a step failed; the project is kept and can be resumed
EXIT_BAD_INPUT = 4  # bad command-line value or invalid hand edit; nothing was changed
EXIT_BUSY = 5  # another build of the same project is running
EXIT_NOT_CONFIRMED = 6  # paid work waits for the go-ahead (yes=1); nothing was spent
EXIT_INTERNAL = 70  # a bug in vidpipe (the traceback is printed); EX_SOFTWARE of sysexits.h
EXIT_INTERRUPTED = 130  # Ctrl-C / SIGTERM; the project can be resumed


class VidpipeError(Exception):
    """A problem the user can fix; the message says how (`details`: one line per problem)."""

    exit_code = EXIT_BAD_INPUT
    details: tuple[str, ...] = ()


class BadInput(VidpipeError):
    """A command-line value, setting or hand edit is invalid; nothing was changed."""


class NotReady(BadInput):
    """The project lacks what the command needs (e.g. clips to stitch); build it first."""


class InvalidEdit(BadInput):
    """An edit would make the storyboard invalid; it was not saved."""

    def __init__(self, message: str, details: list[str]) -> None:
        super().__init__(f"{message}: {'; '.join(details)}")
        self.message, self.details = message, tuple(details)


class ProjectNotFound(VidpipeError):
    """No project with that id, or no project to resume."""


class SceneNotFound(VidpipeError):
    """The project's storyboard has no scene with that id."""


class ProjectBusy(VidpipeError):
    exit_code = EXIT_BUSY


class StepFailed(VidpipeError):
    """A build step could not produce its artifact (provider refused, ffmpeg failed, ...)."""

    exit_code = EXIT_BUILD_FAILED


class FfmpegFailed(StepFailed):
    """ffmpeg exited with an error; `log`: the first lines of what it said."""

    def __init__(self, message: str, log: str) -> None:
        super().__init__(message)
        self.log = log


class DiskFull(StepFailed):
    """A write failed for want of space; what was finished is kept, and a resume goes on."""

    def __init__(self, what: str, where: Path) -> None:
        try:
            free = f"{shutil.disk_usage(where).free / 1e6:.1f} MB free"
        except OSError:
            free = "no free space"
        super().__init__(
            f"the disk is full: {what} failed ({free} on the file system of {where}); "
            "free some space, then resume"
        )


def is_disk_full(err: BaseException) -> bool:
    """Whether `err` is a write that failed for want of space (or of quota)."""
    if isinstance(err, OSError):
        return err.errno in (errno.ENOSPC, errno.EDQUOT)
    return type(err).__name__ == "OperationalError" and "disk is full" in str(err)  # sqlite3


class NothingPaid(StepFailed):
    """A paid call failed before anything was paid for (refused, or never sent): the money
    reserved for it is released."""


class PaidFailed(StepFailed):
    """A paid call was answered, and its answer could not be used; what it cost (`usd`, known
    from the answer, e.g. by its token counts; `billed`: for what) counts as spent, not what
    was reserved."""

    def __init__(self, message: str, usd: float, billed: str) -> None:
        super().__init__(message)
        self.usd, self.billed = usd, billed


class OverBudget(StepFailed):
    """The next paid call would take the build over its `budget=`; it was not made."""


class NotConfirmed(VidpipeError):
    """Paid work needs the user's go-ahead (`yes=1`, or an answer on a terminal)."""

    exit_code = EXIT_NOT_CONFIRMED


class MediaToolMissing(VidpipeError):
    """No usable ffmpeg binary."""
