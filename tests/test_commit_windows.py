"""A build killed (SIGKILL) in a commit window, between an artifact's rename and doit's record
of its task, is resumed without making that artifact again: real builds, killed by
tests/kill_at.py right after the rename (or the deletion of the saved Veo job), then resumed.
With Google, the resume makes zero calls for what was on disk."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import FAST, REPO, doit_env, only_project, run_doit
from test_google import GOOGLE, resume, scene_of

pytestmark = pytest.mark.slow  # doit builds, killed and resumed

KILL_AT = Path(__file__).with_name("kill_at.py")


def killed_build(env: dict[str, str], *words: str, **kill: str) -> None:
    """`doit WORDS...`, killed at the moment `kill` names (see kill_at.py)."""
    result = subprocess.run(
        [sys.executable, str(KILL_AT), *words],
        cwd=REPO,
        env=doit_env(**env, **kill),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == -9, result.stdout + result.stderr


def google_build_killed(vertex, **kill: str) -> None:
    # one step at a time, in the graph's order: s1 keyframe, s1 clip, s2 keyframe, ...
    words = ["generate", "prompt=A lighthouse keeper", *GOOGLE, "workers=1", "yes=1"]
    killed_build(vertex, *words, **kill)


def calls_for(fake, calls, scene_id: str) -> list[str]:
    """The kinds of `calls` made for a scene (a poll belongs to its job's scene)."""
    kinds = []
    for call in calls:
        if call.kind == "poll":
            job = fake.operations.get(call.body["operationName"])
            if job is not None and scene_of(job.call) == scene_id:
                kinds.append("poll")
        elif call.kind != "storyboard" and scene_of(call) == scene_id:
            kinds.append(call.kind)
    return kinds


def resumed(projects, fake, vertex) -> list:
    project = only_project(projects)
    before = len(fake.calls)
    result = resume(project, vertex, "yes=1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "edited by hand" not in result.stdout
    return fake.calls[before:]


def test_a_kill_after_a_keyframe_is_in_place_does_not_draw_it_again(projects, fake, vertex):
    google_build_killed(vertex, KILL_AFTER_COMMIT="keyframes/s2.png")
    project = only_project(projects)
    assert project.keyframe_file("s2").exists() and not project.clip_file("s2").exists()
    new = resumed(projects, fake, vertex)
    assert calls_for(fake, new, "s2") == ["video", "poll", "poll"]  # its clip only
    assert calls_for(fake, new, "s1") == []


def test_a_kill_after_a_clip_is_in_place_makes_no_call_for_it(projects, fake, vertex):
    google_build_killed(vertex, KILL_AFTER_COMMIT="clips/s1.mp4")
    assert only_project(projects).clip_file("s1").exists()
    new = resumed(projects, fake, vertex)
    assert calls_for(fake, new, "s1") == []
    assert sum(1 for call in fake.jobs() if scene_of(call) == "s1") == 1


def test_a_kill_after_the_saved_job_is_deleted_does_not_pay_again(projects, fake, vertex):
    google_build_killed(vertex, KILL_AFTER_UNLINK="pending/clips/s1.mp4.json")
    new = resumed(projects, fake, vertex)
    assert calls_for(fake, new, "s1") == []
    assert sum(1 for call in fake.jobs() if scene_of(call) == "s1") == 1


def set_prompt(project, prompt: str) -> None:
    settings = yaml.safe_load(project.settings_file.read_text())
    settings["prompt"] = prompt
    project.settings_file.write_text(yaml.safe_dump(settings))


def test_a_kill_after_the_storyboard_is_in_place_is_no_hand_edit(projects, fake, vertex):
    google_build_killed(vertex, KILL_AFTER_COMMIT="/storyboard.json")
    new = resumed(projects, fake, vertex)
    assert [call.kind for call in new].count("storyboard") == 0
    # the prompt still counts: a new one makes a new storyboard
    project = only_project(projects)
    set_prompt(project, "A lighthouse keeper and his cat")
    new = resumed(projects, fake, vertex)
    assert [call.kind for call in new].count("storyboard") == 1


def test_a_storyboard_rewrite_killed_before_its_rename_is_made_again(projects, fake, vertex):
    words = ["generate", "prompt=A lighthouse keeper", *GOOGLE, "yes=1"]
    assert run_doit(*words, **vertex).returncode == 0
    project = only_project(projects)
    set_prompt(project, "A lighthouse keeper and his cat")
    fake.title = "The Keeper's Cat"
    words = ["resume", f"id={project.id}", "yes=1"]
    killed_build(vertex, *words, KILL_AFTER_COMMIT="provenance/storyboard.json.json")
    new = resumed(projects, fake, vertex)  # the old text is ours, not a hand edit: replaced
    assert [call.kind for call in new].count("storyboard") == 1
    assert "his cat" in fake.of_kind("storyboard")[-1].text
    assert '"The Keeper\'s Cat"' in project.storyboard_file.read_text()


def test_a_kill_after_the_final_cut_is_in_place_does_not_cut_it_again(projects):
    killed_build(
        {}, "generate", "prompt=A lighthouse keeper", *FAST, KILL_AFTER_COMMIT="/final.mp4"
    )
    project = only_project(projects)
    assert project.final_file.exists()
    result = run_doit("resume", f"id={project.id}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"up to date: {project.final_file}" in result.stdout


def edit_storyboard(project, change) -> None:
    storyboard = json.loads(project.storyboard_file.read_text())
    change(storyboard)
    project.storyboard_file.write_text(json.dumps(storyboard))


def cast_mara(storyboard: dict) -> None:
    storyboard["characters"] = [{"id": "mara", "name": "Mara", "description": "a sailor in red"}]
    storyboard["scenes"][1]["characters"] = ["mara"]


REMADE = {  # an artifact the pipeline made, a storyboard edit that has it made again
    "clip": ("clips/s2.mp4", lambda board: board["scenes"][1].update(camera="zoom in")),
    "portrait": (
        "characters/mara.png",
        lambda board: board["characters"][0].update(description="a sailor in blue"),
    ),
}


@pytest.mark.parametrize("made, edit", REMADE.values(), ids=REMADE.keys())
def test_a_kill_between_a_remade_artifacts_record_and_its_rename_is_no_hand_placing(
    projects, made: str, edit
):
    assert run_doit("generate", "prompt=A lighthouse keeper", *FAST).returncode == 0
    project = only_project(projects)
    edit_storyboard(project, cast_mara)
    assert run_doit("resume", f"id={project.id}").returncode == 0
    old = (project.root / made).read_bytes()
    edit_storyboard(project, edit)
    killed_build({}, "resume", f"id={project.id}", KILL_AFTER_COMMIT=f"provenance/{made}.json")
    assert (project.root / made).read_bytes() == old  # killed before its rename

    from vidpipe.read.summary import summarize

    said = json.dumps(summarize(project))
    assert "placed by hand" not in said and "outdated" in said
    resumed = run_doit("resume", f"id={project.id}")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "placed by hand" not in resumed.stdout
    assert (project.root / made).read_bytes() != old  # made again, not kept as the user's
    assert not list(project.root.rglob("*.hand-*"))
    assert "placed by hand" not in run_doit("status", f"id={project.id}").stdout
