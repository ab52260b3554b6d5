"""The Google provider, end to end: real doit builds whose real google-genai SDK talks to a
loopback fake of Google's REST API (tests/fake_google.py). Nothing reaches the network."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from conftest import FAST, only_project, probe, run_doit, start_doit, wait_until
from fake_google import Fault

from vidpipe.project.costs import total
from vidpipe.project.storyboard import load_storyboard
from vidpipe.providers.google import GoogleProvider
from vidpipe.providers.google_options import CATALOG_FILE, GoogleOptions

pytestmark = pytest.mark.slow  # doit builds against the loopback fake

DOCS = Path(__file__).resolve().parent.parent / "docs" / "google.md"
# Quick polls and retries; clips run one at a time so that concurrency is observable.
GOOGLE = [
    *FAST,
    "provider=google",
    "workers=3",
    "google.poll_interval=0.02",
    "google.retry_initial_delay=0.01",
    "google.retry_attempts=3",
    "google.clip_concurrency=2",
    # 1 s scenes hold no narration (the fake's storyboard writes some): test_google_speech.py
    "narration=0",
]


def generate(env: dict[str, str], *words: str) -> subprocess.CompletedProcess:
    return run_doit("generate", "prompt=A lighthouse keeper", *GOOGLE, *words, **env)


def resume(project, env: dict[str, str], *words: str) -> subprocess.CompletedProcess:
    return run_doit("resume", f"id={project.id}", *words, **env)


def estimate_in(output: str) -> float:
    found = re.search(r"estimated total: \$(\d+\.\d\d)", output)
    assert found, output
    return float(found[1])


def priced(calls) -> float:
    """What the calls the fake answered cost at the catalog's prices."""
    catalog = yaml.safe_load(CATALOG_FILE.read_text())
    usd = 0.0
    for call in calls:
        if call.kind == "storyboard":
            usd += text_priced(call)
        elif call.kind == "image":
            usd += catalog["image"][call.model]["usd_per_image"]
        else:
            video = catalog["video"][call.model]
            silent = call.parameters.get("generateAudio") is False
            rates = video["usd_per_second_silent"] if silent else video["usd_per_second"]
            rate = rates[call.parameters["resolution"]] if isinstance(rates, dict) else rates
            usd += rate * call.parameters["durationSeconds"]
    return usd


def estimated(calls, project) -> float:
    """What the estimate before a build counts for `calls`: each at its price, a storyboard
    at the most its call may cost (its tokens are known only from its answer)."""
    at_most = total(GoogleProvider(project.settings).estimate("storyboard", 0.0))
    return sum(at_most if call.kind == "storyboard" else priced([call]) for call in calls)


def text_priced(call) -> float:
    """What a storyboard call cost: the tokens of the fake's answer at the catalog's rates,
    the thinking at the output rate."""
    rates = yaml.safe_load(CATALOG_FILE.read_text())["text"][call.model]
    given = call.usage["promptTokenCount"] * rates["usd_per_million_input_tokens"]
    written = call.usage["candidatesTokenCount"] + call.usage["thoughtsTokenCount"]
    return (given + written * rates["usd_per_million_output_tokens"]) / 1e6


def scene_of(call) -> str:
    """Which scene a call was for (the fake's storyboard numbers its prompts `shot N`)."""
    return "s" + re.search(r"shot (\d+)", call.text)[1]


def provenance(project, folder: str, scene_id: str) -> Path:
    suffix = ".mp4" if folder == "clips" else ".png"
    return project.state_dir / "provenance" / folder / f"{scene_id}{suffix}.json"


def edit_scene(project, scene_id: str, **fields: str) -> None:
    data = json.loads(project.storyboard_file.read_text())
    for scene in data["scenes"]:
        if scene["id"] == scene_id:
            scene.update(fields)
    project.storyboard_file.write_text(json.dumps(data, indent=2))


