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
import io
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from google import genai
from google.auth import exceptions as auth_errors
from google.genai import errors as genai_errors
from google.genai import types
from pydantic import BaseModel, Field, ValidationError, create_model

from vidpipe import fsutil, templates
from vidpipe.costs import Charge, total
from vidpipe.errors import BadInput, StepFailed
from vidpipe.providers.base import ClipJob, KeyframeJob, Provenance, Provider
from vidpipe.providers.google_options import GoogleOptions, catalog_path
from vidpipe.settings import STAGES, describe_validation_error
from vidpipe.storyboard import Scene, Storyboard

STORYBOARD_TEMPLATE = "google/storyboard.j2"
KEYFRAME_TEMPLATE = "google/keyframe.j2"
CLIP_TEMPLATE = "google/clip.j2"
RETRY_CODES = [408, 429, 500, 502, 503, 504]
SAFETY_WORDS = ("SAFETY", "PROHIBITED", "BLOCKLIST", "SPII", "RECITATION")
# person_generation as the image models spell it (Veo takes the setting's own words)
IMAGE_PERSON_GENERATION = {
    "allow_all": "ALLOW_ALL",
    "allow_adult": "ALLOW_ADULT",
    "dont_allow": "ALLOW_NONE",
}

NOT_CONFIGURED = (
    "Google is not configured: set GOOGLE_API_KEY (Gemini Developer API: storyboards and "
    "keyframes), or, for every stage including Veo clips, GOOGLE_GENAI_USE_VERTEXAI=true, "
    "GOOGLE_CLOUD_PROJECT and GOOGLE_CLOUD_LOCATION with application default credentials "
    "(gcloud auth application-default login); see docs/google.md"
)
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


def storyboard_draft(count: int) -> type[BaseModel]:
    """The answer's JSON schema: exactly `count` scenes."""
    scenes = Annotated[list[SceneDraft], Field(min_length=count, max_length=count)]
    return create_model(
        "StoryboardDraft", title=(str, ...), characters=(str, ...), scenes=(scenes, ...)
    )


