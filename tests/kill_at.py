"""Run `doit WORDS...` as `python -m doit WORDS...` would, and kill the process (SIGKILL) at a
commit window of a build: right after a file whose path ends with $KILL_AFTER_COMMIT is moved
into place (fsutil.commit), or right after one ending with $KILL_AFTER_UNLINK is deleted. The
build is the real one; only the moment of the kill is chosen."""

from __future__ import annotations

import os
import runpy
import signal
import sys
from pathlib import Path

from vidpipe import fsutil


def _kill_after(name: str, real, ends_with: str):
    def wrapper(path, *args, **kwargs):
        result = real(path, *args, **kwargs)
        target = args[0] if name == "commit" else path
        if str(target).endswith(ends_with):
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    return wrapper


if os.environ.get("KILL_AFTER_COMMIT"):
    fsutil.commit = _kill_after("commit", fsutil.commit, os.environ["KILL_AFTER_COMMIT"])
if os.environ.get("KILL_AFTER_UNLINK"):
    Path.unlink = _kill_after("unlink", Path.unlink, os.environ["KILL_AFTER_UNLINK"])  # type: ignore[method-assign]

sys.argv = ["doit", *sys.argv[1:]]
runpy.run_module("doit", run_name="__main__", alter_sys=True)
