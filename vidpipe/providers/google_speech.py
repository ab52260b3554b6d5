"""The Google narrator: Gemini's speech models (text in, 24 kHz PCM out) through the SDK's
generate_content, with a prebuilt voice named by the project's `voice=`. The model, its price
and its voices come from the model catalog (google_models.yaml, section `speech`)."""

from __future__ import annotations

import re
from typing import Any

from vidpipe.errors import BadInput, StepFailed
from vidpipe.media import sound
from vidpipe.project.costs import Charge
from vidpipe.providers.base import NarrationJob, Provenance, Provider
from vidpipe.providers.google_options import GoogleOptions

PCM_RATE = 24000  # what Gemini's speech models answer with, unless the mime type says otherwise


class GoogleNarrator(Provider):
    name = "google"
    stages = frozenset({"narration"})

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.options = GoogleOptions.model_validate(settings.provider_options.get(self.name, {}))
        self._client: Any = None

    def voice(self) -> str:
        return self.settings.voice or self.options.speech().voices[0]

    def fingerprint(self, stage: str) -> dict[str, Any]:
        return {"provider": self.name, "model": self.options.speech_model, "voice": self.voice()}

    def check(self, stage: str) -> None:
        from vidpipe.providers import google_sdk as sdk

        sdk.make_client(self.options)  # configured at all (calls nothing)
        voices = self.options.speech().voices
        if self.voice() not in voices:
            raise BadInput(
                f"voice={self.voice()} is not a voice of {self.options.speech_model}; use one "
                f"of: {', '.join(voices)}"
            )

    def estimate(self, stage: str, seconds: float) -> list[Charge]:
        rate = self.options.speech().usd_per_second
        return [Charge(self.options.speech_model, "speech second", seconds, seconds * rate)]

    def client(self) -> Any:
        from vidpipe.providers import google_sdk as sdk

        if self._client is None:
            self._client = sdk.make_client(self.options, self.options.location("speech"))
        return self._client

    def speak(self, job: NarrationJob) -> Provenance:
        import numpy as np
        from google.genai import types

        from vidpipe.providers import google_sdk as sdk

        model, scene = self.options.speech_model, job.scene
        voice = types.VoiceConfig(
            prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name=self.voice())
        )
        client = self.client()
        config = types.GenerateContentConfig(
            response_modalities=["AUDIO"],
            speech_config=types.SpeechConfig(voice_config=voice),
            **sdk.labelled(client, self.project_id),
        )
        o = self.options
        with sdk.calling("speech_model", model, o.retry_attempts, o.request_timeout):
            response = client.models.generate_content(
                model=model, contents=scene.narration, config=config
            )
        part = _audio_part(response)
        if part is None:
            raise StepFailed(
                f"scene {scene.id}: {model} made no speech ({sdk.why_empty(response)}); edit the "
                "scene's narration in storyboard.json and resume"
            )
        data, mime = part
        rate = int(m[1]) if (m := re.search(r"rate=(\d+)", mime)) else PCM_RATE
        samples = np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.float32)
        sound.write_wav(job.out, samples / 32768.0, rate)
        seconds = len(samples) / rate
        usd = seconds * self.options.speech().usd_per_second
        extra = {"voice": self.voice(), "seconds": round(seconds, 3)}
        return Provenance(self.name, model, prompt=scene.narration, cost_usd=usd, extra=extra)


def _audio_part(response: Any) -> tuple[bytes, str] | None:
    """The PCM bytes of an answer and their mime type (`audio/L16;codec=pcm;rate=24000`)."""
    for candidate in response.candidates or []:
        for part in (candidate.content.parts if candidate.content else None) or []:
            if part.inline_data and part.inline_data.data:
                return part.inline_data.data, part.inline_data.mime_type or ""
    return None
