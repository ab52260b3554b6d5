"""The google-genai SDK as the Google provider uses it: a client configured from the SDK's own
environment variables, its errors turned into one-line step failures that say what to do, what
an answer holds, and a video answered as a Cloud Storage URI fetched with the user's
credentials."""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from google import genai
from google.auth import exceptions as auth_errors
from google.genai import errors as genai_errors
from google.genai import types

from vidpipe.errors import BadInput, NothingPaid, StepFailed
from vidpipe.providers.google_env import NOT_CONFIGURED, vertex_from_env
from vidpipe.providers.google_options import LOCATION_ENV, GoogleOptions, catalog_path, labels

RETRY_CODES = [408, 429, 500, 502, 503, 504]
# Answers to a Veo submit that prove no job was made: only these are retried, since a job
# made before a 5xx or a timeout is paid for, and a retry would pay for a second one.
SUBMIT_RETRY_CODES = (429,)
STORAGE = "https://storage.googleapis.com"
STORAGE_EMULATOR_ENV = "STORAGE_EMULATOR_HOST"  # google-cloud-storage's own override
SAFETY_WORDS = ("SAFETY", "PROHIBITED", "BLOCKLIST", "SPII", "RECITATION")
TRANSPORTS = {"httpx", "httpx2", "httpcore", "httpcore2"}  # the SDK's HTTP stacks, 2.x and 3.x


