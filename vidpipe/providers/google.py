"""The Google provider: a Gemini storyboard, keyframes from a Gemini image model, Veo clips.

Google is configured the SDK's own way, through the environment: `GOOGLE_API_KEY` (Gemini
Developer API: storyboards and keyframes), or `GOOGLE_GENAI_USE_VERTEXAI=true` with
`GOOGLE_CLOUD_PROJECT`, `GOOGLE_CLOUD_LOCATION` and application default credentials (every
stage; Veo runs only on Vertex AI). Models, prices and limits come from the model catalog
(google_options), never from this code.

Money is spent once: a Veo operation's name is saved before it is polled, so a killed build
collects the same clip on resume instead of paying for a new one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, Field, ValidationError, create_model

from vidpipe import fsutil, process, templates
from vidpipe.errors import BadInput, NothingPaid, PaidFailed, StepFailed
from vidpipe.project.costs import Charge, total
from vidpipe.project.settings import STAGES, describe_validation_error
from vidpipe.project.stages import CAST_STAGE
from vidpipe.project.storyboard import (
    MAX_PLANNED_CHARACTERS,
    Character,
    Scene,
    Storyboard,
    new_character_id,
    within_limits,
)
from vidpipe.providers import google_env
from vidpipe.providers.base import BILLED, ClipJob, KeyframeJob, PortraitJob, Provenance, Provider
from vidpipe.providers.google_options import (
    MAX_ASSET_IMAGES,
    VIDEO_HEIGHTS,
    GoogleOptions,
    Kind,
)
from vidpipe.providers.slots import slot

if TYPE_CHECKING:  # the SDK takes seconds to import: only a call to Google imports it
    from google import genai
    from google.genai import errors as genai_errors
    from google.genai import types

STORYBOARD_TEMPLATE = "google/storyboard.j2"
KEYFRAME_TEMPLATE = "google/keyframe.j2"
PORTRAIT_TEMPLATE = "google/portrait.j2"
CAST_TEMPLATE = "google/keyframe_cast.j2"  # added to a keyframe's prompt when it has a cast
CLIP_TEMPLATE = "google/clip.j2"
# the tokens of a turn around its text (role and structure), beyond the text's own
FRAMING_TOKENS = 64
# person_generation as the image models spell it (Veo takes the setting's own words)
IMAGE_PERSON_GENERATION = {
    "allow_all": "ALLOW_ALL",
    "allow_adult": "ALLOW_ADULT",
    "dont_allow": "ALLOW_NONE",
}

VEO_NEEDS_VERTEX = (
    "Veo clips need Vertex AI, and only a Gemini Developer API key is configured: set "
    "GOOGLE_GENAI_USE_VERTEXAI=true, GOOGLE_CLOUD_PROJECT and GOOGLE_CLOUD_LOCATION with "
    "application default credentials (gcloud auth application-default login), or make the "
    "clips offline with clip_provider=local; nothing was spent"
)


class SceneDraft(BaseModel):
    """One scene as the text model writes it (ids and durations are vidpipe's)."""

    title: str
    description: str
    image_prompt: str
    video_prompt: str
    camera: str
    caption: str
    narration: str = Field(
        "", description="what a narrator says over the scene: a sentence that fits its length"
    )
    characters: list[str] = Field(
        default_factory=list, description="the names of the characters who appear in the scene"
    )


class CharacterDraft(BaseModel):
    """A recurring character as the text model writes it (the id is vidpipe's)."""

    name: str
    description: str


def storyboard_draft(count: int) -> type[BaseModel]:
    """The answer's JSON schema: exactly `count` scenes, a few characters."""
    scenes = Annotated[list[SceneDraft], Field(min_length=count, max_length=count)]
    cast = Annotated[list[CharacterDraft], Field(max_length=MAX_PLANNED_CHARACTERS)]
    return create_model(
        "StoryboardDraft", title=(str, ...), characters=(cast, ...), scenes=(scenes, ...)
    )


def cast_from(answer: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The storyboard's characters from the model's answer, and each one's name -> id."""
    cast: list[dict[str, Any]] = []
    ids: dict[str, str] = {}
    for drafted in answer.get("characters") or []:
        fitted = within_limits(Character, drafted)
        character_id = new_character_id(fitted["name"], {each["id"] for each in cast})
        cast.append({**fitted, "id": character_id})
        ids.setdefault(drafted["name"].strip().lower(), character_id)
    return cast, ids


@dataclass(frozen=True)
class VideoRequest:
    model: str
    prompt: str
    seconds: int
    config: dict[str, Any]
    image: bytes | None  # the first frame (None: made from `assets` instead)
    last_frame: bytes | None
    assets: tuple[bytes, ...] = ()  # asset reference images (the cast's portraits)

    @property
    def key(self) -> str:
        """Identifies the request: a saved operation is collected only for the same one."""
        digest = hashlib.sha256()
        described = {"model": self.model, "prompt": self.prompt, "config": self.config}
        digest.update(json.dumps(described, sort_keys=True).encode())
        digest.update(hashlib.sha256(self.image or b"").digest())
        digest.update(hashlib.sha256(self.last_frame or b"").digest())
        for asset in self.assets:  # (none: the key of a request made before assets existed)
            digest.update(hashlib.sha256(asset).digest())
        return digest.hexdigest()


class GoogleProvider(Provider):
    name = "google"
    stages = frozenset(STAGES)
    options_model = GoogleOptions
    draws_portraits = True

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.options = GoogleOptions.model_validate(settings.provider_options.get(self.name, {}))
        self._clients: dict[str | None, genai.Client] = {}  # by location

    # --- what the core asks -------------------------------------------------------------
    def fingerprint(self, stage: str) -> dict[str, Any]:
        o = self.options
        used: dict[str, Any]
        if stage == "storyboard":
            used = {"model": o.text_model, "template": templates.source_text(STORYBOARD_TEMPLATE)}
        elif stage == "keyframe":
            used = {
                "model": o.image_model,
                "reference_images": o.reference_images,
                "person_generation": o.person_generation,
                "template": templates.source_text(KEYFRAME_TEMPLATE),
                **o.chosen_seed(),
            }
        elif stage == CAST_STAGE:
            used = {"template": templates.source_text(CAST_TEMPLATE)}
        elif stage == "portrait":
            used = {
                "model": o.image_model,
                "person_generation": o.person_generation,
                "template": templates.source_text(PORTRAIT_TEMPLATE),
                **o.chosen_seed(),
            }
        else:
            template = templates.source_text(CLIP_TEMPLATE)
            used = {**self._clip_settings(), "template": template, **o.chosen_seed()}
        return {"provider": self.name, **used}

    def scene_fields(self, stage: str) -> frozenset[str] | None:
        # what the prompt templates and the Veo request read; title, description and caption
        # are for people (and the offline provider), and editing them costs nothing here
        if stage == "keyframe":
            return frozenset({"image_prompt"})
        if stage == "clip":
            return frozenset({"video_prompt", "camera", "duration"})
        return None

    def check(self, stage: str) -> None:
        vertex = google_env.uses_vertex()
        s, o = self.settings, self.options
        if stage == "storyboard":
            o.price_of_text()
        elif stage == "keyframe":
            o.price_of_image()
        else:
            if not vertex:
                raise BadInput(VEO_NEEDS_VERTEX)
            video = o.video()
            if s.aspect_ratio not in video.aspect_ratios:
                raise BadInput(
                    f"{o.video_model} makes {' or '.join(video.aspect_ratios)} clips, not "
                    f"aspect_ratio={s.aspect_ratio}; change aspect_ratio or use clip_provider=local"
                )
            if o.video_resolution not in video.resolutions:
                raise BadInput(
                    f"{o.video_model} renders {', '.join(video.resolutions)}, not "
                    f"google.video_resolution={o.video_resolution}"
                )
            self._check_resolution()
            self._check_assets(video.asset_references)
            video.rate(o.video_model, o.video_resolution, o.audio)
            self.clip_seconds(s.clip_duration)

    def _check_resolution(self) -> None:
        """Veo's resolution must not be above what the project needs: it would be paid for
        and scaled away."""
        s, o = self.settings, self.options
        height = min(s.frame_size())
        covering = [name for name, h in VIDEO_HEIGHTS.items() if h >= height] or ["4k"]
        if VIDEO_HEIGHTS[o.video_resolution] > VIDEO_HEIGHTS[covering[0]]:
            raise BadInput(
                f"google.video_resolution={o.video_resolution} is above the project's "
                f"resolution={s.resolution}: the clips would be paid for at {o.video_resolution} "
                f"and scaled down; use google.video_resolution={covering[0]}, or a higher "
                "resolution= for the project"
            )

    def _check_assets(self, allowed: bool) -> None:
        o = self.options
        if o.asset_references and not allowed:
            raise BadInput(
                f"{o.video_model} takes no asset reference images (google.asset_references=1); "
                "use a model the catalog marks asset_references: true, or asset_references=0"
            )
        if o.asset_references and o.last_frame:
            raise BadInput(
                "Veo takes asset reference images or a last frame, not both: set "
                "google.asset_references=0 or google.last_frame=0"
            )

    def references(self, stage: str, storyboard: Storyboard, scene: Scene) -> list[str]:
        ids = [each.id for each in storyboard.scenes]
        if stage == "keyframe" and self.options.reference_images and scene.id != ids[0]:
            return [ids[0]]
        if stage == "clip" and self._last_frame_on() and scene.id != ids[-1]:
            return [ids[ids.index(scene.id) + 1]]
        return []

    def portraits(self, stage: str, storyboard: Storyboard, scene: Scene) -> list[str]:
        # a keyframe shows its scene's characters as their portraits do (Gemini image models
        # take many input images: the portraits, then the style frame)
        if stage == "clip":  # Veo's asset references, when asked for
            return (
                list(scene.characters[:MAX_ASSET_IMAGES]) if self.options.asset_references else []
            )
        return list(scene.characters) if stage == "keyframe" else []

    def estimate(self, stage: str, seconds: float) -> list[Charge]:
        o = self.options
        if stage == "storyboard":  # the most the call may cost: it pays by the token
            given, written = self._text_bound()
            usd = o.price_of_text().usd(given, written)
            return [Charge(o.text_model, "token", given + written, usd)]
        if stage in ("keyframe", "portrait"):
            return [Charge(o.image_model, "image", 1, o.price_of_image().usd_per_image)]
        rate = o.video().rate(o.video_model, o.video_resolution, o.audio)
        paid = self.clip_seconds(seconds)
        return [Charge(o.video_model, "second", paid, paid * rate)]

    def resumes_paid_work(self, job: KeyframeJob | ClipJob) -> bool:
        if not isinstance(job, ClipJob):
            return False
        try:
            return self._saved_operation(job, self._video_request(job)) is not None
        except FileNotFoundError:  # its keyframe is not drawn yet
            return False

    def clip_seconds(self, seconds: float) -> int:
        """The clip length to ask Veo for (and pay for): the shortest that covers `seconds`."""
        durations = sorted(self.options.video().durations)
        fitting = [each for each in durations if each >= seconds - 1e-9]
        if not fitting:
            raise BadInput(
                f"{self.options.video_model} makes clips of at most {durations[-1]} s, and a "
                f"scene asks for {seconds:g} s; use clip_duration={durations[-1]} or less (or "
                "shorten the scene in storyboard.json)"
            )
        return fitting[0]

    # --- the stages ---------------------------------------------------------------------
    def write_storyboard(self) -> tuple[Storyboard, Provenance]:
        sdk = _sdk()
        s, o = self.settings, self.options
        prompt, draft = self._storyboard_request()
        client = self.client("text")
        # (not in its fingerprint: a new seed re-makes the pictures, not every scene's text)
        seed = o.seed_for(self.project_id, "storyboard")
        config = sdk.types.GenerateContentConfig(
            **self._tagged(client, seed),
            response_mime_type="application/json",
            response_schema=draft,
            # the most output the call may be billed for, its thinking included, which the
            # estimate counts; a level, not a thinking budget (Gemini 3.5+ refuse one)
            max_output_tokens=o.text_max_tokens,
            thinking_config=sdk.types.ThinkingConfig(
                thinking_level=sdk.types.ThinkingLevel(o.text_thinking_level.upper())
            ),
        )
        with self._calling("text_model", o.text_model):
            response = client.models.generate_content(
                model=o.text_model, contents=prompt, config=config
            )
        usd, billed, tokens = self._text_paid(response)
        try:
            storyboard = self._storyboard_from(response, draft)
        except StepFailed as err:  # the answer is paid for all the same
            raise PaidFailed(str(err), usd, billed) from None
        return storyboard, Provenance(
            self.name,
            o.text_model,
            prompt=prompt,
            cost_usd=usd,
            extra={"scenes": s.scenes, BILLED: billed, "tokens": tokens, "seed": seed},
        )

    def _storyboard_request(self) -> tuple[str, type[BaseModel]]:
        """The storyboard call's prompt, and the schema of its answer."""
        s = self.settings
        prompt = templates.render_string(
            templates.source_text(STORYBOARD_TEMPLATE),
            prompt=s.prompt,
            style=s.style,
            scenes=s.scenes,
            seconds=f"{s.clip_duration:g}",
            aspect_ratio=s.aspect_ratio,
        )
        return prompt, storyboard_draft(s.scenes)

    def _text_bound(self) -> tuple[int, int]:
        """The most tokens the storyboard call may be billed for: (input, output). A token
        holds at least one byte of UTF-8 text (Gemini's tokenizer falls back to bytes), so
        the prompt and the schema are at most their bytes; the output, thinking included (as
        Google counts it), is at most the call's max_output_tokens."""
        prompt, draft = self._storyboard_request()
        sent = prompt + json.dumps(draft.model_json_schema())
        return len(sent.encode()) + FRAMING_TOKENS, self.options.text_max_tokens

    def _text_paid(
        self, response: types.GenerateContentResponse
    ) -> tuple[float, str, dict[str, int] | None]:
        """What the storyboard call cost, by the answer's token counts: (dollars, what was
        billed, the counts). An answer without them is charged the most it may cost."""
        price = self.options.price_of_text()
        counts = _sdk().token_counts(response)
        if counts is None:
            given, written = self._text_bound()
            billed = (
                f"the most it may cost, {given} input and {written} output tokens: the answer "
                "had no token counts (usage_metadata)"
            )
            return price.usd(given, written), billed, None
        given, answered, thought = counts
        billed = f"{given} input, {answered} output and {thought} thinking tokens"
        tokens = {"input": given, "output": answered, "thinking": thought}
        return price.usd(given, answered + thought), billed, tokens

    def _storyboard_from(
        self, response: types.GenerateContentResponse, draft: type[BaseModel]
    ) -> Storyboard:
        sdk = _sdk()
        o = self.options
        model = o.text_model
        if sdk.cut_off(response):
            raise StepFailed(
                f"{model} was cut off at google.text_max_tokens={o.text_max_tokens} tokens "
                "(its thinking included) before the storyboard was complete, so none was "
                "written; raise google.text_max_tokens, or lower google.text_thinking_level "
                f"(now {o.text_thinking_level}), or ask for fewer scenes, then resume"
            )
        text = response.text
        if not text:
            raise StepFailed(
                f"{model} returned no storyboard ({sdk.why_empty(response)}); resume to ask again, "
                "or write storyboard.json by hand"
            )
        try:
            answer = draft.model_validate_json(text).model_dump()
            cast, ids = cast_from(answer)
            scenes = [
                within_limits(
                    Scene,
                    {
                        **scene,
                        "id": f"s{number}",
                        "duration": self.settings.clip_duration,
                        # the names it gave, as ids (a name it did not list is left out)
                        "characters": _ids_of(scene.get("characters") or [], ids),
                    },
                )
                for number, scene in enumerate(answer["scenes"], start=1)
            ]
            title = within_limits(Storyboard, {"title": answer["title"]})["title"]
            return Storyboard.model_validate({"title": title, "characters": cast, "scenes": scenes})
        except ValidationError as err:
            raise StepFailed(
                f"{model} answered with a malformed storyboard: {describe_validation_error(err)}; "
                "resume to ask again, or write storyboard.json by hand"
            ) from None

    def draw_keyframe(self, job: KeyframeJob) -> Provenance:
        s, scene = job.settings, job.scene
        used = self.references("keyframe", job.storyboard, scene)
        cast = job.storyboard.cast(scene)
        prompt = templates.render_string(
            templates.source_text(KEYFRAME_TEMPLATE),
            scene=scene,
            style=s.style,
            aspect_ratio=s.aspect_ratio,
            characters=job.storyboard.characters_text,
            references=bool(used),
        )
        if cast:
            source = templates.source_text(CAST_TEMPLATE)
            prompt += "\n" + templates.render_string(source, cast=cast, first=len(used))
        # the style frame first (as before there were portraits), then the portraits in the
        # order the prompt names them
        images = [job.references[r] for r in used] + [job.portraits[who.id] for who in cast]
        fix = "the scene's image_prompt"
        what = (f"scene {scene.id}", "keyframe", fix)
        seed = self.options.seed_for(self.project_id, scene.id)
        data = self._draw(images, prompt, s.aspect_ratio, seed, job.paying, what)
        _sdk().save_png(data, job.out, self.options.image_model)
        return Provenance(
            self.name,
            self.options.image_model,
            prompt=prompt,
            cost_usd=total(self.estimate("keyframe", scene.duration)),
            extra={
                "references": used,
                "portraits": [who.id for who in cast],
                "aspect_ratio": s.aspect_ratio,
                "seed": seed,
            },
        )

    def draw_portrait(self, job: PortraitJob) -> Provenance:
        who, s = job.character, job.settings
        prompt = templates.render_string(
            templates.source_text(PORTRAIT_TEMPLATE), character=who, style=s.style
        )
        what = (f"character {who.id}", "portrait", "the character's description")
        seed = self.options.seed_for(self.project_id, f"character:{who.id}")
        data = self._draw([], prompt, "1:1", seed, job.paying, what)
        _sdk().save_png(data, job.out, self.options.image_model)
        return Provenance(
            self.name,
            self.options.image_model,
            prompt=prompt,
            cost_usd=total(self.estimate("portrait", 0.0)),
            extra={"seed": seed},
        )

    def _draw(
        self,
        images: list[Path],
        prompt: str,
        aspect_ratio: str,
        seed: int | None,
        paying: Callable[[], None],
        what: tuple[str, str, str],
    ) -> bytes:
        """One image from the Gemini image model, given `images` (PNG files) and `prompt`;
        `what`: whose ("scene s2"), which kind of image,
        and what to fix when none comes."""
        sdk = _sdk()
        o = self.options
        contents: list[Any] = [
            sdk.types.Part.from_bytes(data=path.read_bytes(), mime_type="image/png")
            for path in images
        ]
        contents.append(prompt)
        client = self.client("image")
        image_config = sdk.types.ImageConfig(aspect_ratio=aspect_ratio)
        if client.vertexai:  # the Developer API refuses this field
            image_config.person_generation = IMAGE_PERSON_GENERATION[o.person_generation]
        config = sdk.types.GenerateContentConfig(
            **self._tagged(client, seed),
            response_modalities=["TEXT", "IMAGE"],
            image_config=image_config,
        )
        with slot("keyframe", o.keyframe_concurrency), self._calling("image_model", o.image_model):
            paying()
            response = client.models.generate_content(
                model=o.image_model, contents=contents, config=config
            )
        data = sdk.image_bytes(response)
        if data is None:
            reason = sdk.why_empty(response)
            whose, kind, fix = what
            raise StepFailed(
                f"{whose}: {o.image_model} made no {kind} ({reason}); edit {fix} in "
                "storyboard.json and resume"
            )
        return data

    def render_clip(self, job: ClipJob) -> Provenance:
        o, scene = self.options, job.scene
        request = self._video_request(job)
        with slot("clip", o.clip_concurrency):
            saved = self._saved_operation(job, request)
            resumed = saved is not None
            if saved is None:
                name, seed = self._start_video(job, request)
            else:  # (a job saved before seeds were sent holds none)
                name, seed = saved["operation"], saved.get("seed")
            try:  # the job is made and paid for: no failure from here on is unpaid
                operation = self._wait(job, name)
            except NothingPaid as err:
                raise StepFailed(str(err)) from None
        # as Veo made it: the build brings every clip to the project's format
        job.out.write_bytes(self._video_bytes(job, operation))
        return Provenance(
            self.name,
            o.video_model,
            prompt=request.prompt,
            cost_usd=total(self.estimate("clip", scene.duration)),
            extra={
                "settings": self._clip_settings(),
                "seconds_paid": request.seconds,
                "operation": name,
                "collected_after_restart": resumed,
                "last_frame_from": self.references("clip", job.storyboard, scene),
                "seed": seed,
            },
        )

    # --- Veo ----------------------------------------------------------------------------
    def _last_frame_on(self) -> bool:
        return self.options.last_frame and self.options.video().last_frame

    def _clip_settings(self) -> dict[str, Any]:
        o = self.options
        return {
            "model": o.video_model,
            "video_resolution": o.video_resolution,
            "negative_prompt": o.negative_prompt,
            "audio": o.audio,
            "person_generation": o.person_generation,
            "last_frame": self._last_frame_on(),
            # only when on: clips made before the option existed keep their fingerprint
            **({"asset_references": True} if o.asset_references else {}),
        }

    def _video_request(self, job: ClipJob) -> VideoRequest:
        o, scene = self.options, job.scene
        seconds = self.clip_seconds(scene.duration)
        prompt = templates.render_string(
            templates.source_text(CLIP_TEMPLATE), scene=scene, style=job.settings.style
        )
        last = self.references("clip", job.storyboard, scene)
        assets = tuple(
            job.portraits[each].read_bytes()
            for each in self.portraits("clip", job.storyboard, scene)
        )
        config = {
            "aspect_ratio": job.settings.aspect_ratio,
            "duration_seconds": seconds,
            "number_of_videos": 1,
            "resolution": o.video_resolution,
            "negative_prompt": o.negative_prompt or None,
            "generate_audio": o.audio,
            "person_generation": o.person_generation,
            # a seed set as a number makes another request (the default is left out: saved
            # jobs of requests made before seeds were sent are still collected)
            **o.chosen_seed(),
        }
        return VideoRequest(
            model=o.video_model,
            prompt=prompt,
            seconds=seconds,
            config=config,
            # Veo takes asset images instead of a first frame, never both
            image=None if assets else self._frame_png(job, job.keyframe),
            last_frame=self._frame_png(job, job.references[last[0]]) if last else None,
            assets=assets,
        )

    def _frame_png(self, job: ClipJob, keyframe: Path) -> bytes:
        """The keyframe as Veo is to start (or end) from: fitted to the frame as the project's
        `fit` says, transparency on black (its own bytes when it is of the frame's shape)."""
        from vidpipe.media import stills  # Pillow only when a clip is made

        return stills.as_frame_png(keyframe, job.settings.frame_size(), job.settings.fit)

    def _saved_operation(self, job: ClipJob, request: VideoRequest) -> dict[str, Any] | None:
        """The record of the operation an earlier build started for exactly this request
        (its name under `operation`), if any."""
        if job.pending is None:
            return None
        try:
            saved = json.loads(job.pending.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        found = saved.get("request") == request.key and saved.get("operation")
        return saved if found else None

    def _start_video(self, job: ClipJob, request: VideoRequest) -> tuple[str, int | None]:
        """Submit the Veo job and save its name; (the name, the seed sent). Retried only on
        answers that prove no job was made: a job made before an error or a timeout is paid
        for, and a second submit would pay again."""
        sdk = _sdk()
        o = self.options
        client = self.client("video")
        seed = o.seed_for(self.project_id, job.scene.id)
        config = sdk.types.GenerateVideosConfig(
            **{**request.config, **self._tagged(client, seed)},
            http_options=sdk.submit_http_options(),
        )
        if request.last_frame is not None:
            config.last_frame = sdk.types.Image(
                image_bytes=request.last_frame, mime_type="image/png"
            )
        if request.assets:
            config.reference_images = [
                sdk.types.VideoGenerationReferenceImage(
                    image=sdk.types.Image(image_bytes=asset, mime_type="image/png"),
                    reference_type=sdk.types.VideoGenerationReferenceType.ASSET,
                )
                for asset in request.assets
            ]
        first = request.image
        source = sdk.types.GenerateVideosSource(
            prompt=request.prompt,
            image=sdk.types.Image(image_bytes=first, mime_type="image/png") if first else None,
        )
        attempt = 1
        job.paying()  # counted as spent from here (a refusal gives it back)
        while True:
            try:
                with self._calling("video_model", request.model):
                    try:
                        operation = client.models.generate_videos(
                            model=request.model, source=source, config=config
                        )
                    except Exception as err:
                        if sdk.submit_retryable(err) and attempt < o.retry_attempts:
                            raise _RetrySubmit from err
                        if sdk.nothing_created(err):
                            raise  # a refusal: `_calling` says why (and nothing was paid)
                        raise StepFailed(self._maybe_started(job, request, err)) from None
                break
            except _RetrySubmit:
                time.sleep(sdk.backoff(o, attempt))
                attempt += 1
        if not operation.name:
            raise StepFailed(f"scene {job.scene.id}: {request.model} started no operation")
        if job.pending is not None:  # before polling: a killed build collects this one
            record = {
                "operation": operation.name,
                "request": request.key,
                "started": time.time(),
                "seed": seed,
            }
            fsutil.write_text(job.pending, json.dumps(record) + "\n")
        return operation.name, seed

    def _maybe_started(self, job: ClipJob, request: VideoRequest, err: Exception) -> str:
        sdk = _sdk()
        cost = total(self.estimate("clip", job.scene.duration))
        return (
            f"scene {job.scene.id}: the request for a Veo clip got no clear answer "
            f"({sdk.described(err)}), so Google may have started the job and will bill it "
            f"(about ${cost:.2f}); it was not sent again. Its name is unknown, so vidpipe cannot "
            "collect it: look for it in the Google Cloud console; a resume starts a new job "
            f"and pays about ${cost:.2f} again"
        )

    def _wait(self, job: ClipJob, name: str) -> types.GenerateVideosOperation:
        """Poll the job until it is done; a dropped connection or a passing server error is
        polled again, until google.clip_timeout."""
        sdk = _sdk()
        o = self.options
        deadline = time.monotonic() + o.clip_timeout
        # `name` is a pydantic field declared on the SDK's plain `Operation` mixin, which mypy's
        # pydantic support does not see as a field of the model
        operation = sdk.types.GenerateVideosOperation(name=name)  # type: ignore[call-arg]
        started = process.stops()
        while True:
            operation, problem = self._poll(job, operation)
            if operation.done:
                return operation
            if time.monotonic() + o.poll_interval > deadline:
                why = f" (the last check failed: {problem})" if problem else ""
                raise StepFailed(
                    f"scene {job.scene.id}: {o.video_model} is still working after "
                    f"{o.clip_timeout:g} s (google.clip_timeout){why}; resume to keep waiting "
                    "for the same clip (it is paid for already)"
                )
            if process.pause(o.poll_interval, started):
                raise StepFailed(
                    f"scene {job.scene.id}: stopped waiting for the Veo job {name} (the build "
                    "was interrupted); it is paid for, and a resume collects it"
                )

    def _poll(
        self, job: ClipJob, operation: types.GenerateVideosOperation
    ) -> tuple[types.GenerateVideosOperation, str]:
        """One check on the job: (the operation, "" or why the check failed in passing)."""
        sdk = _sdk()
        with self._calling("video_model", self.options.video_model):
            try:
                return self.client("video").operations.get(operation), ""
            except sdk.genai_errors.APIError as err:
                if err.code == 404:
                    raise StepFailed(self._unknown_job(job, operation.name or "", err)) from None
                if err.code not in sdk.RETRY_CODES:
                    raise
                return operation, sdk.described(err)
            except Exception as err:
                if not sdk.is_transport_error(err):
                    raise
                return operation, sdk.described(err)

    def _unknown_job(self, job: ClipJob, name: str, err: genai_errors.APIError) -> str:
        # kept: the job is paid for, and a 404 may come from a changed location or project
        return (
            f"scene {job.scene.id}: Google does not know the Veo job {name} ({err.message}); "
            "if GOOGLE_CLOUD_PROJECT, GOOGLE_CLOUD_LOCATION or google.video_location changed "
            "since it was started, set them back and resume; to give it up and pay for a new "
            f"clip, delete {job.pending} and resume"
        )

    def _video_bytes(self, job: ClipJob, operation: types.GenerateVideosOperation) -> bytes:
        """The finished operation's video (downloaded when Google answers with its URI). A
        failed or filtered one fails the scene and is forgotten, so that a resume asks again;
        a video that cannot be downloaded is kept, so that a resume downloads it."""
        model = self.options.video_model
        response = operation.response
        videos = (response.generated_videos if response else None) or []
        video = videos[0].video if videos and not operation.error else None
        if video and video.video_bytes:
            return video.video_bytes
        if video and video.uri:
            return self._download(job, video.uri)
        if operation.error:
            error = operation.error
            problem = f"{model} failed: {error.get('message', error)} (code {error.get('code')})"
            problem += "; resume to try again"
        elif response and (
            response.rai_media_filtered_reasons or response.rai_media_filtered_count
        ):
            reasons = "; ".join(response.rai_media_filtered_reasons or []) or "no reason given"
            problem = (
                f"Google's safety filter blocked the clip: {reasons}; edit the scene's "
                "video_prompt (or image_prompt) in storyboard.json and resume"
            )
        else:
            problem = f"{model} returned no video; resume to try again"
        if job.pending is not None:
            job.pending.unlink(missing_ok=True)
        raise StepFailed(f"scene {job.scene.id}: {problem}")

    def _download(self, job: ClipJob, uri: str) -> bytes:
        sdk = _sdk()
        try:
            return sdk.download(uri, self.options.request_timeout)
        except Exception as err:
            if not (isinstance(err, OSError) or sdk.is_transport_error(err) or _auth_error(err)):
                raise
            raise StepFailed(
                f"scene {job.scene.id}: the clip is made and paid for, at {uri}, but it could "
                f"not be downloaded ({sdk.described(err)}); check that your credentials may read "
                "it (roles/storage.objectViewer), then resume to download it (nothing is paid "
                "again)"
            ) from None

    # --- the SDK ------------------------------------------------------------------------
    def client(self, kind: Kind) -> genai.Client:
        """The client of `kind`'s calls: one per location (google.<kind>_location)."""
        location = self.options.location(kind)
        if location not in self._clients:
            self._clients[location] = _sdk().make_client(self.options, location)
        return self._clients[location]

    def _tagged(self, client: genai.Client, seed: int | None) -> dict[str, Any]:
        """A call's seed, and on Vertex AI its labels (google_sdk.labelled)."""
        return {"seed": seed, **_sdk().labelled(client, self.project_id)}

    def _calling(self, setting: str, model: str) -> contextlib.AbstractContextManager[None]:
        sdk = _sdk()
        o = self.options
        return sdk.calling(setting, model, o.retry_attempts, o.request_timeout)


def _sdk():
    """The SDK as the provider uses it, imported at the first call to Google."""
    from vidpipe.providers import google_sdk

    return google_sdk


def _ids_of(names: list[str], ids: dict[str, str]) -> list[str]:
    """The ids of the characters `names` names, once each, in order."""
    found = [ids[name.strip().lower()] for name in names if name.strip().lower() in ids]
    return list(dict.fromkeys(found))


class _RetrySubmit(Exception):
    """A Veo submit refused in a way that proves no job was made: send it again."""


def _auth_error(err: Exception) -> bool:
    from google.auth import exceptions as auth_errors

    return isinstance(err, auth_errors.GoogleAuthError)
