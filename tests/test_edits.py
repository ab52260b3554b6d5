"""Hand edits: one edited scene rebuilds that scene and the final cut, nothing else; invalid
edits are refused and change nothing; a hand edit is never overwritten."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import mtimes, only_project, probe, run_doit
from PIL import Image

from vidpipe.project.folder import Project

pytestmark = pytest.mark.slow  # doit builds


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """One finished 4-scene project, copied (mtimes kept) into each test's projects folder."""
    root = tmp_path_factory.mktemp("built") / "projects"
    result = run_doit(
        "generate", "prompt=A kite over the sea", "scenes=4", "clip_duration=1",
        "resolution=360p", VIDPIPE_PROJECTS=str(root),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    return only_project(root).root


@pytest.fixture
def project(built, projects) -> Project:
    projects.mkdir()
    return Project(Path(shutil.copytree(built, projects / built.name)))


# a new picture re-cuts the film: the cut, its soundtrack (the clips' own sound is mixed in)
# and the final mux
CUT = {"sound/picture.mp4", "sound/soundtrack.m4a", "final.mp4"}
# a new length (or order) also makes the music bed and retimes the subtitles
RETIMED = {"sound/music.wav", "final.srt", "final.vtt"}


def storyboard(project: Project) -> dict:
    return json.loads(project.storyboard_file.read_text())


def save(project: Project, data: dict) -> None:
    project.storyboard_file.write_text(json.dumps(data, indent=2))


def changed_files(project: Project, before: dict[str, int]) -> set[str]:
    after = mtimes(project.root)
    return {
        name
        for name in before.keys() | after.keys()
        if before.get(name) != after.get(name) and not name.startswith(".vidpipe/")
    }


def resume(project: Project) -> str:
    result = run_doit("resume", f"id={project.id}")
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def test_editing_one_scene_rebuilds_that_scene_and_the_final_cut(project):
    data = storyboard(project)
    data["scenes"][1]["image_prompt"] = "Close-up at night of a red kite tangled in a mast"
    save(project, data)
    before = mtimes(project.root)

    resume(project)
    assert changed_files(project, before) == {"keyframes/s2.png", "clips/s2.mp4"} | CUT
    assert storyboard(project) == data  # the hand edit is kept as it is


def test_changing_a_duration_rebuilds_only_that_clip(project):
    data = storyboard(project)
    data["scenes"][2]["duration"] = 2.5
    save(project, data)
    before = mtimes(project.root)

    resume(project)
    assert changed_files(project, before) == {"clips/s3.mp4"} | CUT | RETIMED
    assert probe(project.clip_file("s3")).frames == 60
    assert probe(project.final_file).frames == 24 * 3 + 60


def test_inserting_a_scene_builds_only_the_new_scene(project):
    data = storyboard(project)
    new = dict(data["scenes"][0], id="storm", title="A storm", image_prompt="Wide shot at dusk")
    data["scenes"].insert(2, new)
    save(project, data)
    before = mtimes(project.root)

    out = resume(project)
    added = {"keyframes/storm.png", "clips/storm.mp4"}
    assert changed_files(project, before) == added | CUT | RETIMED
    assert "scene storm: clip" in out
    assert probe(project.final_file).frames == 5 * 24


@pytest.mark.parametrize("change", ["delete", "reorder"])
def test_deleting_or_reordering_scenes_only_restitches(project, change):
    data = storyboard(project)
    if change == "delete":
        del data["scenes"][1]
    else:
        data["scenes"].reverse()
    save(project, data)
    before = mtimes(project.root)

    out = resume(project)
    # the music bed is the film's length: a reorder keeps it
    music = {"sound/music.wav"} if change == "delete" else set()
    assert changed_files(project, before) == CUT | RETIMED - {"sound/music.wav"} | music
    assert "scene" not in out
    assert probe(project.final_file).frames == len(data["scenes"]) * 24


def test_a_keyframe_replaced_by_hand_is_animated_and_kept(project):
    painted = project.keyframe_file("s3")
    Image.new("RGB", (640, 360), (200, 30, 30)).save(painted)
    before = mtimes(project.root)

    resume(project)
    assert changed_files(project, before) == {"clips/s3.mp4"} | CUT
    with Image.open(painted) as image:  # the user's picture, not a repainted one
        assert image.getpixel((320, 180)) == (200, 30, 30)


INVALID_EDITS = [
    (lambda text, data: text[:-20], "not valid JSON"),
    (lambda text, data: json.dumps({**data, "scenes": []}), "scenes: List should have at least 1"),
    (
        lambda text, data: json.dumps(
            {**data, "scenes": [{k: v for k, v in s.items() if k != "image_prompt"}
                                if s["id"] == "s2" else s for s in data["scenes"]]}
        ),
        "scene 2 (id 's2'), field 'image_prompt': missing (required)",
    ),
    (
        lambda text, data: json.dumps(
            {**data, "scenes": [dict(s, duration=-1) if s["id"] == "s3" else s
                                for s in data["scenes"]]}
        ),
        "scene 3 (id 's3'), field 'duration': Input should be greater than 0 (got -1)",
    ),
    (
        lambda text, data: json.dumps(
            {**data, "scenes": [dict(s, id="s1") for s in data["scenes"]]}
        ),
        "scene 2 reuses the id 's1'",
    ),
    (
        lambda text, data: json.dumps(
            {**data, "scenes": [dict(s, id="../x") if s["id"] == "s4" else s
                                for s in data["scenes"]]}
        ),
        "scene 4 (id '../x'), field 'id': String should match pattern",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("edit", "message"), INVALID_EDITS)
def test_an_invalid_edit_is_refused_and_changes_nothing(project, edit, message):
    text = project.storyboard_file.read_text()
    broken = edit(text, json.loads(text))
    project.storyboard_file.write_text(broken)
    before = mtimes(project.root)

    result = run_doit("resume", f"id={project.id}")
    assert result.returncode == 4
    assert str(project.storyboard_file) in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    lock = ".vidpipe/lock"  # the refused build held the lock, and wrote its pid there
    assert {k: v for k, v in mtimes(project.root).items() if k != lock} == {
        k: v for k, v in before.items() if k != lock
    }
    assert project.storyboard_file.read_text() == broken


def test_a_hand_edited_storyboard_survives_new_settings(project):
    data = storyboard(project)
    data["title"] = "My own title"
    save(project, data)
    settings = yaml.safe_load(project.settings_file.read_text())
    settings["prompt"] = "Something else entirely"
    project.settings_file.write_text(yaml.safe_dump(settings))

    out = resume(project)
    assert "edited by hand; it is kept" in out
    assert storyboard(project) == data


def test_an_untouched_storyboard_follows_new_settings(project):
    settings = yaml.safe_load(project.settings_file.read_text())
    settings["scenes"] = 2
    project.settings_file.write_text(yaml.safe_dump(settings))

    resume(project)
    assert [scene["id"] for scene in storyboard(project)["scenes"]] == ["s1", "s2"]
    assert probe(project.final_file).frames == 2 * 24
