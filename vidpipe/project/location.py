"""Where projects live and what their ids look like: read by every command, before any
settings are loaded (vidpipe.read.snapshot answers a no-op resume from here)."""

from __future__ import annotations

import os
import re
from pathlib import Path

PROJECT_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
PROJECTS_ENV = "VIDPIPE_PROJECTS"
STATE_FOLDER = ".vidpipe"  # a project's build state
BUILD_LOCK = "lock"  # in STATE_FOLDER: held (flock) by the build of the project


def projects_root() -> Path:
    """`$VIDPIPE_PROJECTS`, or `./projects` (absolute: builds run inside the project folder)."""
    return Path(os.environ.get(PROJECTS_ENV) or "projects").resolve()