def make_client(options: GoogleOptions, location: str | None = None) -> genai.Client:
    """A client from the environment whose Vertex AI calls go to `location` (None:
    GOOGLE_CLOUD_LOCATION), retrying 408/429/5xx answers with exponential backoff.
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
        project = os.environ.get("GOOGLE_CLOUD_PROJECT") or None
        kwargs = {
            "vertexai": True,
            "project": project,
            # express mode (an API key, no project) has no locations: the SDK refuses one
            "location": (location or os.environ.get(LOCATION_ENV) or None) if project else None,
        }
    http = types.HttpOptions(retry_options=retry, timeout=round(options.request_timeout * 1000))
    try:
        return genai.Client(http_options=http, **kwargs)
    except (ValueError, auth_errors.GoogleAuthError) as err:
        raise BadInput(f"{NOT_CONFIGURED} ({err})") from None


def submit_http_options() -> types.HttpOptions:
    """Per-call options of a Veo submit: the SDK never retries it (vidpipe decides)."""
    return types.HttpOptions(retry_options=types.HttpRetryOptions(attempts=1))


def is_transport_error(err: BaseException) -> bool:
    return type(err).__module__.split(".")[0] in TRANSPORTS


def never_sent(err: BaseException) -> bool:
    """A transport error raised before the request reached Google (no connection made)."""
    return is_transport_error(err) and type(err).__name__ in ("ConnectError", "ConnectTimeout")


def nothing_created(err: BaseException) -> bool:
    """Whether a failed Veo submit proves that no job was made (so no money was spent)."""
    if isinstance(err, genai_errors.APIError):
        code = err.code or 0
        return 400 <= code < 500 and code != 408
    return never_sent(err) or isinstance(err, auth_errors.RefreshError)


def submit_retryable(err: BaseException) -> bool:
    """A failed Veo submit that may be sent again: it proves no job was made, and may pass."""
    if isinstance(err, genai_errors.APIError):
        return err.code in SUBMIT_RETRY_CODES
    return never_sent(err)


def backoff(options: GoogleOptions, attempt: int) -> float:
    """Seconds to wait before retry number `attempt` (1, 2, ...): doubling, at most 60 s."""
    return float(min(60.0, options.retry_initial_delay * 2 ** (attempt - 1)))


def described(err: BaseException) -> str:
    if isinstance(err, genai_errors.APIError):
        return f"{err.code} {err.status or ''}: {err.message or ''}".replace(" :", ":")
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__


@contextlib.contextmanager
def calling(setting: str, model: str, attempts: int, timeout: float) -> Iterator[None]:
    """Turn the SDK's errors into step failures; `setting` names the option that chose `model`.
    Google bills no call it answers with an error, nor one that never reached it: those
    raise NothingPaid."""
    try:
        yield
    except genai_errors.APIError as err:
        raise NothingPaid(api_error(err, setting, model, attempts)) from None
    except auth_errors.GoogleAuthError as err:
        raise NothingPaid(
            f"Google credentials do not work ({err}); run `gcloud auth application-default "
            "login` or set GOOGLE_APPLICATION_CREDENTIALS, then resume"
        ) from None
    except Exception as err:
        if not is_transport_error(err):
            raise
        if never_sent(err):
            message = f"cannot reach Google ({described(err)}); check the network, then resume"
            raise NothingPaid(message) from None
        if "Timeout" in type(err).__name__:
            message = (
                f"{model} did not answer within {timeout:g} s (google.request_timeout), still "
                f"after {attempts} attempts; resume to ask again"
            )
        else:
            message = f"the connection to Google failed ({described(err)}); resume to ask again"
        raise StepFailed(message) from None


def labelled(client: genai.Client, project_id: str) -> dict[str, Any]:
    """The config field that puts a call's project on the bill: its labels on Vertex AI (the
    Developer API bills no labels, and takes none)."""
    return {"labels": labels(project_id)} if client.vertexai else {}


def location_of(message: str) -> str | None:
    """The Vertex AI location a refusal names (`.../locations/us-central1/...`), if any."""
    found = re.search(r"locations/([a-z0-9-]+)", message)
    return found[1] if found else None


def located(setting: str) -> str:
    """The setting of the location of the calls whose model `setting` names."""
    return setting.removesuffix("_model") + "_location"


def api_error(err: genai_errors.APIError, setting: str, model: str, attempts: int) -> str:
    said = described(err)
    code = err.code or 0
    if code == 404 or (code in (400, 403) and "model" in (err.message or "").lower()):
        message = (
            f"Google refused the model {model!r} ({said}); set google.{setting} in project.yaml "
            f"to a model your project can use (the catalog: {catalog_path()})"
        )
        location = location_of(err.message or "")
        if code == 404 and location:
            message += (
                f", or, since it may not be served in the location {location}, set "
                f"google.{located(setting)} to a location that serves it (Gemini image models "
                "are served only on global, Veo in regions such as us-central1)"
            )
        return message + ", then resume"
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


def token_counts(response: types.GenerateContentResponse) -> tuple[int, int, int] | None:
    """What an answer was billed for: (prompt, answer, thinking) tokens; None when it carries
    no usage metadata."""
    usage = response.usage_metadata
    if usage is None or usage.prompt_token_count is None:
        return None
    answered, thought = usage.candidates_token_count, usage.thoughts_token_count
    return usage.prompt_token_count, answered or 0, thought or 0


def cut_off(response: types.GenerateContentResponse) -> bool:
    """Whether the model stopped at its max_output_tokens, its answer unfinished."""
    reasons = [candidate.finish_reason for candidate in response.candidates or []]
    return types.FinishReason.MAX_TOKENS in reasons


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


def download(uri: str, timeout: float) -> bytes:
    """A `gs://` or `https://` object, fetched with the user's application default
    credentials (Cloud Storage's JSON API; `STORAGE_EMULATOR_HOST` points it elsewhere)."""
    import google.auth
    from google.auth.transport.requests import AuthorizedSession

    if uri.startswith("gs://"):
        bucket, _, name = uri.removeprefix("gs://").partition("/")
        base = os.environ.get(STORAGE_EMULATOR_ENV) or STORAGE
        url = f"{base.rstrip('/')}/storage/v1/b/{bucket}/o/{quote(name, safe='')}?alt=media"
    else:
        url = uri
    scopes = ["https://www.googleapis.com/auth/cloud-platform"]
    credentials, _ = google.auth.default(scopes=scopes)  # type: ignore[no-untyped-call]
    session = AuthorizedSession(credentials)  # type: ignore[no-untyped-call]
    response = session.get(url, timeout=timeout)
    if response.status_code != 200:
        raise OSError(f"HTTP {response.status_code}: {response.text[:200]}")
    return bytes(response.content)
