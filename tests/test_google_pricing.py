"""Google builds are priced at the catalog's rates (per resolution, with or without audio), the
estimate is what the calls made cost, and an edit of what no Google call uses costs nothing."""

from __future__ import annotations

import json
import os
import re
import signal

import pytest
from conftest import only_project, run_doit, start_doit, wait_until
from doit.dependency import Dependency
from doit.loader import generate_tasks
from fake_google import Fault
from test_google import (
    GOOGLE,
    edit_scene,
    estimate_in,
    estimated,
    generate,
    priced,
    resume,
    text_priced,
)

from vidpipe.build import graph
from vidpipe.build.depdb import DurableSqliteDB
from vidpipe.build.estimate import DEP_FILE
from vidpipe.project.provenance import sha256_text
from vidpipe.project.settings import ProjectSettings
from vidpipe.providers.google import GoogleProvider
from vidpipe.providers.google_options import catalog


def provider(**google) -> GoogleProvider:
    settings = ProjectSettings(prompt="x", resolution="1080p", provider_options={"google": google})
    return GoogleProvider(settings)


@pytest.mark.parametrize(
    ("google", "usd_per_second"),
    [
        ({}, 0.12),
        ({"video_resolution": "1080p"}, 0.12),
        ({"video_resolution": "4k"}, 0.30),
        ({"audio": False}, 0.10),
        ({"video_resolution": "4k", "audio": False}, 0.25),
        ({"video_model": "veo-3.1-generate-001", "video_resolution": "4k"}, 0.60),
        ({"video_model": "veo-3.1-generate-001", "audio": False}, 0.20),
    ],
)
def test_a_clip_is_priced_per_resolution_and_audio(google, usd_per_second):
    (charge,) = provider(**google).estimate("clip", 3.5)
    assert charge.units == 4  # the shortest Veo clip covering 3.5 s
    assert charge.usd == pytest.approx(4 * usd_per_second)


def test_the_catalog_prices_4k_and_silent_video_apart():
    for name, video in catalog().video.items():
        for resolution in video.resolutions:
            assert video.rate(name, resolution, audio=False) <= video.rate(name, resolution, True)
        if "4k" in video.resolutions:
            assert video.rate(name, "4k", True) > video.rate(name, "1080p", True)


@pytest.mark.slow
def test_a_silent_build_is_priced_at_the_silent_rate(projects, fake, vertex):
    result = generate(vertex, "yes=1", "google.audio=0")
    assert result.returncode == 0, result.stdout + result.stderr
    # the storyboard at most $0.03 + 3 images at $0.067 + 3 silent 4 s clips at $0.10/s
    assert estimate_in(result.stdout) == pytest.approx(1.43)
    project = only_project(projects)
    assert estimate_in(result.stdout) == pytest.approx(round(estimated(fake.paid(), project), 2))
    assert [call.parameters["generateAudio"] for call in fake.of_kind("video")] == [False] * 3


@pytest.mark.slow
def test_a_resolution_above_the_projects_is_refused_before_paying(projects, fake, vertex):
    result = generate(vertex, "yes=1", "google.video_resolution=1080p")  # a 360p project
    assert result.returncode == 4
    assert "google.video_resolution=1080p is above the project's resolution=360p" in (result.stderr)
    assert "use google.video_resolution=720p" in result.stderr
    assert fake.calls == []


