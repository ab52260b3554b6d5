"""The google-genai SDK as the Google provider uses it: a client configured from the SDK's own
environment variables, its errors turned into one-line step failures that say what to do, and
what an answer holds."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from google import genai
from google.auth import exceptions as auth_errors
from google.genai import errors as genai_errors
from google.genai import types

from vidpipe.errors import BadInput, StepFailed
from vidpipe.providers.google_options import GoogleOptions, catalog_path

RETRY_CODES = [408, 429, 500, 502, 503, 504]
SAFETY_WORDS = ("SAFETY", "PROHIBITED", "BLOCKLIST", "SPII", "RECITATION")
TRANSPORTS = {"httpx", "httpx2", "httpcore", "httpcore2"}  # the SDK's HTTP stacks, 2.x and 3.x

NOT_CONFIGURED = (
    "Google is not configured: set GOOGLE_API_KEY (Gemini Developer API: storyboards and "
    "keyframes), or, for every stage including Veo clips, GOOGLE_GENAI_USE_VERTEXAI=true, "
    "GOOGLE_CLOUD_PROJECT and GOOGLE_CLOUD_LOCATION with application default credentials "
    "(gcloud auth application-default login); see docs/google.md"
)


def vertex_from_env() -> bool | None:
    """Vertex AI or not, as the SDK reads it from the environment."""
    for name in ("GOOGLE_GENAI_USE_ENTERPRISE", "GOOGLE_GENAI_USE_VERTEXAI"):
        value = os.environ.get(name)
        if value is not None:
            return value.strip().lower() in ("true", "1")
    return None


def make_client(options: GoogleOptions) -> genai.Client:
    """A client from the environment, retrying 408/429/5xx answers with exponential backoff.
    Constructing it calls nothing; raises BadInput when Google is not configured."""
    retry = types.HttpRetryOptions(
        attempts=options.retry_attempts,
        initial_delay=options.retry_initial_delay,
        max_delay=max(60.0, options.retry_initial_delay),
        jitter=options.retry_initial_delay,
        http_status_codes=RETRY_CODES,
    )
    kwargs: dict[str, Any] = {}
    if vertex_from_env():
        # The same values the SDK would read itself, passed explicitly: only then does it
        # honour GOOGLE_VERTEX_BASE_URL and keep the API path under a custom base URL.
        kwargs = {
            "vertexai": True,
            "project": os.environ.get("GOOGLE_CLOUD_PROJECT") or None,
            "location": os.environ.get("GOOGLE_CLOUD_LOCATION") or None,
        }
    try:
        return genai.Client(http_options=types.HttpOptions(retry_options=retry), **kwargs)
    except (ValueError, auth_errors.GoogleAuthError) as err:
        raise BadInput(f"{NOT_CONFIGURED} ({err})") from None


@contextlib.contextmanager
def calling(setting: str, model: str, attempts: int) -> Iterator[None]:
    """Turn the SDK's errors into StepFailed; `setting` names the option that chose `model`."""
    try:
        yield
    except genai_errors.APIError as err:
        raise StepFailed(api_error(err, setting, model, attempts)) from None
    except auth_errors.GoogleAuthError as err:
        raise StepFailed(
            f"Google credentials do not work ({err}); run `gcloud auth application-default "
            "login` or set GOOGLE_APPLICATION_CREDENTIALS, then resume"
        ) from None
    except Exception as err:
        if type(err).__module__.split(".")[0] in TRANSPORTS:
            message = f"cannot reach Google ({err}); check the network, then resume"
            raise StepFailed(message) from None
        raise


def api_error(err: genai_errors.APIError, setting: str, model: str, attempts: int) -> str:
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


def why_empty(response: types.GenerateContentResponse) -> str:
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


def image_bytes(response: types.GenerateContentResponse) -> bytes | None:
    """The first image of an answer."""
    for candidate in response.candidates or []:
        for part in (candidate.content.parts if candidate.content else None) or []:
            if part.inline_data and part.inline_data.data:
                return part.inline_data.data
    return None


def save_png(data: bytes, out: Path, model: str) -> None:
    """Write an answer's image as PNG (converted when the model sent another format)."""
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
