"""Characters that stay the same: the storyboard's characters, a portrait of each
(`character:<id>`), and keyframes made from the portraits of their scene's cast, so that editing
one character re-draws exactly the scenes that show the character."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import mtimes, only_project, run_doit
from PIL import Image

from vidpipe.build.estimate import plan_build
from vidpipe.errors import BadInput
from vidpipe.inputs import artifacts
from vidpipe.project.folder import Project
from vidpipe.project.storyboard import MAX_PLANNED_CHARACTERS, parse_storyboard
from vidpipe.providers.local_story import plan_storyboard

SCENE = {
    "title": "At sea",
    "description": "They sail.",
    "image_prompt": "A boat at sea",
    "video_prompt": "Waves",
    "duration": 1,
}


def board(**extra) -> dict:
    return {"title": "T", "scenes": [{**SCENE, "id": "s1"}], **extra}


def test_a_scene_naming_an_unknown_character_is_refused_naming_the_scene_and_the_id():
    data = board(characters=[{"id": "mara", "name": "Mara"}])
    data["scenes"][0]["characters"] = ["mara", "tomas"]
    with pytest.raises(BadInput) as err:
        parse_storyboard(json.dumps(data), "storyboard.json")
    message = str(err.value)
    assert message.startswith("storyboard.json: scene 1 (id 's1') names the character 'tomas'")
    assert "(ids: mara)" in message and "\n" not in message


def test_two_characters_with_one_id_are_refused():
    data = board(characters=[{"id": "mara", "name": "Mara"}, {"id": "mara", "name": "M"}])
    with pytest.raises(BadInput, match="two characters have the id 'mara'"):
        parse_storyboard(json.dumps(data), "storyboard.json")


def test_an_older_storyboard_with_free_text_characters_still_loads(tmp_path):
    storyboard = parse_storyboard(json.dumps(board(characters="Mara: a tall sailor")), "old")
    assert storyboard.characters == [] and storyboard.characters_text == "Mara: a tall sailor"
    project = Project(tmp_path)
    (tmp_path / "project.yaml").write_text("prompt: Mara at sea\n")
    made = [artifact.task for artifact in artifacts(project, storyboard)]
    assert not any(task.startswith("character:") for task in made)  # no portraits: as before


def test_the_offline_planner_lists_the_characters_and_who_is_in_each_scene():
    storyboard = plan_storyboard("Mara and Tomas sail to the lighthouse", "watercolor", 3, 2)
    assert [(c.id, c.name) for c in storyboard.characters] == [("mara", "Mara"), ("tomas", "Tomas")]
    assert all(scene.characters for scene in storyboard.scenes)


def test_each_keyframe_is_made_from_the_portraits_of_its_scene_cast(tmp_path):
    data = board(characters=[{"id": "mara", "name": "Mara"}, {"id": "tomas", "name": "Tomas"}])
    data["scenes"] = [
        {**SCENE, "id": "s1", "characters": ["mara"]},
        {**SCENE, "id": "s2", "characters": []},
        {**SCENE, "id": "s3", "characters": ["tomas", "mara"]},
    ]
    storyboard = parse_storyboard(json.dumps(data), "storyboard.json")
    (tmp_path / "project.yaml").write_text("prompt: Mara and Tomas\n")
    project = Project(tmp_path)
    made = {artifact.task: artifact for artifact in artifacts(project, storyboard)}
    assert made["character:mara"].target == tmp_path / "characters" / "mara.png"
    portraits = {
        task: {path.name for path in made[task].files if path.parent.name == "characters"}
        for task in ("scene:s1-keyframe", "scene:s2-keyframe", "scene:s3-keyframe")
    }
    assert portraits == {
        "scene:s1-keyframe": {"mara.png"},
        "scene:s2-keyframe": set(),
        "scene:s3-keyframe": {"mara.png", "tomas.png"},
    }


# --- a real build --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A finished 3-scene project whose cast differs per scene: s1 Mara, s2 Tomas, s3 both."""
    root = tmp_path_factory.mktemp("cast") / "projects"
    env = {"VIDPIPE_PROJECTS": str(root)}
    words = ["prompt=Mara and Tomas sail to the lighthouse", "scenes=3", "clip_duration=1"]
    result = run_doit("generate", *words, "resolution=360p", "narration=0", "music=0", **env)
    assert result.returncode == 0, result.stderr + result.stdout
    project = only_project(root)
    data = json.loads(project.storyboard_file.read_text())
    for scene, cast in zip(data["scenes"], [["mara"], ["tomas"], ["mara", "tomas"]], strict=True):
        scene["characters"] = cast
    project.storyboard_file.write_text(json.dumps(data, indent=2))
    result = run_doit("resume", f"id={project.id}", **env)
    assert result.returncode == 0, result.stderr + result.stdout
    return project.root


