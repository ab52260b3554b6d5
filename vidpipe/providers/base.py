"""The provider interface: the stages (storyboard, keyframe, clip; narration and music for the
sound), each served by whichever provider the project names.

The core only talks to this interface; it never asks which provider it has.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from vidpipe.project.costs import Charge
from vidpipe.project.provenance import Provenance
from vidpipe.project.settings import ProjectSettings
from vidpipe.project.storyboard import Character, Scene, Storyboard

# The key of a storyboard's Provenance.extra that says what its call was billed for (e.g. its
# tokens) when the answer priced it: its cost_usd then counts as spent, not the estimate.
BILLED = "billed"


@dataclass(frozen=True)
class PortraitJob:
    character: Character
    settings: ProjectSettings
    out: Path  # write the PNG here (a temporary name; the caller moves it into place)
    paying: Callable[[], None] = lambda: None  # as KeyframeJob.paying


@dataclass(frozen=True)
class KeyframeJob:
    scene: Scene
    storyboard: Storyboard
    settings: ProjectSettings
    out: Path  # write the PNG here (a temporary name; the caller moves it into place)
    references: dict[str, Path] = field(default_factory=dict)  # scene id -> its keyframe
    portraits: dict[str, Path] = field(default_factory=dict)  # character id -> its portrait
    # call right before the paid request is sent: it is then counted as spent, also if the
    # build is killed while it runs (a provider that never calls it is counted when it returns)
    paying: Callable[[], None] = lambda: None


@dataclass(frozen=True)
class ClipJob:
    scene: Scene
    storyboard: Storyboard
    settings: ProjectSettings
    keyframe: Path
    out: Path  # write the MP4 here (a temporary name; the caller moves it into place)
    references: dict[str, Path] = field(default_factory=dict)  # scene id -> its keyframe
    portraits: dict[str, Path] = field(default_factory=dict)  # character id -> its portrait
    # where the provider may record a paid job in progress (e.g. a video operation's name):
    # kept across a killed build, removed by the caller once the clip is in place
    pending: Path | None = None
    paying: Callable[[], None] = lambda: None  # as KeyframeJob.paying


@dataclass(frozen=True)
class NarrationJob:
    scene: Scene
    settings: ProjectSettings
    out: Path  # write a WAV file of the scene's narration here (any rate; mono)


@dataclass(frozen=True)
class MusicJob:
    storyboard: Storyboard
    settings: ProjectSettings
    seconds: float  # the length of the film
    out: Path  # write a WAV file of the music bed here (any rate), `seconds` long


class Provider:
    """Base class: override the stages you serve and list them in `stages`."""

    name: ClassVar[str]
    stages: ClassVar[frozenset[str]]
    # the provider's own settings (`provider_options.<name>` in project.yaml), if it has any
    options_model: ClassVar[type[BaseModel] | None] = None
    # the keyframe stage's provider draws a portrait of each character (`draw_portrait`)
    draws_portraits: ClassVar[bool] = False
    # the project's id, set by the build step that runs a stage (e.g. to tag paid calls with
    # it, or to derive a seed); "" outside a build
    project_id: str = ""

    def __init__(self, settings: ProjectSettings) -> None:
        self.settings = settings

    def fingerprint(self, stage: str) -> dict[str, Any]:
        """Everything of this provider's configuration that changes the output of `stage`
        (model names, options): a change re-runs that stage."""
        return {"provider": self.name}

    def scene_fields(self, stage: str) -> frozenset[str] | None:
        """The scene's fields (of storyboard.json) that `stage` uses; only an edit of one of
        them re-runs the stage for that scene. None: the core's default (every field that
        can change the artifact)."""
        return None

    def check(self, stage: str) -> None:
        """Raise BadInput when `stage` cannot run as configured (called before a build
        spends anything; must not call the network)."""

    def references(self, stage: str, storyboard: Storyboard, scene: Scene) -> list[str]:
        """Ids of other scenes whose keyframes `stage` of `scene` uses (each one an explicit
        edge of the task graph)."""
        return []

    def portraits(self, stage: str, storyboard: Storyboard, scene: Scene) -> list[str]:
        """Ids of the characters whose portraits `stage` of `scene` uses (each one an explicit
        edge of the task graph: editing a character re-makes exactly these)."""
        return []

    def estimate(self, stage: str, seconds: float) -> list[Charge]:
        """What one fresh run of `stage` for a scene of `seconds` costs ([] when free; the
        `portrait` stage: one portrait, `seconds` unused)."""
        return []

    def resumes_paid_work(self, job: KeyframeJob | ClipJob) -> bool:
        """True when an earlier build already paid for exactly this job and its result can
        be collected without paying again."""
        return False

    def write_storyboard(self) -> tuple[Storyboard, Provenance]:
        """The storyboard, and how it was made. A call priced by its answer (text, by the
        token) is estimated at the most it may cost; the record's `cost_usd` with
        `extra[BILLED]` is what it did cost, and a failure after the answer came raises
        PaidFailed with that."""
        raise NotImplementedError

    def draw_portrait(self, job: PortraitJob) -> Provenance:
        """A portrait of `job.character`, the reference for every keyframe that shows them
        (served by the keyframe stage's provider when `draws_portraits`)."""
        raise NotImplementedError

    def draw_keyframe(self, job: KeyframeJob) -> Provenance:
        raise NotImplementedError

    def render_clip(self, job: ClipJob) -> Provenance:
        raise NotImplementedError

    def speak(self, job: NarrationJob) -> Provenance:
        """The narration stage: `job.scene.narration` read aloud in `settings.voice`."""
        raise NotImplementedError

    def compose(self, job: MusicJob) -> Provenance:
        """The music stage: a bed for the whole film."""
        raise NotImplementedError
