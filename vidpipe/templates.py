"""Jinja2 templates from the top-level `templates/` folder (StrictUndefined: a missing
variable is an error, never an empty string)."""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jinja2

TEMPLATES_ENV = "VIDPIPE_TEMPLATES"
KINDS_FOLDER = "storyboard"  # the kinds of storyboard the offline planner knows, one YAML each


def templates_dir() -> Path:
    """`$VIDPIPE_TEMPLATES`, else the repository's templates/ (a clone), else the copy the
    wheel carries (the package vidpipe.prompt_templates)."""
    configured = os.environ.get(TEMPLATES_ENV)
    if configured:
        return Path(configured)
    clone = Path(__file__).resolve().parent.parent / "templates"
    if (clone / KINDS_FOLDER).is_dir():
        return clone
    spec = importlib.util.find_spec("vidpipe.prompt_templates")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("vidpipe's templates are missing; reinstall vidpipe")
    return Path(next(iter(spec.submodule_search_locations)))


@functools.cache
def environment() -> jinja2.Environment:
    import jinja2  # only when rendering: a fingerprint needs just the template's text

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


def kind_sources() -> dict[str, str]:
    """The text of each kind of storyboard by name: the offline storyboard's fingerprint, read
    without parsing (every up-to-date check asks for it; a broken file is reported when a
    storyboard is planned)."""
    folder = templates_dir() / KINDS_FOLDER
    return {path.stem: path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.yaml"))}