@pytest.fixture
def project(built, projects) -> Project:
    projects.mkdir()
    return Project(Path(shutil.copytree(built, projects / built.name)))


def resume(project: Project) -> None:
    result = run_doit("resume", f"id={project.id}")
    assert result.returncode == 0, result.stderr + result.stdout


def changed_pictures(project: Project, before: dict[str, int]) -> set[str]:
    after = mtimes(project.root)
    return {
        name
        for name in before.keys() | after.keys()
        if before.get(name) != after.get(name) and name.startswith(("characters/", "keyframes/"))
    }


def has_colour(picture: Path, colour: tuple[int, int, int]) -> bool:
    """Whether the picture has a patch of about `colour` (a figure, not a stray pixel)."""
    with Image.open(picture) as image:
        counted = image.convert("RGB").getcolors(maxcolors=1 << 24) or []
    near = sum(
        n for n, c in counted if max(abs(a - b) for a, b in zip(c, colour, strict=True)) < 40
    )
    return near > 50


@pytest.mark.slow
def test_editing_one_character_redraws_exactly_the_scenes_that_show_it(project):
    data = json.loads(project.storyboard_file.read_text())
    tomas = next(c for c in data["characters"] if c["id"] == "tomas")
    tomas["description"] = "a fisherman in a green coat"
    project.storyboard_file.write_text(json.dumps(data, indent=2))

    plan = plan_build(project)  # what the estimate says will be redone
    assert plan.steps is not None
    assert {s for s in plan.steps if s.startswith(("character:", "scene:"))} == {
        "character:tomas",
        "scene:s2-keyframe",
        "scene:s3-keyframe",
        "scene:s2-clip",
        "scene:s3-clip",
    }
    before = mtimes(project.root)
    resume(project)
    assert changed_pictures(project, before) == {
        "characters/tomas.png",
        "keyframes/s2.png",
        "keyframes/s3.png",
    }
    assert plan_build(project).nothing_to_do


@pytest.mark.slow
def test_a_portrait_replaced_by_hand_is_kept_and_recolours_its_scenes(project):
    portrait = project.portrait_file("mara")
    green = (0, 255, 0)  # a colour the painted scene has nowhere
    assert not has_colour(project.keyframe_file("s1"), green)
    Image.new("RGB", (64, 64), green).save(portrait)
    before = mtimes(project.root)

    plan = plan_build(project)
    assert plan.steps is not None
    assert {s for s in plan.steps if s.startswith(("character:", "scene:"))} == {
        "scene:s1-keyframe",
        "scene:s3-keyframe",
        "scene:s1-clip",
        "scene:s3-clip",
    }
    resume(project)
    assert changed_pictures(project, before) == {"keyframes/s1.png", "keyframes/s3.png"}
    assert portrait.stat().st_mtime_ns == before["characters/mara.png"]  # kept as it is
    assert has_colour(project.keyframe_file("s1"), green)  # Mara, as her portrait shows her
    assert not has_colour(project.keyframe_file("s2"), green)


@pytest.mark.slow
def test_a_portrait_placed_by_hand_before_it_is_drawn_is_kept(project):
    data = json.loads(project.storyboard_file.read_text())
    data["characters"].append({"id": "gull", "name": "Gull", "description": "a white bird"})
    data["scenes"][1]["characters"] = ["tomas", "gull"]
    project.storyboard_file.write_text(json.dumps(data, indent=2))
    placed = project.portrait_file("gull")
    Image.new("RGB", (64, 64), (10, 10, 200)).save(placed)
    placed_bytes = placed.read_bytes()
    before = mtimes(project.root)

    resume(project)
    assert placed.read_bytes() == placed_bytes
    assert changed_pictures(project, before) == {"keyframes/s2.png"}
    assert plan_build(project).nothing_to_do


# --- Google, against the loopback fake with the real SDK ----------------------------------

CAST = {"Mara": "a tall sailor in a red coat", "Tomas": "a boy with a green scarf"}


def sent_images(call) -> list[bytes]:
    parts = [p for c in call.body.get("contents", []) for p in c.get("parts", [])]
    return [base64.urlsafe_b64decode(p["inlineData"]["data"]) for p in parts if "inlineData" in p]


