"""What the user asked for: the settings stored in `project.yaml`.

The same model validates command-line values (`name=value` words), the YAML file and, later,
API requests, so every entry point gives the same error for the same mistake.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from vidpipe.errors import BadInput
from vidpipe.project.stages import (
    CUT_TASKS,
    FINAL_TASK,
    MUSIC_TASK,
    SOUND_STAGES,
    STAGES,
    SUBTITLES_TASK,
)

AspectRatio = Literal["16:9", "9:16", "1:1"]
Resolution = Literal["360p", "480p", "720p", "1080p"]
# how a keyframe or a hand-placed clip of another shape than the frame fills it: centre-cropped,
# or whole with black bars (vidpipe.media.stills.Fit takes the same values)
Fit = Literal["crop", "bars"]
DEFAULT_FIT: Fit = "crop"

MAX_PROMPT_CHARS = 4000
MAX_SCENES = 64
MAX_CLIP_SECONDS = 60.0
MAX_VOICE_CHARS = 100


class Providers(BaseModel):
    """Which provider serves each stage (see vidpipe.providers)."""

    model_config = ConfigDict(extra="forbid")

    storyboard: str = "local"
    keyframe: str = "local"
    clip: str = "local"
    # the sound (`provider=` sets only the picture stages above; these have their own words)
    narration: str = "local"
    music: str = "local"


class ProjectSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: Annotated[str, Field(min_length=1, max_length=MAX_PROMPT_CHARS)]
    style: Annotated[str, Field(max_length=200)] = "cinematic"
    aspect_ratio: AspectRatio = "16:9"
    resolution: Resolution = "720p"
    fit: Fit = DEFAULT_FIT
    clip_duration: Annotated[float, Field(gt=0, le=MAX_CLIP_SECONDS, allow_inf_nan=False)] = 8.0
    scenes: Annotated[int, Field(ge=1, le=MAX_SCENES)] = 6
    crossfade: Annotated[float, Field(ge=0, le=5, allow_inf_nan=False)] = 0.0
    fps: Literal[24] = 24
    workers: Annotated[int, Field(ge=1, le=16)] = 2
    # dollars the project may spend in all its builds (the per-run cap is `budget=`)
    project_budget: Annotated[float, Field(ge=0)] | None = None
    providers: Providers = Providers()
    # each provider's own settings by provider name (e.g. google: {video_model: ...}),
    # checked by that provider's options model (vidpipe.providers.check_providers, which also
    # writes the defaults of those in use)
    provider_options: dict[str, dict[str, Any]] = {}
    # sound: a narrator reads each scene's narration over a music bed, with subtitles
    narration: bool = True
    music: bool = True
    subtitles: bool = True
    burn_subtitles: bool = False  # draw the subtitles into the picture (re-encodes it)
    # the narrator's voice, as the narration provider names it; None: the provider's default
    # (which voices exist is the provider's to say: Provider.check)
    voice: Annotated[str, Field(max_length=MAX_VOICE_CHARS)] | None = None

    @field_validator("voice")
    @classmethod
    def _named_voice(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError(
                "is empty; name a voice of the narration provider, or leave voice out for its "
                "default"
            )
        return value.strip() if value is not None else None

    @model_validator(mode="after")
    def _burn_needs_subtitles(self) -> ProjectSettings:
        if self.burn_subtitles and not self.subtitles:
            raise ValueError("burn_subtitles=1 needs subtitles=1; turn subtitles on or burning off")
        return self

    def has_sound(self) -> bool:
        """Whether the final cut gets a soundtrack of its own (else: the clips' sound)."""
        return self.narration or self.music or self.subtitles

    def cut_tasks(self) -> list[str]:
        """The tasks that re-cut the film from its clips (`vidpipe stitch`), in order."""
        if not self.has_sound():
            return [FINAL_TASK]
        off = {MUSIC_TASK: not self.music, SUBTITLES_TASK: not self.subtitles}
        return [task for task in CUT_TASKS if not off.get(task)]

    @field_validator("prompt", "style")
    @classmethod
    def _printable(cls, value: str) -> str:
        return printable_text(value)

    def frame_size(self) -> tuple[int, int]:
        """(width, height) in pixels, both even, for the aspect ratio and resolution."""
        short = int(self.resolution.removesuffix("p"))
        if self.aspect_ratio == "1:1":
            return short, short
        long = round(short * 16 / 9 / 2) * 2
        return (long, short) if self.aspect_ratio == "16:9" else (short, long)


# control characters (terminal escapes among them) other than tab and newline
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable_text(value: str) -> str:
    """Text a user gave, stripped; refused when blank or holding control characters (a
    terminal escape sequence in a prompt would reach every terminal that lists it)."""
    found = CONTROL.search(value)
    if found:
        raise ValueError(
            f"must not contain control characters (found {found.group()!r} at character "
            f"{found.start() + 1})"
        )
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


# Command-line words that set a stage's provider, besides `provider=` for all stages.
PROVIDER_WORDS = {f"{stage}_provider": stage for stage in (*STAGES, *SOUND_STAGES)}
SETTING_WORDS = set(ProjectSettings.model_fields) - {"providers", "provider_options"}


def settings_from_words(
    words: dict[str, str], base: dict[str, Any] | None = None
) -> ProjectSettings:
    """Build settings from `name=value` command-line words over `base` (a project.yaml dict)."""
    data: dict[str, Any] = dict(base or {})
    providers = dict(data.get("providers") or {})
    options = {name: dict(given) for name, given in (data.get("provider_options") or {}).items()}
    for name, value in words.items():
        if "." in name:  # <provider>.<option>=value, e.g. google.video_model=...
            provider, _, option = name.partition(".")
            options.setdefault(provider, {})[option] = value
        elif name == "provider":
            providers.update({stage: value for stage in STAGES})
        elif name in PROVIDER_WORDS:
            providers[PROVIDER_WORDS[name]] = value
        elif name in SETTING_WORDS:
            data[name] = value
        else:
            known = sorted(SETTING_WORDS | set(PROVIDER_WORDS) | {"provider"})
            raise BadInput(
                f"unknown option {name}=...; known options: {', '.join(known)}, "
                "and <provider>.<option> for a provider's own settings"
            )
    if providers:
        data["providers"] = providers
    if options:
        data["provider_options"] = options
    return validate_settings(data, source="command line")


def validate_settings(data: Any, source: str) -> ProjectSettings:
    try:
        return ProjectSettings.model_validate(data)
    except ValidationError as err:
        raise BadInput(f"{source}: {describe_validation_error(err)}") from None


def _short(value: Any, limit: int = 60) -> str:
    """A value as an error shows it: a long one cut, saying how long it was."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(str(value))} characters)"


def describe_validation_error(err: ValidationError, prefix: str = "") -> str:
    """One line per problem: `field: what is wrong (got: value)`."""
    lines = []
    for problem in err.errors():
        where = ".".join(str(part) for part in problem["loc"])
        got = problem.get("input")
        shown = "" if isinstance(got, dict | list) or got is None else f" (got {_short(got)})"
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"{prefix}{where}: {message}{shown}" if where else f"{prefix}{message}")
    return "; ".join(lines)
