"""The Google provider's settings (`provider_options.google` in project.yaml) and its model
catalog (google_models.yaml: defaults, prices, what each video model can do).

Kept apart from the provider so that checking settings never imports the SDK.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from vidpipe.errors import BadInput

CATALOG_ENV = "VIDPIPE_GOOGLE_MODELS"
CATALOG_FILE = Path(__file__).with_name("google_models.yaml")


Usd = Annotated[float, Field(ge=0)]
# a rate for every resolution, or one per resolution (Google bills 4k higher)
Rates = Usd | dict[str, Usd]
# the height in pixels of each resolution Veo renders
VIDEO_HEIGHTS = {"720p": 720, "1080p": 1080, "4k": 2160}
MAX_ASSET_IMAGES = 3  # Veo's limit on asset reference images per clip
LOCATION_ENV = "GOOGLE_CLOUD_LOCATION"
# the kinds of call, each with its model and location settings (google.<kind>_model, ...)
Kind = Literal["text", "image", "video", "speech"]
# a seed both Gemini (int32) and Veo (uint32) take
MAX_SEED = 2**31 - 1
APP_LABEL = {"app": "vidpipe"}
PROJECT_LABEL = "vidpipe_project"  # the label key that holds the project's id
MAX_LABEL = 63  # Google's limit on a label value's length


def _seed(value: Any) -> Any:
    """A seed as the command line or project.yaml gives it: `auto`, a number, or `none`
    (also off, null or empty: send no seed)."""
    if isinstance(value, str):
        value = value.strip().lower()
        if value in ("none", "off", "null", ""):
            return None
        if value == "auto":
            return value
        value = int(value) if value.isdigit() else value
    if value is None:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SEED:
        return value
    raise ValueError(f"must be auto, none, or a number from 0 to {MAX_SEED}")


# "auto": derived from the project's id and the scene's (or character's), stable across
# resumes; None: none sent (the model picks one); a number: that seed for every call
Seed = Annotated[Literal["auto"] | int | None, BeforeValidator(_seed)]
# a Vertex AI location (us-central1, global, ...); None: the default for the call's model
Location = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,62}$")] | None


class Served(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # the Vertex AI locations that serve the model (the first is its default when
    # GOOGLE_CLOUD_LOCATION is not one of them); None: every location the user's is
    locations: Annotated[list[str], Field(min_length=1)] | None = None


class VideoModel(Served):
    usd_per_second: Rates  # with audio
    usd_per_second_silent: Rates | None = None  # with audio=false (None: as with audio)
    durations: Annotated[list[int], Field(min_length=1)]
    resolutions: list[str]
    aspect_ratios: list[str]
    last_frame: bool = False
    # takes up to MAX_ASSET_IMAGES asset reference images (instead of a first frame)
    asset_references: bool = False

    def rate(self, name: str, resolution: str, audio: bool) -> float:
        """Dollars per second of video at `resolution`, with or without audio."""
        silent = not audio and self.usd_per_second_silent is not None
        rates = self.usd_per_second_silent if silent else self.usd_per_second
        if not isinstance(rates, dict):
            return float(rates or 0.0)
        if resolution not in rates:
            kind = "silent " if silent else ""
            raise BadInput(
                f"the model catalog {catalog_path()} has no price for {kind}{resolution} video "
                f"of {name}; add it there (usd_per_second{'_silent' if silent else ''}) or "
                "choose another google.video_resolution"
            )
        return rates[resolution]


class TextModel(Served):
    """A Gemini text model, billed by the token: the prompt at the input rate, the answer and
    the model's thinking at the output rate."""

    usd_per_million_input_tokens: Usd
    usd_per_million_output_tokens: Usd  # thinking tokens included, as Google bills them

    def usd(self, input_tokens: int, output_tokens: int) -> float:
        """Dollars for a call of `input_tokens` in and `output_tokens` out (thinking too)."""
        given = input_tokens * self.usd_per_million_input_tokens
        return (given + output_tokens * self.usd_per_million_output_tokens) / 1e6


class ImageModel(Served):
    usd_per_image: Annotated[float, Field(ge=0)]


class SpeechModel(Served):
    """A Gemini speech (TTS) model: billed by the second of audio it makes."""

    usd_per_second: Annotated[float, Field(ge=0)]
    voices: Annotated[list[str], Field(min_length=1)]  # the first one is the default


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid")

    defaults: dict[Literal["text_model", "image_model", "video_model", "speech_model"], str]
    text: dict[str, TextModel]
    image: dict[str, ImageModel]
    video: dict[str, VideoModel]
    speech: dict[str, SpeechModel] = {}


def catalog_path() -> Path:
    return Path(os.environ.get(CATALOG_ENV) or CATALOG_FILE)


@functools.cache
def _load_catalog(path: Path) -> Catalog:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Catalog.model_validate(data)
    except FileNotFoundError:
        raise BadInput(f"{path}: the Google model catalog is missing") from None
    except yaml.YAMLError as err:
        raise BadInput(f"{path}: not valid YAML ({err}); fix the file") from None
    except ValidationError as err:
        from vidpipe.project.settings import describe_validation_error

        raise BadInput(f"{path}: {describe_validation_error(err)}; fix the file") from None


def catalog() -> Catalog:
    return _load_catalog(catalog_path())


def _default(kind: str) -> Any:
    return lambda: catalog().defaults[kind]  # type: ignore[index]