@pytest.mark.slow
def test_google_keyframes_take_the_portraits_of_their_scene_cast(projects, fake, vertex):
    from test_google import GOOGLE, estimate_in, estimated, priced, scene_of

    fake.cast, fake.cast_in = dict(CAST), {1: ["Mara"], 2: ["Tomas"], 3: ["Tomas", "Mara"]}
    prompt = "prompt=A lighthouse keeper"
    result = run_doit("generate", prompt, *GOOGLE, "yes=1", **vertex)
    assert result.returncode == 0, result.stdout + result.stderr
    project = only_project(projects)
    images = fake.of_kind("image")
    portraits = [call for call in images if "character sheet portrait" in call.text]
    # a new storyboard's characters are not known before it is written: all else is priced,
    # and the portraits at most as many as a storyboard names
    unpriced = [call for call in fake.paid() if call not in portraits]
    assert estimate_in(result.stdout) == pytest.approx(round(estimated(unpriced, project), 2))
    up_to = re.search(r"and up to \$(\d+\.\d\d) for portraits \(at most (\d):", result.stdout)
    assert up_to, result.stdout
    assert int(up_to[2]) == MAX_PLANNED_CHARACTERS >= len(portraits) == 2
    each = priced(portraits) / len(portraits)
    assert float(up_to[1]) == pytest.approx(round(each * MAX_PLANNED_CHARACTERS, 2))
    assert sorted(re.search(r"portrait of (\w+)", c.text)[1] for c in portraits) == [
        "Mara",
        "Tomas",
    ]
    assert all(c.body["generationConfig"]["imageConfig"]["aspectRatio"] == "1:1" for c in portraits)
    mara, tomas = (project.portrait_file(i).read_bytes() for i in ("mara", "tomas"))
    first = project.keyframe_file("s1").read_bytes()
    keyframes = {scene_of(call): call for call in images if call not in portraits}
    # each keyframe: the first scene's keyframe (the style frame), then its cast's portraits
    assert sent_images(keyframes["s1"]) == [mara]
    assert sent_images(keyframes["s2"]) == [first, tomas]
    assert sent_images(keyframes["s3"]) == [first, tomas, mara]
    assert "Mara: a tall sailor in a red coat. Attached image 3 is their portrait" in (
        keyframes["s3"].text
    )

    # one character edited: its portrait, the keyframes and clips of its scenes, nothing else
    data = json.loads(project.storyboard_file.read_text())
    data["characters"][1]["description"] = "a boy with a yellow scarf"
    project.storyboard_file.write_text(json.dumps(data, indent=2))
    calls_before = len(fake.calls)
    again = run_doit("resume", f"id={project.id}", "yes=1", **vertex)
    assert again.returncode == 0, again.stdout + again.stderr
    made = [call for call in fake.calls[calls_before:] if call.kind != "poll"]
    assert sorted(
        "portrait" if "character sheet" in c.text else f"{c.kind} {scene_of(c)}" for c in made
    ) == ["image s2", "image s3", "portrait", "video s2", "video s3"]
    assert estimate_in(again.stdout) == pytest.approx(round(priced(made), 2))


@pytest.mark.slow
def test_veo_asset_references_make_a_clip_from_its_cast_portraits(projects, fake, vertex):
    from test_google import GOOGLE, scene_of

    fake.cast, fake.cast_in = dict(CAST), {1: ["Mara"], 3: ["Tomas", "Mara"]}
    words = ["prompt=A lighthouse keeper", *GOOGLE, "google.asset_references=1", "yes=1"]
    result = run_doit("generate", *words, **vertex)
    assert result.returncode == 0, result.stdout + result.stderr
    project = only_project(projects)
    sent = {scene_of(call): call.body["instances"][0] for call in fake.of_kind("video")}
    assets = {
        scene: [
            (ref.get("referenceType"), base64.b64decode(ref["image"]["bytesBase64Encoded"]))
            for ref in instance.get("referenceImages", [])
        ]
        for scene, instance in sent.items()
    }
    mara, tomas = (project.portrait_file(i).read_bytes() for i in ("mara", "tomas"))
    assert assets == {"s1": [("ASSET", mara)], "s2": [], "s3": [("ASSET", tomas), ("ASSET", mara)]}
    # Veo takes asset images instead of a first frame: only the scene without a cast sends one
    assert {scene for scene, instance in sent.items() if "image" in instance} == {"s2"}


@pytest.mark.slow
def test_veo_asset_references_are_refused_where_the_model_takes_none(projects, fake, vertex):
    from test_google import GOOGLE

    words = ["prompt=A lighthouse keeper", *GOOGLE, "google.asset_references=1", "yes=1"]
    lite = "google.video_model=veo-3.1-lite-generate-001"
    result = run_doit("generate", *words, lite, **vertex)
    assert result.returncode == 4, result.stdout + result.stderr
    assert "veo-3.1-lite-generate-001 takes no asset reference images" in (
        result.stdout + result.stderr
    )
    assert fake.paid() == []
