"""Signals of vidpipe's processes: SIGTERM stops a build or the server like Ctrl-C, and a build
started by the server dies with it (the server sets DIE_WITH_PARENT_ENV; the child asks the
kernel for SIGTERM when its parent dies, and is recorded as interrupted, resumable)."""

from __future__ import annotations

import os
import signal
import sys

DIE_WITH_PARENT_ENV = "VIDPIPE_DIE_WITH_PARENT"


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