def test_generate_with_google_makes_a_video_and_a_resume_pays_nothing(projects, fake, vertex):
    result = generate(vertex, "yes=1")
    assert result.returncode == 0, result.stdout + result.stderr
    project = only_project(projects)
    facts = probe(project.final_file)
    assert (facts.width, facts.height, facts.frames) == (640, 360, 3 * 24)
    assert facts.audio_seconds == pytest.approx(3.0, abs=0.05)

    kinds = [call.kind for call in fake.paid()]
    assert sorted(kinds) == ["image"] * 3 + ["storyboard"] + ["video"] * 3
    # the estimate shown before paying is what the calls cost at the catalog's prices, the
    # storyboard at the most it may cost; what it did cost is what was spent
    assert estimate_in(result.stdout) == pytest.approx(round(estimated(fake.paid(), project), 2))
    assert priced(fake.paid()) < estimated(fake.paid(), project)
    status = json.loads(run_doit("status", f"id={project.id}", "format=json", **vertex).stdout)
    assert status["cost_spent_usd"] == pytest.approx(priced(fake.paid()), abs=1e-4)
    # the first keyframe is the reference image of the others
    sent = {scene_of(call): call.images_sent for call in fake.of_kind("image")}
    assert sent == {"s1": 0, "s2": 1, "s3": 1}
    assert fake.max_running <= 2  # google.clip_concurrency
    image_config = fake.of_kind("image")[0].body["generationConfig"]["imageConfig"]
    assert image_config == {"aspectRatio": "16:9", "personGeneration": "ALLOW_ADULT"}
    video = fake.of_kind("video")[0]
    assert video.parameters["durationSeconds"] == 4  # the shortest Veo clip covering 1 s
    assert video.body["instances"][0]["image"]["mimeType"] == "image/png"

    record = json.loads(provenance(project, "clips", "s1").read_text())
    assert record["model"] == "veo-3.1-fast-generate-001"
    assert "shot 1" in record["prompt"]
    assert record["cost_usd"] == pytest.approx(0.48)
    assert record["extra"]["settings"]["audio"] is True
    assert record["seconds"] >= 0 and record["finished"]
    assert not (project.state_dir / "pending/clips").exists() or not any(
        (project.state_dir / "pending/clips").iterdir()
    )

    calls_before = len(fake.calls)
    again = resume(project, vertex)  # nothing to pay for: no go-ahead needed
    assert again.returncode == 0, again.stdout + again.stderr
    assert "up to date" in again.stdout
    assert "estimated total" not in again.stdout
    assert len(fake.calls) == calls_before


def test_a_resume_after_kill_9_during_polling_collects_the_started_clips(projects, fake, vertex):
    fake.release.clear()  # operations run until released
    build = start_doit("generate", "prompt=A lighthouse keeper", *GOOGLE, "yes=1", **vertex)
    try:

        def two_clips_started() -> bool:
            assert build.poll() is None, build.communicate()
            # google.clip_concurrency: two clips started and saved
            saved = projects.glob("*/.vidpipe/pending/clips/*.json")  # not a record half-written
            return len([path for path in saved if ".partial-" not in path.name]) == 2

        wait_until(two_clips_started, what="two clips started and saved")
        wait_until(lambda: len(fake.of_kind("poll")) >= 2, what="the build polling the clips")

        def keyframes_in_place() -> bool:  # a kill while one is drawn would draw it again
            drawn = projects.glob("*/keyframes/*.png")
            return len([path for path in drawn if ".partial-" not in path.name]) == 3

        wait_until(keyframes_in_place, what="every keyframe in place")
        os.killpg(build.pid, signal.SIGKILL)
        build.wait()
    finally:
        if build.poll() is None:
            os.killpg(build.pid, signal.SIGKILL)
        build.communicate()
    started = {scene_of(call) for call in fake.of_kind("video")}
    assert len(started) == 2

    fake.release.set()
    project = only_project(projects)
    before = len(fake.calls)
    result = resume(project, vertex, "yes=1")
    assert result.returncode == 0, result.stdout + result.stderr
    new_videos = [call for call in fake.calls[before:] if call.kind == "video"]
    assert {scene_of(call) for call in new_videos} == {"s1", "s2", "s3"} - started
    # the go-ahead was asked for that one clip only
    assert estimate_in(result.stdout) == pytest.approx(round(priced(new_videos), 2))
    for scene_id in started:
        record = json.loads(provenance(project, "clips", scene_id).read_text())
        assert record["extra"]["collected_after_restart"] is True
    assert probe(project.final_file).frames == 3 * 24