@pytest.mark.slow
def test_an_edit_of_what_no_google_call_uses_costs_nothing(projects, fake, vertex):
    assert generate(vertex, "yes=1").returncode == 0
    project = only_project(projects)
    edit_scene(project, "s2", caption="A new caption", title="New title", description="Other")
    before = len(fake.calls)
    result = resume(project, vertex)  # no go-ahead needed: nothing is paid for
    assert result.returncode == 0, result.stdout + result.stderr
    assert "estimated total" not in result.stdout
    assert fake.calls[before:] == []
    # what a Google call does use still counts
    paid_before = len(fake.paid())
    edit_scene(project, "s2", camera="static")
    result = resume(project, vertex, "yes=1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [call.kind for call in fake.paid()[paid_before:]] == ["video"]


@pytest.mark.slow
def test_a_project_budget_caps_all_builds_together(projects, fake, vertex):
    # the storyboard (at most $0.03, in the end a few tenths of a cent) + 3 keyframes $0.201 +
    # 2 clips $0.96 fit in $1.20; a third not
    result = generate(vertex, "yes=1", "project_budget=1.20", "workers=1")
    assert result.returncode == 1
    spent = text_priced(fake.of_kind("storyboard")[0]) + 3 * 0.067 + 2 * 0.48
    assert f"taking the project to ${spent + 0.48:.2f} spent, over its project_budget=$1.20" in (
        result.stdout
    )
    assert len(fake.jobs()) == 2
    project = only_project(projects)
    status = json.loads(run_doit("status", f"id={project.id}", "format=json").stdout)
    assert status["cost_spent_usd"] == pytest.approx(spent, abs=1e-4)
    runs = [
        json.loads(line) for line in (project.state_dir / "runs.jsonl").read_text().splitlines()
    ]
    paid = [*fake.paid(), fake.of_kind("video")[0]]  # and the clip that did not fit
    assert runs[-1]["estimated_usd"] == pytest.approx(estimated(paid, project), abs=1e-4)
    # a later build counts what the first one spent
    result = resume(project, vertex, "yes=1")
    assert result.returncode == 1 and "over its project_budget=$1.20" in result.stdout
    assert len(fake.jobs()) == 2


@pytest.mark.slow
def test_what_a_killed_build_paid_for_counts_as_spent(projects, fake, vertex):
    fake.release.clear()  # the Veo jobs run until released
    build = start_doit("generate", "prompt=A lighthouse keeper", *GOOGLE, "yes=1", **vertex)
    try:
        wait_until(lambda: len(fake.jobs()) == 2, what="two Veo jobs started")
        os.killpg(build.pid, signal.SIGKILL)
        build.wait()
    finally:
        if build.poll() is None:
            os.killpg(build.pid, signal.SIGKILL)
        build.communicate()
    fake.release.set()
    project = only_project(projects)
    status = json.loads(run_doit("status", f"id={project.id}", "format=json").stdout)
    assert status["cost_spent_usd"] == pytest.approx(priced(fake.paid()), abs=1e-4)
    assert resume(project, vertex, "yes=1").returncode == 0
    status = json.loads(run_doit("status", f"id={project.id}", "format=json").stdout)
    assert status["cost_spent_usd"] == pytest.approx(priced(fake.paid()), abs=1e-4)


@pytest.mark.slow
def test_a_project_built_before_the_fields_were_declared_is_not_made_again(
    projects, fake, vertex, monkeypatch
):
    """A project whose scenes an earlier vidpipe built (fingerprinted on every scene field,
    its records without a file stamp) is up to date after the upgrade: nothing is paid."""
    assert generate(vertex, "yes=1").returncode == 0
    project = only_project(projects)
    for name, value in vertex.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(project.root)
    creator = graph.task_creators(project)["task_scene"]
    deps = Dependency(DurableSqliteDB, DEP_FILE)
    for task in generate_tasks("scene", creator()):
        if not task.actions:
            continue
        earlier = task.meta[graph.EARLIER_INPUTS]
        assert earlier != task.meta[graph.INPUTS]  # the upgrade changed the fingerprint
        deps.backend.set(task.name, "_values_:", {"_config_changed": earlier})
        artifact = project.root / task.targets[0]
        record_file = project.provenance_file(artifact)
        record = json.loads(record_file.read_text())
        del record["stamp"]
        record["inputs"] = sha256_text(earlier)
        record_file.write_text(json.dumps(record))
    deps.close()

    before = len(fake.calls)
    result = resume(project, vertex)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"up to date: {project.final_file}" in result.stdout
    assert fake.calls[before:] == []
    status = json.loads(run_doit("status", f"id={project.id}", "format=json", **vertex).stdout)
    assert {scene["clip"]["state"] for scene in status["scenes"]} == {"done"}
    # and a caption edit costs nothing from now on
    edit_scene(project, "s1", caption="Later")
    assert resume(project, vertex).returncode == 0 and fake.calls[before:] == []


def storyboard_record(project) -> dict:
    return json.loads(project.provenance_file(project.storyboard_file).read_text())


def spend_log(project) -> list[dict]:
    return [
        json.loads(line) for line in (project.state_dir / "spent.jsonl").read_text().splitlines()
    ]


@pytest.mark.slow
def test_the_storyboard_is_priced_by_its_tokens_thinking_included(projects, fake, vertex):
    words = ["google.text_max_tokens=4000", "google.text_thinking_level=medium", "until=storyboard"]
    result = generate(vertex, "yes=1", *words)
    assert result.returncode == 0, result.stdout + result.stderr
    (call,) = fake.of_kind("storyboard")
    # the call carries the bound the estimate counts, 4000 tokens out, thinking included, and
    # a thinking level, never a budget (Gemini 3.5 refuses one)
    assert call.body["generationConfig"]["maxOutputTokens"] == 4000
    assert call.thinking == {"thinkingLevel": "MEDIUM"}
    found = re.search(r"gemini-3.5-flash +1 call, <= (\d+) tokens +\$(\d+\.\d\d)", result.stdout)
    assert found, result.stdout
    usage = call.usage
    assert int(found[1]) - 4000 >= usage["promptTokenCount"]  # the input, bounded
    project = only_project(projects)
    at_most = estimated([call], project)
    assert float(found[2]) == pytest.approx(round(at_most, 2))
    # what it did cost: the answer's tokens at the catalog's rates, the thinking as output
    paid = text_priced(call)
    assert 0 < paid < at_most
    record = storyboard_record(project)
    assert record["cost_usd"] == pytest.approx(paid)
    assert record["extra"]["tokens"] == {
        "input": usage["promptTokenCount"],
        "output": usage["candidatesTokenCount"],
        "thinking": usage["thoughtsTokenCount"],
    }
    # reserved in full as the call was sent, then settled: what was spent is what it cost
    reserved, settled = spend_log(project)
    assert reserved["usd"] == pytest.approx(at_most, abs=1e-6)
    assert settled["usd"] == pytest.approx(paid - at_most, abs=1e-6)
    assert "thinking tokens" in settled["for"]
    status = json.loads(run_doit("status", f"id={project.id}", "format=json").stdout)
    assert status["cost_spent_usd"] == pytest.approx(paid, abs=1e-4)


@pytest.mark.slow
def test_a_storyboard_cut_off_at_its_token_limit_says_what_to_raise(projects, fake, vertex):
    fake.faults.append(Fault("storyboard", cut_off=True))
    result = generate(vertex, "yes=1")
    assert result.returncode == 1
    assert "gemini-3.5-flash was cut off at google.text_max_tokens=8192 tokens" in result.stdout
    assert "(its thinking included)" in result.stdout
    assert "raise google.text_max_tokens, or lower google.text_thinking_level (now low)" in (
        result.stdout
    )
    assert result.stderr == ""  # no traceback of a JSON parser
    project = only_project(projects)
    assert not project.storyboard_file.exists()
    # the cut-off answer is paid for, at its tokens
    (call,) = fake.of_kind("storyboard")
    assert call.thinking == {"thinkingLevel": "LOW"}  # the default
    assert call.usage["candidatesTokenCount"] + call.usage["thoughtsTokenCount"] == 8192
    status = json.loads(run_doit("status", f"id={project.id}", "format=json").stdout)
    assert status["cost_spent_usd"] == pytest.approx(text_priced(call), abs=1e-4)
    # nothing counts as built: a resume asks again
    result = resume(project, vertex, "yes=1", "until=storyboard")
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(fake.of_kind("storyboard")) == 2 and project.storyboard_file.exists()


@pytest.mark.slow
def test_an_answer_without_token_counts_is_charged_the_most_it_may_cost(projects, fake, vertex):
    fake.faults.append(Fault("storyboard", no_usage=True))
    result = generate(vertex, "yes=1", "until=storyboard")
    assert result.returncode == 0, result.stdout + result.stderr
    project = only_project(projects)
    at_most = estimated(fake.paid(), project)
    record = storyboard_record(project)
    assert record["cost_usd"] == pytest.approx(at_most)
    assert record["extra"]["tokens"] is None
    assert "the answer had no token counts (usage_metadata)" in record["extra"]["billed"]
    status = json.loads(run_doit("status", f"id={project.id}", "format=json").stdout)
    assert status["cost_spent_usd"] == pytest.approx(at_most, abs=1e-4)
