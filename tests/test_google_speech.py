"""Google narration: Gemini's speech model read by the real google-genai SDK from the loopback
fake (tests/fake_google.py), counted and priced; the pictures are made offline."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import only_project, run_doit

from vidpipe.media import sound
from vidpipe.providers.google_options import CATALOG_FILE

pytestmark = pytest.mark.slow  # doit builds against the loopback fake

WORDS = [
    "prompt=A lighthouse keeper", "scenes=2", "clip_duration=4", "resolution=360p",
    "narration_provider=google", "voice=Puck", "google.retry_initial_delay=0.01",
]  # fmt: skip


def speech_calls(fake) -> list:
    return fake.of_kind("speech")


def estimate_in(output: str) -> dict:
    """The estimate event of a build run with progress=json."""
    events = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return next(event for event in events if event["event"] == "estimate")


def test_google_narration_is_priced_paid_once_and_remade_for_one_edit(projects, fake, vertex):
    made = run_doit("generate", *WORDS, "yes=1", "progress=json", **vertex)
    assert made.returncode == 0, made.stdout + made.stderr
    project = only_project(projects)
    calls = speech_calls(fake)
    assert len(calls) == 2 and all(c.model == "gemini-3.8-flash-tts" for c in calls)
    config = calls[0].body["generationConfig"]
    assert config["responseModalities"] == ["AUDIO"]
    voice = config["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]
    assert voice in ({"voiceName": "Puck"}, {"voice_name": "Puck"})  # as the SDK spells it
    # the estimate: two scenes of 4 s of speech at the catalog's price
    rate = yaml.safe_load(CATALOG_FILE.read_text())["speech"]["gemini-3.8-flash-tts"]
    estimate = estimate_in(made.stdout)
    assert [c["model"] for c in estimate["charges"]] == ["gemini-3.8-flash-tts"] * 2
    assert estimate["total_usd"] == pytest.approx(2 * 4 * rate["usd_per_second"], abs=1e-4)
    # the speech as Gemini sent it (24 kHz PCM), at the project's rate, its silences trimmed
    speech, rate_hz = sound.read_wav(project.narration_file("s1"))
    assert rate_hz == sound.RATE
    text = json.loads(project.storyboard_file.read_text())["scenes"][0]["narration"]
    assert len(speech) / rate_hz == pytest.approx(0.07 * len(text), abs=0.08)

    before = len(fake.calls)
    again = run_doit("resume", f"id={project.id}", **vertex)  # nothing to pay for
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(fake.calls) == before and "estimated total" not in again.stdout

    data = json.loads(project.storyboard_file.read_text())
    data["scenes"][1]["narration"] = "The lamp goes out."
    project.storyboard_file.write_text(json.dumps(data))
    edited = run_doit("resume", f"id={project.id}", "yes=1", "progress=json", **vertex)
    assert edited.returncode == 0, edited.stdout + edited.stderr
    assert [c["units"] for c in estimate_in(edited.stdout)["charges"]] == [4]  # that scene only
    new = fake.calls[before:]
    assert [call.kind for call in new] == ["speech"]
    assert new[0].text == "The lamp goes out."


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["voice=Nobody"], "voice=Nobody is not a voice of gemini-3.8-flash-tts; use one of: Kore"),
        (["voice="], "voice: is empty; name a voice of the narration provider"),
    ],
)
def test_a_bad_voice_is_refused_before_anything_is_made(projects, fake, vertex, words, message):
    result = run_doit("generate", *WORDS, *words, "yes=1", **vertex)
    assert result.returncode == 4
    assert message in result.stderr
    assert fake.calls == []
    assert not projects.exists() or not any(projects.iterdir())  # no project was made