def test_two_builds_on_one_machine_share_the_veo_limit(projects, fake, vertex):
    fake.release.clear()  # operations run until released
    words = [*GOOGLE, "google.clip_concurrency=1", "yes=1"]
    builds = [
        start_doit("generate", f"prompt=A lighthouse keeper {n}", *words, **vertex)
        for n in range(2)
    ]
    try:
        wait_until(lambda: len(fake.of_kind("image")) == 6, what="both builds at their clips")
        time.sleep(2)  # the other build waits for the slot: it submits nothing
        assert (len(fake.jobs()), fake.running()) == (1, 1)
        fake.release.set()
        for build in builds:
            out, err = build.communicate(timeout=180)
            assert build.returncode == 0, out + err
    finally:
        fake.release.set()
        for build in builds:
            if build.poll() is None:
                os.killpg(build.pid, signal.SIGKILL)
                build.communicate()
    assert fake.max_running == 1  # clip_concurrency=1 for both builds together
    assert len(fake.jobs()) == 6  # every clip paid once


def resume_after_editing(projects, fake, vertex, scene_id: str, image_prompt: str):
    """Generate, edit one scene's image prompt, resume: (the resume, the paid calls it made)."""
    assert generate(vertex, "yes=1").returncode == 0
    project = only_project(projects)
    edit_scene(project, scene_id, image_prompt=image_prompt)
    before = len(fake.calls)
    result = resume(project, vertex, "yes=1")
    assert result.returncode == 0, result.stdout + result.stderr
    return result, [call for call in fake.calls[before:] if call.kind != "poll"]


def test_editing_one_scene_makes_one_image_call_and_one_video_call(projects, fake, vertex):
    result, new = resume_after_editing(
        projects, fake, vertex, "s2", "A lighthouse in a storm, shot 2"
    )
    assert [(call.kind, scene_of(call)) for call in new] == [("image", "s2"), ("video", "s2")]
    assert estimate_in(result.stdout) == pytest.approx(round(priced(new), 2))


def test_editing_the_first_scene_redraws_the_keyframes_that_use_it(projects, fake, vertex):
    result, new = resume_after_editing(projects, fake, vertex, "s1", "A lighthouse at dawn, shot 1")
    assert sorted(call.kind for call in new) == ["image"] * 3 + ["video"] * 3
    assert estimate_in(result.stdout) == pytest.approx(round(priced(new), 2))


def test_reference_images_can_be_turned_off(projects, fake, vertex):
    assert generate(vertex, "yes=1", "google.reference_images=0").returncode == 0
    assert [call.images_sent for call in fake.of_kind("image")] == [0, 0, 0]


def test_last_frame_from_the_next_keyframe(projects, fake, vertex):
    result = generate(vertex, "yes=1", "google.last_frame=1")
    assert result.returncode == 0, result.stdout + result.stderr
    last = {scene_of(c): "lastFrame" in c.body["instances"][0] for c in fake.of_kind("video")}
    assert last == {"s1": True, "s2": True, "s3": False}


def test_paid_work_waits_for_a_go_ahead(projects, fake, vertex):
    result = generate(vertex)
    assert result.returncode == 6  # no go-ahead; nothing was spent
    assert "estimated total" in result.stdout
    assert "nothing was spent" in result.stderr and "yes=1" in result.stderr
    assert fake.calls == []
    project = only_project(projects)
    assert f"vidpipe resume id={project.id} yes=1" in result.stderr


def test_a_budget_stops_the_build_before_a_call_that_would_exceed_it(projects, fake, vertex):
    # the storyboard (at most $0.03) + three keyframes $0.201 fit; a 4 s clip ($0.48) does not
    result = generate(vertex, "yes=1", "budget=0.50")
    assert result.returncode == 1
    assert "over budget=$0.50" in result.stdout
    assert sorted(call.kind for call in fake.paid()) == ["image"] * 3 + ["storyboard"]


def test_rate_limits_are_retried(projects, fake, vertex):
    fake.faults += [Fault("storyboard", status=429), Fault("video", status=429)]
    result = generate(vertex, "yes=1")
    assert result.returncode == 0, result.stdout + result.stderr
    refused = [call.kind for call in fake.calls if call.status == 429]
    assert refused == ["storyboard", "video"]


