"""Jinja2 templates from the repository's `templates/` folder (StrictUndefined: a missing
variable is an error, never an empty string)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import jinja2

TEMPLATES_ENV = "VIDPIPE_TEMPLATES"


def templates_dir() -> Path:
    configured = os.environ.get(TEMPLATES_ENV)
    return Path(configured) if configured else Path(__file__).resolve().parent.parent / "templates"


@functools.cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render_string(source: str, **variables: object) -> str:
    return environment().from_string(source).render(**variables)


def source_text(name: str) -> str:
    """A template file's text (part of fingerprints: editing a template re-runs its stage)."""
    return (templates_dir() / name).read_text(encoding="utf-8")
