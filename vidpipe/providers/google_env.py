"""How Google is configured, as the google-genai SDK reads it from the environment; read
without importing the SDK (it takes seconds to import, and a build with nothing to call
should not wait for it)."""

from __future__ import annotations

import os

from vidpipe.errors import BadInput

API_KEY_ENV = ("GOOGLE_API_KEY", "GEMINI_API_KEY")

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


def uses_vertex() -> bool:
    """True for Vertex AI, False for the Gemini Developer API; BadInput when neither is set
    up (the credentials themselves are checked by the first call)."""
    if vertex_from_env():
        return True
    if not any(os.environ.get(name) for name in API_KEY_ENV):
        raise BadInput(NOT_CONFIGURED)
    return False