def test_a_server_error_that_persists_fails_only_that_scene(projects, fake, vertex):
    fake.faults.append(Fault("image", status=503, match="shot 2", times=None))
    result = generate(vertex, "yes=1", "workers=1")
    assert result.returncode == 1
    assert "scene s2: keyframe" in result.stdout and "503" in result.stdout
    assert "after 3 attempts" in result.stdout
    project = only_project(projects)
    assert [c.status for c in fake.calls if c.kind == "image" and "shot 2" in c.text] == [503] * 3
    assert project.clip_file("s1").exists() and project.clip_file("s3").exists()
    assert not project.keyframe_file("s2").exists() and not project.final_file.exists()
    fake.faults.clear()
    assert resume(project, vertex, "yes=1").returncode == 0
    assert project.final_file.exists()


def test_an_operation_that_ends_in_an_error_fails_that_scene(projects, fake, vertex):
    fake.faults.append(Fault("video", error="Veo had an internal problem", match="shot 3"))
    result = generate(vertex, "yes=1")
    assert result.returncode == 1
    assert "s3: veo-3.1-fast-generate-001 failed: Veo had an internal problem" in result.stdout
    project = only_project(projects)
    assert not project.clip_file("s3").exists() and project.clip_file("s2").exists()
    # the failed operation is forgotten: a resume asks again (and pays for that clip only)
    before = len(fake.calls)
    result = resume(project, vertex, "yes=1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [scene_of(c) for c in fake.calls[before:] if c.kind == "video"] == ["s3"]


def test_a_clip_blocked_by_the_safety_filter_fails_that_scene_with_the_reason(
    projects, fake, vertex
):
    reason = "The prompt could not be submitted: it mentions a real person."
    fake.faults.append(Fault("video", filtered=reason, match="shot 2"))
    result = generate(vertex, "yes=1")
    assert result.returncode == 1
    assert f"Google's safety filter blocked the clip: {reason}" in result.stdout
    project = only_project(projects)
    assert project.clip_file("s1").exists() and project.clip_file("s3").exists()

    edit_scene(project, "s2", video_prompt="Waves roll in under a calm sky, shot 2")
    result = resume(project, vertex, "yes=1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert probe(project.final_file).frames == 3 * 24


def test_a_keyframe_blocked_by_the_safety_filter_fails_that_scene(projects, fake, vertex):
    fake.faults.append(Fault("image", blocked="IMAGE_SAFETY", match="shot 3"))
    result = generate(vertex, "yes=1")
    assert result.returncode == 1
    assert "scene s3: gemini-3.1-flash-image made no keyframe (blocked by Google's safety " in (
        result.stdout
    )
    assert only_project(projects).clip_file("s2").exists()


def test_a_malformed_storyboard_fails_the_storyboard_step(projects, fake, vertex):
    fake.faults.append(Fault("storyboard", malformed='{"title": "Lighthouse", "scenes": ['))
    result = generate(vertex, "yes=1")
    assert result.returncode == 1
    assert "gemini-3.5-flash answered with a malformed storyboard" in result.stdout
    assert "Invalid JSON" in result.stdout
    assert [call.kind for call in fake.calls] == ["storyboard"]
    assert not only_project(projects).storyboard_file.exists()


def test_a_storyboard_missing_a_field_names_it(projects, fake, vertex):
    scenes = [{"title": "x", "description": "y"}] * 3
    fake.faults.append(Fault("storyboard", malformed=json.dumps({"title": "t", "scenes": scenes})))
    result = generate(vertex, "yes=1")
    assert result.returncode == 1
    assert "malformed storyboard: characters: Field required" in result.stdout


def test_a_model_the_service_refuses_names_the_setting(projects, fake, vertex):
    fake.faults.append(Fault("storyboard", status=404))
    result = generate(vertex, "yes=1")
    assert result.returncode == 1
    assert "Google refused the model 'gemini-3.5-flash'" in result.stdout
    assert "set google.text_model in project.yaml" in result.stdout


def test_a_developer_api_key_alone_refuses_veo_before_spending(projects, fake):
    result = generate(fake.api_key_env(), "yes=1")
    assert result.returncode == 4
    assert "Veo clips need Vertex AI" in result.stderr
    assert "GOOGLE_GENAI_USE_VERTEXAI=true" in result.stderr
    assert fake.calls == [] and not any(projects.glob("*"))


def test_a_developer_api_key_makes_storyboards_and_keyframes(projects, fake):
    result = generate(fake.api_key_env(), "yes=1", "clip_provider=local")
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(call.kind for call in fake.paid()) == ["image"] * 3 + ["storyboard"]
    project = only_project(projects)
    assert len(load_storyboard(project.storyboard_file).scenes) == 3
    assert probe(project.final_file).frames == 3 * 24


def test_no_google_configuration_says_what_to_set(projects, fake):
    result = generate({}, "yes=1")
    assert result.returncode == 4
    assert "Google is not configured: set GOOGLE_API_KEY" in result.stderr


@pytest.mark.parametrize(
    ("word", "message"),
    [
        ("google.video_model=veo-9", "google.video_model=veo-9 has no price in the model catalog"),
        ("google.colour=red", "google.colour: Extra inputs are not permitted"),
        ("google.audio=maybe", "google.audio: Input should be a valid boolean"),
        ("clip_duration=9", "makes clips of at most 8 s"),
        ("aspect_ratio=1:1", "makes 16:9 or 9:16 clips, not aspect_ratio=1:1"),
        ("budget=lots", "budget=lots is not an amount of dollars"),
    ],
)
def test_bad_google_settings_are_refused_before_anything_is_made(
    projects, fake, vertex, word, message
):
    result = generate(vertex, "yes=1", word)
    assert result.returncode == 4
    assert message in result.stderr
    assert fake.calls == [] and not any(projects.glob("*"))


def test_google_settings_are_kept_in_project_yaml_and_sent(projects, fake, vertex):
    words = ["google.audio=0", "google.negative_prompt=blur", "google.person_generation=dont_allow"]
    result = generate(vertex, *words)
    assert result.returncode == 6  # no go-ahead yet; the project is kept for `resume yes=1`
    project = only_project(projects)
    google = yaml.safe_load(project.settings_file.read_text())["provider_options"]["google"]
    assert google["audio"] is False and google["negative_prompt"] == "blur"
    assert google["video_model"] == "veo-3.1-fast-generate-001"  # defaults pinned at creation
    assert fake.calls == []

    result = resume(project, vertex, "yes=1")
    assert result.returncode == 0, result.stdout + result.stderr
    parameters = fake.of_kind("video")[0].parameters
    assert parameters["generateAudio"] is False and parameters["negativePrompt"] == "blur"
    assert parameters["personGeneration"] == "dont_allow"
    image = fake.of_kind("image")[0].body["generationConfig"]["imageConfig"]
    assert image["personGeneration"] == "ALLOW_NONE"
    assert estimate_in(result.stdout) == pytest.approx(round(estimated(fake.paid(), project), 2))
    assert probe(project.final_file).audio_seconds == pytest.approx(3.0, abs=0.05)


def test_every_google_setting_is_documented_with_its_default():
    rows = dict(re.findall(r"^\| `(\w+)` \| ([^|]+) \|", DOCS.read_text(), re.MULTILINE))
    defaults = GoogleOptions().model_dump()
    assert set(rows) == set(defaults)
    for name, value in defaults.items():
        if isinstance(value, bool):
            shown = "`true`" if value else "`false`"
        elif value == "":
            shown = "(empty)"
        elif value is None:  # chosen at the call (the locations)
            shown = "(automatic)"
        else:
            shown = f"`{value:g}`" if isinstance(value, float) else f"`{value}`"
        assert rows[name].strip() == shown, name


def test_status_knows_keyframes_drawn_from_a_reference(projects, vertex):
    assert generate(vertex, "yes=1").returncode == 0
    project = only_project(projects)
    keyframe = project.keyframe_file("s1")
    keyframe.write_bytes(keyframe.read_bytes())  # the reference image changed
    result = run_doit("status", f"id={project.id}", "format=json", **vertex)
    scenes = json.loads(result.stdout)["scenes"]
    assert [scene["keyframe"]["state"] for scene in scenes] == ["done", "outdated", "outdated"]
    assert scenes[1]["keyframe"]["reason"] == "keyframes/s1.png changed since it was made"