# Paid calls running at once in this process, per stage (a build runs in one process).
_slots: dict[tuple[str, int], threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def _slot(stage: str, limit: int) -> threading.BoundedSemaphore:
    with _slots_lock:
        return _slots.setdefault((stage, limit), threading.BoundedSemaphore(limit))


def _vertex_from_env() -> bool | None:
    """Vertex AI or not, as the SDK reads it from the environment."""
    for name in ("GOOGLE_GENAI_USE_ENTERPRISE", "GOOGLE_GENAI_USE_VERTEXAI"):
        value = os.environ.get(name)
        if value is not None:
            return value.strip().lower() in ("true", "1")
    return None


@dataclass(frozen=True)
class VideoRequest:
    model: str
    prompt: str
    seconds: int
    config: dict[str, Any]
    image: bytes
    last_frame: bytes | None

    @property
    def key(self) -> str:
        """Identifies the request: a saved operation is collected only for the same one."""
        digest = hashlib.sha256()
        described = {"model": self.model, "prompt": self.prompt, "config": self.config}
        digest.update(json.dumps(described, sort_keys=True).encode())
        digest.update(hashlib.sha256(self.image).digest())
        digest.update(hashlib.sha256(self.last_frame or b"").digest())
        return digest.hexdigest()


class GoogleProvider(Provider):
    name = "google"
    stages = frozenset(STAGES)
    options_model = GoogleOptions

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.options = GoogleOptions.model_validate(settings.provider_options.get(self.name, {}))
        self._client: genai.Client | None = None

    # --- what the core asks -------------------------------------------------------------
    def fingerprint(self, stage: str) -> dict[str, Any]:
        o = self.options
        if stage == "storyboard":
            used = {"model": o.text_model, "template": templates.source_text(STORYBOARD_TEMPLATE)}
        elif stage == "keyframe":
            used = {
                "model": o.image_model,
                "reference_images": o.reference_images,
                "person_generation": o.person_generation,
                "template": templates.source_text(KEYFRAME_TEMPLATE),
            }
        else:
            used = {**self._clip_settings(), "template": templates.source_text(CLIP_TEMPLATE)}
        return {"provider": self.name, **used}

    def check(self, stage: str) -> None:
        client = self.client()
        s, o = self.settings, self.options
        if stage == "storyboard":
            o.price_of_text()
        elif stage == "keyframe":
            o.price_of_image()
        else:
            if not client.vertexai:
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
            self.clip_seconds(s.clip_duration)

    def references(self, stage: str, storyboard: Storyboard, scene: Scene) -> list[str]:
        ids = [each.id for each in storyboard.scenes]
        if stage == "keyframe" and self.options.reference_images and scene.id != ids[0]:
            return [ids[0]]
        if stage == "clip" and self._last_frame_on() and scene.id != ids[-1]:
            return [ids[ids.index(scene.id) + 1]]
        return []

    def estimate(self, stage: str, seconds: float) -> list[Charge]:
        o = self.options
        if stage == "storyboard":
            return [Charge(o.text_model, "call", 1, o.price_of_text().usd_per_call)]
        if stage == "keyframe":
            return [Charge(o.image_model, "image", 1, o.price_of_image().usd_per_image)]
        video = o.video()
        rate = video.usd_per_second
        if not o.audio and video.usd_per_second_silent is not None:
            rate = video.usd_per_second_silent
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
        s, o = self.settings, self.options
        prompt = templates.render_string(
            templates.source_text(STORYBOARD_TEMPLATE),
            prompt=s.prompt,
            style=s.style,
            scenes=s.scenes,
            seconds=f"{s.clip_duration:g}",
            aspect_ratio=s.aspect_ratio,
        )
        draft = storyboard_draft(s.scenes)
        config = types.GenerateContentConfig(
            response_mime_type="application/json", response_schema=draft
        )
        with self._calling("text_model", o.text_model):
            response = self.client().models.generate_content(
                model=o.text_model, contents=prompt, config=config
            )
        storyboard = self._storyboard_from(response, draft)
        return storyboard, Provenance(
            self.name,
            o.text_model,
            prompt=prompt,
            cost_usd=total(self.estimate("storyboard", s.clip_duration)),
            extra={"scenes": s.scenes},
        )

    def _storyboard_from(self, response: types.GenerateContentResponse, draft: type) -> Storyboard:
        model = self.options.text_model
        text = response.text
        if not text:
            raise StepFailed(
                f"{model} returned no storyboard ({_why_empty(response)}); resume to ask again, "
                "or write storyboard.json by hand"
            )
        try:
            answer = draft.model_validate_json(text).model_dump()
            scenes = [
                {
                    **scene,
                    "id": f"s{number}",
                    "title": scene["title"][:200],
                    "caption": scene["caption"][:300],
                    "duration": self.settings.clip_duration,
                }
                for number, scene in enumerate(answer["scenes"], start=1)
            ]
            return Storyboard.model_validate(
                {**answer, "title": answer["title"][:200], "scenes": scenes}
            )
        except ValidationError as err:
            raise StepFailed(
                f"{model} answered with a malformed storyboard: {describe_validation_error(err)}; "
                "resume to ask again, or write storyboard.json by hand"
            ) from None

    def draw_keyframe(self, job: KeyframeJob) -> Provenance:
        s, o, scene = job.settings, self.options, job.scene
        used = self.references("keyframe", job.storyboard, scene)
        prompt = templates.render_string(
            templates.source_text(KEYFRAME_TEMPLATE),
            scene=scene,
            style=s.style,
            aspect_ratio=s.aspect_ratio,
            characters=job.storyboard.characters,
            references=bool(used),
        )
        contents: list[Any] = [
            types.Part.from_bytes(data=job.references[ref].read_bytes(), mime_type="image/png")
            for ref in used
        ]
        contents.append(prompt)
        client = self.client()
        image_config = types.ImageConfig(aspect_ratio=s.aspect_ratio)
        if client.vertexai:  # the Developer API refuses this field
            image_config.person_generation = IMAGE_PERSON_GENERATION[o.person_generation]
        config = types.GenerateContentConfig(
            response_modalities=["TEXT", "IMAGE"], image_config=image_config
        )
        with _slot("keyframe", o.keyframe_concurrency), self._calling("image_model", o.image_model):
            response = client.models.generate_content(
                model=o.image_model, contents=contents, config=config
            )
        data = _image_bytes(response)
        if data is None:
            reason = _why_empty(response)
            raise StepFailed(
                f"scene {scene.id}: {o.image_model} made no keyframe ({reason}); edit the "
                "scene's image_prompt in storyboard.json and resume"
            )
        _save_png(data, job.out, o.image_model)
        return Provenance(
            self.name,
            o.image_model,
            prompt=prompt,
            cost_usd=total(self.estimate("keyframe", scene.duration)),
            extra={"references": used, "aspect_ratio": s.aspect_ratio},
        )

    def render_clip(self, job: ClipJob) -> Provenance:
        o, scene = self.options, job.scene
        request = self._video_request(job)
        with _slot("clip", o.clip_concurrency):
            name = self._saved_operation(job, request)
            resumed = name is not None
            if name is None:
                name = self._start_video(job, request)
            operation = self._wait(job, name)
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
        }

    def _video_request(self, job: ClipJob) -> VideoRequest:
        o, scene = self.options, job.scene
        seconds = self.clip_seconds(scene.duration)
        prompt = templates.render_string(
            templates.source_text(CLIP_TEMPLATE), scene=scene, style=job.settings.style
        )
        last = self.references("clip", job.storyboard, scene)
        config = {
            "aspect_ratio": job.settings.aspect_ratio,
            "duration_seconds": seconds,
            "number_of_videos": 1,
            "resolution": o.video_resolution,
            "negative_prompt": o.negative_prompt or None,
            "generate_audio": o.audio,
            "person_generation": o.person_generation,
        }
        return VideoRequest(
            model=o.video_model,
            prompt=prompt,
            seconds=seconds,
            config=config,
            image=job.keyframe.read_bytes(),
            last_frame=job.references[last[0]].read_bytes() if last else None,
        )

    def _saved_operation(self, job: ClipJob, request: VideoRequest) -> str | None:
        """The operation an earlier build started for exactly this request, if any."""
        if job.pending is None:
            return None
        try:
            saved = json.loads(job.pending.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return saved.get("operation") if saved.get("request") == request.key else None

    def _start_video(self, job: ClipJob, request: VideoRequest) -> str:
        config = types.GenerateVideosConfig(**request.config)
        if request.last_frame is not None:
            config.last_frame = types.Image(image_bytes=request.last_frame, mime_type="image/png")
        source = types.GenerateVideosSource(
            prompt=request.prompt,
            image=types.Image(image_bytes=request.image, mime_type="image/png"),
        )
        with self._calling("video_model", request.model):
            operation = self.client().models.generate_videos(
                model=request.model, source=source, config=config
            )
        if not operation.name:
            raise StepFailed(f"scene {job.scene.id}: {request.model} started no operation")
        if job.pending is not None:  # before polling: a killed build collects this one
            record = {"operation": operation.name, "request": request.key, "started": time.time()}
            fsutil.write_text(job.pending, json.dumps(record) + "\n")
        return operation.name

    def _wait(self, job: ClipJob, name: str) -> types.GenerateVideosOperation:
        o = self.options
        deadline = time.monotonic() + o.clip_timeout
        operation = types.GenerateVideosOperation(name=name)
        while True:
            with self._calling("video_model", o.video_model):
                try:
                    operation = self.client().operations.get(operation)
                except genai_errors.APIError as err:
                    if err.code != 404:
                        raise
                    if job.pending is not None:  # forget it: a resume starts a new one
                        job.pending.unlink(missing_ok=True)
                    raise StepFailed(
                        f"scene {job.scene.id}: Google no longer knows the Veo job {name} "
                        f"({err.message}); resume to start a new one"
                    ) from None
            if operation.done:
                return operation
            if time.monotonic() + o.poll_interval > deadline:
                raise StepFailed(
                    f"scene {job.scene.id}: {o.video_model} is still working after "
                    f"{o.clip_timeout:g} s (google.clip_timeout); resume to keep waiting for "
                    "the same clip (it is paid for already)"
                )
            time.sleep(o.poll_interval)

    def _video_bytes(self, job: ClipJob, operation: types.GenerateVideosOperation) -> bytes:
        """The finished operation's video. A failed or filtered one fails the scene and is
        forgotten, so that a resume asks again."""
        model = self.options.video_model
        response = operation.response
        videos = (response.generated_videos if response else None) or []
        if videos and videos[0].video and videos[0].video.video_bytes and not operation.error:
            return videos[0].video.video_bytes
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

    # --- the SDK ------------------------------------------------------------------------
    def client(self) -> genai.Client:
        if self._client is None:
            o = self.options
            retry = types.HttpRetryOptions(
                attempts=o.retry_attempts,
                initial_delay=o.retry_initial_delay,
                max_delay=max(60.0, o.retry_initial_delay),
                jitter=o.retry_initial_delay,
                http_status_codes=RETRY_CODES,
            )
            kwargs: dict[str, Any] = {}
            if _vertex_from_env():
                # The same values the SDK would read itself, passed explicitly: only then does
                # it honour GOOGLE_VERTEX_BASE_URL and keep the API path under a custom base URL.
                kwargs = {
                    "vertexai": True,
                    "project": os.environ.get("GOOGLE_CLOUD_PROJECT") or None,
                    "location": os.environ.get("GOOGLE_CLOUD_LOCATION") or None,
                }
            try:
                self._client = genai.Client(
                    http_options=types.HttpOptions(retry_options=retry), **kwargs
                )
            except (ValueError, auth_errors.GoogleAuthError) as err:
                raise BadInput(f"{NOT_CONFIGURED} ({err})") from None
        return self._client

    @contextlib.contextmanager
    def _calling(self, setting: str, model: str) -> Iterator[None]:
        """Turn the SDK's errors into one-line step failures that say what to do."""
        try:
            yield
        except genai_errors.APIError as err:
            raise StepFailed(_api_error(err, setting, model, self.options.retry_attempts)) from None
        except auth_errors.GoogleAuthError as err:
            raise StepFailed(
                f"Google credentials do not work ({err}); run `gcloud auth application-default "
                "login` or set GOOGLE_APPLICATION_CREDENTIALS, then resume"
            ) from None
        except Exception as err:
            if type(err).__module__.split(".")[0] in {"httpx", "httpx2", "httpcore", "httpcore2"}:
                message = f"cannot reach Google ({err}); check the network, then resume"
                raise StepFailed(message) from None
            raise


def _api_error(err: genai_errors.APIError, setting: str, model: str, attempts: int) -> str:
    said = f"{err.code} {err.status or ''}: {err.message or ''}".replace(" :", ":")
    code = err.code or 0
    if code == 404 or (code in (400, 403) and "model" in (err.message or "").lower()):
        return (
            f"Google refused the model {model!r} ({said}); set google.{setting} in project.yaml "
            f"to a model your project can use (the catalog: {catalog_path()}), then resume"
        )
    if code in (401, 403):
        return (
            f"Google refused the credentials ({said}); check the account and project, then resume"
        )
    if code == 429:
        return (
            f"Google's quota is used up ({said}), still after {attempts} attempts; wait, then "
            "resume (lower google.clip_concurrency or google.keyframe_concurrency if it recurs)"
        )
    if code >= 500 or code == 408:
        return f"Google's service failed ({said}), still after {attempts} attempts; resume later"
    return f"Google refused the request ({said})"


def _why_empty(response: types.GenerateContentResponse) -> str:
    """Why an answer holds no text or image: the safety filter's reason when it was that."""
    reason = None
    if response.prompt_feedback and response.prompt_feedback.block_reason:
        reason = str(response.prompt_feedback.block_reason.value)
    elif response.candidates and response.candidates[0].finish_reason:
        reason = str(response.candidates[0].finish_reason.value)
    if reason is None:
        return "an empty answer"
    if any(word in reason for word in SAFETY_WORDS):
        return f"blocked by Google's safety filter: {reason}"
    return f"finish reason {reason}"


def _image_bytes(response: types.GenerateContentResponse) -> bytes | None:
    for candidate in response.candidates or []:
        for part in (candidate.content.parts if candidate.content else None) or []:
            if part.inline_data and part.inline_data.data:
                return part.inline_data.data
    return None


def _save_png(data: bytes, out, model: str) -> None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            if image.format == "PNG":
                out.write_bytes(data)
            else:
                image.convert("RGB").save(out, "PNG")
    except (UnidentifiedImageError, OSError) as err:
        raise StepFailed(f"{model} returned an image that cannot be read ({err})") from None
