"""The storyboard: the scenes of a video, stored in `storyboard.json`.

The pipeline writes it once; after that the user may edit it by hand. Scenes carry stable
ids, so artifacts (`keyframes/<id>.png`, `clips/<id>.mp4`) follow a scene when scenes are
inserted, deleted or reordered. Each stage fingerprints only the fields it uses, so editing one
scene rebuilds that scene and the final cut, nothing else.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from vidpipe.errors import BadInput
from vidpipe.project.settings import CONTROL, MAX_CLIP_SECONDS, MAX_SCENES

SCENE_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"
# what the narrator says over a scene: a minute of speech is far more than a scene holds
MAX_NARRATION_CHARS = 1000
# characters of a storyboard (each one portrait; a scene names at most as many)
MAX_CHARACTERS = 8
# the characters a provider's storyboard names at most; a hand edit may name MAX_CHARACTERS
MAX_PLANNED_CHARACTERS = 3


def no_control_characters(value: Any) -> Any:
    """Refuse text with control characters other than tab and newline (see settings)."""
    if isinstance(value, str) and (found := CONTROL.search(value)):
        raise ValueError(f"must not contain control characters (found {found.group()!r})")
    return value


class Scene(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(pattern=SCENE_ID_PATTERN)]
    title: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(min_length=1, max_length=4000)]
    image_prompt: Annotated[str, Field(min_length=1, max_length=4000)]
    video_prompt: Annotated[str, Field(min_length=1, max_length=4000)]
    camera: Annotated[str, Field(max_length=200)] = "static"
    caption: Annotated[str, Field(max_length=300)] = ""
    duration: Annotated[float, Field(gt=0, le=MAX_CLIP_SECONDS, allow_inf_nan=False)]
    # what is said over the scene (may be empty); only the sound is made from it
    narration: str = ""
    # the ids of the storyboard's characters who appear in the scene (their portraits are
    # the keyframe's references)
    characters: Annotated[list[str], Field(max_length=MAX_CHARACTERS)] = []

    @field_validator("narration")
    @classmethod
    def _speakable(cls, value: str) -> str:
        if len(value) > MAX_NARRATION_CHARS:
            raise ValueError(
                f"is {len(value)} characters long, more than the {MAX_NARRATION_CHARS} a scene "
                "can hold; shorten it (or split the scene)"
            )
        return value.strip()

    @field_validator("*")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        return no_control_characters(value)

    def keyframe_fields(self) -> dict[str, Any]:
        """What the keyframe depends on (timing and camera moves do not change the still; the
        characters are fingerprinted as the characters themselves, vidpipe.inputs)."""
        return self.model_dump(
            exclude={"duration", "camera", "video_prompt", "narration", "characters"}
        )

    def clip_fields(self) -> dict[str, Any]:
        return self.model_dump(exclude={"narration", "characters"})


class Character(BaseModel):
    """Someone who appears in several scenes and must look the same in each: drawn once as a
    portrait (`characters/<id>.png`), which every keyframe of their scenes takes as a reference."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(pattern=SCENE_ID_PATTERN)]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    # how they look (age, face, hair, build, clothes and their colours)
    description: Annotated[str, Field(max_length=2000)] = ""

    @field_validator("*")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        return no_control_characters(value)


class Storyboard(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, Field(min_length=1, max_length=200)]
    characters: Annotated[list[Character], Field(max_length=MAX_CHARACTERS)] = []
    # the free-text `characters` of a storyboard written before the list (kept as it was,
    # and still part of every keyframe's prompt)
    characters_text: Annotated[str, Field(max_length=4000)] = ""
    scenes: Annotated[list[Scene], Field(min_length=1, max_length=MAX_SCENES)]

    @model_validator(mode="before")
    @classmethod
    def _free_text_characters(cls, data: Any) -> Any:
        """An older storyboard's `characters` is one text: it loads as `characters_text`."""
        if isinstance(data, dict) and isinstance(data.get("characters"), str):
            data = {**data, "characters_text": data["characters"]}
            del data["characters"]
        return data

    @field_validator("title", "characters_text")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        return no_control_characters(value)

    @model_validator(mode="after")
    def _unique_ids(self) -> Storyboard:
        seen: set[str] = set()
        for index, scene in enumerate(self.scenes, start=1):
            if scene.id in seen:
                raise ValueError(
                    f"scene {index} reuses the id {scene.id!r}; give every scene its own id"
                )
            seen.add(scene.id)
        return self

    @model_validator(mode="after")
    def _known_characters(self) -> Storyboard:
        known: set[str] = set()
        for character in self.characters:
            if character.id in known:
                raise ValueError(
                    f"two characters have the id {character.id!r}; give each its own id"
                )
            known.add(character.id)
        for index, scene in enumerate(self.scenes, start=1):
            for character_id in scene.characters:
                if character_id not in known:
                    listed = ", ".join(sorted(known)) or "none"
                    raise ValueError(
                        f"scene {index} (id {scene.id!r}) names the character {character_id!r}, "
                        f"which is not in the storyboard's characters (ids: {listed}); add it "
                        "there or fix the id"
                    )
        return self

    def scene(self, scene_id: str) -> Scene:
        for scene in self.scenes:
            if scene.id == scene_id:
                return scene
        raise KeyError(scene_id)

    def character(self, character_id: str) -> Character:
        return next(each for each in self.characters if each.id == character_id)

    def cast(self, scene: Scene) -> list[Character]:
        """The characters who appear in `scene`, in its order."""
        return [self.character(character_id) for character_id in scene.characters]

    def total_duration(self) -> float:
        return sum(scene.duration for scene in self.scenes)


