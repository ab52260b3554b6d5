"""Signals of vidpipe's processes: SIGTERM stops a build or the server like Ctrl-C, and a build
started by the server dies with it (the server sets DIE_WITH_PARENT_ENV; the child asks the
kernel for SIGTERM when its parent dies, and is recorded as interrupted, resumable). A build
that stops asks the steps still running in its threads to stop too (`ask_to_stop`): a long
loop of a step checks `stop_asked` or pauses with `pause`, and ends at once."""

from __future__ import annotations

import os
import signal
import sys
import threading

DIE_WITH_PARENT_ENV = "VIDPIPE_DIE_WITH_PARENT"

_stops = 0  # how many times the steps were asked to stop
_asked = threading.Condition()


def ask_to_stop() -> None:
    """Ask the steps running in this process to stop (their build was interrupted)."""
    global _stops
    with _asked:
        _stops += 1
        _asked.notify_all()


def stops() -> int:
    """A mark to pass to stop_asked and pause: a stop asked after it is seen."""
    return _stops


def stop_asked(since: int) -> bool:
    """Whether the steps were asked to stop after the mark `since`."""
    return _stops != since


def pause(seconds: float, since: int) -> bool:
    """Sleep `seconds`, or until the steps are asked to stop after the mark `since`: whether
    they were."""
    with _asked:
        return _asked.wait_for(lambda: stop_asked(since), timeout=seconds)


def raise_interrupt(signum: int, frame: object) -> None:
    """A SIGTERM handler: stop like Ctrl-C (doit saves its state, the build stays resumable)."""
    raise KeyboardInterrupt


def die_with_parent() -> None:
    """In a build started by the server: get SIGTERM when the server process dies (Linux)."""
    if os.environ.get(DIE_WITH_PARENT_ENV) != "1" or not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() == 1:  # the server died before we got here
        os.kill(os.getpid(), signal.SIGTERM)
