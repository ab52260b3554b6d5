"""The provider interface: three stages, each served by whichever provider the project names.

The core only talks to this interface; it never asks which provider it has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from vidpipe.settings import ProjectSettings
from vidpipe.storyboard import Scene, Storyboard


@dataclass(frozen=True)
class KeyframeJob:
    scene: Scene
    storyboard: Storyboard
    settings: ProjectSettings
    out: Path  # write the PNG here (a temporary name; the caller moves it into place)


@dataclass(frozen=True)
class ClipJob:
    scene: Scene
    storyboard: Storyboard
    settings: ProjectSettings
    keyframe: Path
    out: Path  # write the MP4 here (a temporary name; the caller moves it into place)


@dataclass
class Provenance:
    """How an artifact was made; stored next to the build state of the project."""

    provider: str
    model: str
    prompt: str = ""
    cost_usd: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


class Provider:
    """Base class: override the stages you serve and list them in `stages`."""

    name: ClassVar[str]
    stages: ClassVar[frozenset[str]]

    def __init__(self, settings: ProjectSettings) -> None:
        self.settings = settings

    def fingerprint(self, stage: str) -> dict[str, Any]:
        """Everything of this provider's configuration that changes the output of `stage`
        (model names, options): a change re-runs that stage."""
        return {"provider": self.name}

    def write_storyboard(self) -> tuple[Storyboard, Provenance]:
        raise NotImplementedError

    def draw_keyframe(self, job: KeyframeJob) -> Provenance:
        raise NotImplementedError

    def render_clip(self, job: ClipJob) -> Provenance:
        raise NotImplementedError