def new_character_id(name: str, taken: set[str]) -> str:
    """An id for a character called `name` (`the-keeper`), none of `taken`."""
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:36] or "character"
    return next(
        f"{base}{n or ''}" for n in range(len(taken) + 1) if f"{base}{n or ''}" not in taken
    )


def within_limits(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """`data` for `model` with every text longer than its field allows cut at a word, ending
    in an ellipsis: for providers, whose words (a template's, a model's) may run long."""
    fitted = dict(data)
    for name, value in data.items():
        field = model.model_fields.get(name)
        limits = (
            [m.max_length for m in field.metadata if getattr(m, "max_length", None)]
            if field
            else []
        )
        if isinstance(value, str) and limits and len(value) > limits[0]:
            cut = value[: limits[0] - 1]
            fitted[name] = (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(" ,;:") + "…"
    return fitted


def load_storyboard(path: Path) -> Storyboard:
    """Load and validate `storyboard.json`; errors name the file, the scene and the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"{path}: missing; resume the project to generate it") from None
    except UnicodeDecodeError as err:
        raise BadInput(f"{path}: not valid UTF-8 text ({err.reason}); fix the file") from None
    return parse_storyboard(text, str(path))


def parse_storyboard(text: str, source: str) -> Storyboard:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise BadInput(
            f"{source}: not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}; "
            "fix the file and resume"
        ) from None
    except (RecursionError, ValueError):  # nested too deeply; a number of too many digits
        raise BadInput(f"{source}: not a storyboard (nested too deeply, or a number too long "
                       "to read); fix the file and resume") from None  # fmt: skip
    try:
        return Storyboard.model_validate(data)
    except ValidationError as err:
        raise BadInput(f"{source}: {_describe(err, data)}; fix the file and resume") from None


def _describe(err: ValidationError, data: Any) -> str:
    """Name scenes by position and id (`scene 3 (id 's3')`) instead of pydantic's `scenes.2`."""
    problems = []
    for problem in err.errors():
        loc = list(problem["loc"])
        where = ".".join(str(part) for part in loc)
        if len(loc) >= 2 and loc[0] == "scenes" and isinstance(loc[1], int):
            index = loc[1]
            scene_data = data["scenes"][index] if isinstance(data, dict) else None
            scene_id = scene_data.get("id") if isinstance(scene_data, dict) else None
            name = f"scene {index + 1}" + (f" (id {scene_id!r})" if scene_id else "")
            field = ".".join(str(part) for part in loc[2:]) or "scene"
            where = f"{name}, field {field!r}"
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "missing":
            message = "missing (required)"
        got = problem.get("input")
        if isinstance(got, str) and len(got) > 60:
            got = got[:57] + "..."
        shown = (
            f" (got {got!r})"
            if isinstance(got, str | int | float)
            and not isinstance(got, bool)
            and problem["type"] != "missing"
            else ""
        )
        problems.append(f"{where}: {message}{shown}" if where else message)
    return "; ".join(problems)


def storyboard_json(storyboard: Storyboard) -> str:
    return json.dumps(storyboard.model_dump(), indent=2, ensure_ascii=False) + "\n"


def fingerprint(data: Any) -> str:
    """Stable text for `config_changed`-style comparisons."""
    return json.dumps(data, sort_keys=True, ensure_ascii=False)