class GoogleOptions(BaseModel):
    """Settings of the Google provider; `google.<name>=value` on the command line."""

    model_config = ConfigDict(extra="forbid")

    text_model: Annotated[str, Field(min_length=1)] = Field(default_factory=_default("text_model"))
    image_model: Annotated[str, Field(min_length=1)] = Field(
        default_factory=_default("image_model")
    )
    video_model: Annotated[str, Field(min_length=1)] = Field(
        default_factory=_default("video_model")
    )
    # the narrator (narration_provider=google); the voice is the project's `voice=`
    speech_model: Annotated[str, Field(min_length=1)] = Field(
        default_factory=_default("speech_model")
    )
    # the storyboard call's limits, sent with it: the most tokens it may write, its thinking
    # included (Gemini counts thoughts toward max_output_tokens), which the estimate and
    # budget= count in full; and how hard it thinks (Gemini 3.5+ refuse a thinking budget)
    text_max_tokens: Annotated[int, Field(ge=256, le=65536)] = 8192
    text_thinking_level: Literal["minimal", "low", "medium", "high", "xhigh"] = "low"
    # what Veo renders; the clip is then scaled to the project's resolution
    video_resolution: Literal["720p", "1080p", "4k"] = "720p"
    negative_prompt: Annotated[str, Field(max_length=1000)] = ""
    audio: bool = True
    person_generation: Literal["allow_all", "allow_adult", "dont_allow"] = "allow_adult"
    # keyframes of later scenes get the first scene's keyframe as a reference image
    reference_images: bool = True
    # a clip ends on the next scene's keyframe (Veo's last frame), for continuous shots
    last_frame: bool = False
    # a clip of a scene with characters is made from the prompt and up to 3 of their
    # portraits (Veo's asset reference images), not from its keyframe; not with last_frame
    asset_references: bool = False
    # paid calls running at once (Veo quotas are small); `workers` bounds all steps
    keyframe_concurrency: Annotated[int, Field(ge=1, le=32)] = 4
    clip_concurrency: Annotated[int, Field(ge=1, le=32)] = 2
    poll_interval: Annotated[float, Field(gt=0, le=600)] = 10.0  # seconds between polls
    clip_timeout: Annotated[float, Field(gt=0)] = 1200.0  # seconds to wait for one clip
    retry_attempts: Annotated[int, Field(ge=1, le=20)] = 6  # for 408/429/5xx answers
    request_timeout: Annotated[float, Field(gt=0, le=3600)] = 180.0  # seconds, every HTTP call
    retry_initial_delay: Annotated[float, Field(ge=0, le=300)] = 2.0  # then doubling
    # sent with the storyboard, image and Veo calls, and recorded (see Seed)
    seed: Seed = "auto"
    # where each kind of call goes on Vertex AI (see location())
    text_location: Location = None
    image_location: Location = None
    video_location: Location = None
    speech_location: Location = None

    def price_of_text(self) -> TextModel:
        return _priced(catalog().text, self.text_model, "text_model")

    def price_of_image(self) -> ImageModel:
        return _priced(catalog().image, self.image_model, "image_model")

    def video(self) -> VideoModel:
        return _priced(catalog().video, self.video_model, "video_model")

    def speech(self) -> SpeechModel:
        return _priced(catalog().speech, self.speech_model, "speech_model")

    def location(self, kind: Kind) -> str | None:
        """The Vertex AI location of `kind`'s calls: google.<kind>_location, else
        GOOGLE_CLOUD_LOCATION, unless the catalog says the model is served elsewhere only
        (Gemini image models: on global), then the first place it is served."""
        chosen: str | None = getattr(self, f"{kind}_location")
        if chosen:
            return chosen
        given = os.environ.get(LOCATION_ENV) or None
        served = self._served(kind).locations
        return served[0] if served and given not in served else given

    def _served(self, kind: Kind) -> Served:
        models = {
            "text": self.price_of_text,
            "image": self.price_of_image,
            "video": self.video,
            "speech": self.speech,
        }
        return models[kind]()

    def seed_for(self, project_id: str, what: str) -> int | None:
        """The seed of the call that makes `what` (a scene's id, `character:<id>`,
        `storyboard`) of the project: google.seed, or one derived from both ids."""
        if self.seed != "auto":
            return self.seed
        digest = hashlib.sha256(f"{project_id}/{what}".encode()).digest()
        return int.from_bytes(digest[:4], "big") & MAX_SEED

    def chosen_seed(self) -> dict[str, int]:
        """The seed as a part of a fingerprint: only a number the user set, so that setting
        one re-makes what it seeds; `auto` (the same for every build of the project) and none
        keep the fingerprints of what was made before the setting existed."""
        return {"seed": self.seed} if isinstance(self.seed, int) else {}


def labels(project_id: str) -> dict[str, str]:
    """The labels of every call (Vertex AI puts them on the bill): the app, and the project's
    id as a label value may hold it (lower case letters, digits, `_` and `-`, 63 at most)."""
    value = re.sub(r"[^a-z0-9_-]", "_", project_id.lower())[:MAX_LABEL]
    return {**APP_LABEL, PROJECT_LABEL: value} if value else dict(APP_LABEL)


def _priced(models: dict[str, Any], name: str, setting: str) -> Any:
    if name not in models:
        raise BadInput(
            f"google.{setting}={name} has no price in the model catalog {catalog_path()}; "
            f"add it there or use one of: {', '.join(sorted(models))}"
        )
    return models[name]
