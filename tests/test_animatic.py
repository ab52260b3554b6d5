"""The offline animatic's content: storyboards shaped by the prompt's kind, keyframes about their
words (read from the painter's own layers)."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
import yaml

from vidpipe import templates
from vidpipe.errors import BadInput
from vidpipe.providers.local import plan_scenes
from vidpipe.providers.local_paint import paint_layers, read_look
from vidpipe.providers.local_story import kinds, pick_beats
from vidpipe.providers.local_subjects import figure_for

PROMPTS = {
    "story": "A lighthouse keeper finds a message in a bottle",
    "explainer": "How to make a perfect cup of coffee",
    "product": "An ad for a solar-powered backpack that charges your phone",
    "place": "A weekend trip to Lisbon",
    "mood": "A dreamy music video about summer nights in the city",
}
TEXT_FIELDS = ("title", "description", "image_prompt", "video_prompt", "caption", "narration")


def beats_of(kind: str) -> list[dict]:
    return yaml.safe_load((templates.templates_dir() / "storyboard" / f"{kind}.yaml").read_text())[
        "beats"
    ]


@pytest.mark.parametrize("kind", sorted(PROMPTS))
@pytest.mark.parametrize("count", [3, 6, 10])
def test_each_kind_of_prompt_gets_the_beats_of_its_kind(kind, count):
    prompt = PROMPTS[kind]
    board = plan_scenes(prompt, "watercolor", count, 4.0)
    assert len(board.scenes) == count
    expected = [
        beat["title"] + (f" ({part})" if part > 1 else "")
        for beat, part in pick_beats(beats_of(kind), count)
    ]
    assert [scene.title for scene in board.scenes] == expected
    captions = [scene.caption for scene in board.scenes]
    assert len(set(captions)) == count, captions
    for scene in board.scenes:
        for field in TEXT_FIELDS:
            text = getattr(scene, field)
            # a narration may be left out where the scene is too short to say it in
            assert text or field == "narration", (scene.id, field)
            if not text:
                continue
            assert prompt.lower() not in text.lower(), (scene.id, field, text)
            assert "{" not in text and "  " not in text and " ," not in text, text
        for field in ("description", "narration"):  # sentences: a capital, a full stop
            text = getattr(scene, field)
            assert not text or (text[0].isupper() and text[-1] in ".!?"), (field, text)
    assert any(scene.narration for scene in board.scenes)  # the narrator has something to say
    assert prompt.lower() not in board.title.lower()


@pytest.mark.parametrize(
    ("prompt", "phrases"),
    [
        (PROMPTS["story"], ["the lighthouse keeper", "the message in a bottle"]),
        (PROMPTS["explainer"], ["make a perfect cup of coffee", "the perfect cup of coffee"]),
        (PROMPTS["product"], ["the solar-powered backpack", "charges your phone"]),
        (PROMPTS["place"], ["Lisbon"]),
        (PROMPTS["mood"], ["summer nights", "in the city"]),
        ("Mara and Theo build a raft to cross the river", ["Mara and Theo", "the raft"]),
    ],
)
def test_the_storyboard_uses_the_prompts_own_phrases(prompt, phrases):
    board = plan_scenes(prompt, "plain", 6, 4.0)
    text = " ".join(getattr(scene, field) for scene in board.scenes for field in TEXT_FIELDS)
    for phrase in phrases:
        assert phrase in text, phrase
    # the whole prompt is never pasted into a sentence ("the main character of how to ...")
    assert not re.search(r"\bof (a|an|the) \w+ (finds|learns|builds)\b", text)


def test_a_story_names_its_characters_and_a_how_to_has_none():
    story = plan_scenes("Mara and Theo build a raft to cross the river", "plain", 6, 4.0)
    assert [who.name for who in story.characters] == ["Mara", "Theo"]
    assert plan_scenes(PROMPTS["explainer"], "plain", 6, 4.0).characters == []


def test_a_user_adds_a_kind_by_adding_a_file(tmp_path, monkeypatch):
    folder = tmp_path / "templates"
    shutil.copytree(templates.templates_dir(), folder)
    recipe = {
        "kind": "wedding",
        "match": ["wedding", "bride"],
        "title": "{{ cap(subject) }}",
        "beats": [
            {
                "title": title,
                "rank": rank,
                "description": f"{title} at {{{{ the_subject }}}}.",
                "image_prompt": "Wide shot at golden hour: {{ the_subject }}.",
                "video_prompt": "Guests smile.",
                "camera": "slow pan right",
                "caption": title,
                "narration": f"{title}.",
            }
            for rank, title in enumerate(["The vows", "The rings", "The dance"], start=1)
        ],
    }
    (folder / "storyboard" / "wedding.yaml").write_text(yaml.safe_dump(recipe))
    monkeypatch.setenv(templates.TEMPLATES_ENV, str(folder))
    assert "wedding" in [kind.name for kind in kinds()]
    board = plan_scenes("A summer wedding in the garden", "plain", 3, 4.0)
    assert [scene.title for scene in board.scenes] == ["The vows", "The rings", "The dance"]
    assert board.scenes[0].description == "The vows at the summer wedding."


# --- keyframes -----------------------------------------------------------------------------------

SIZE = (320, 180)


def paint(image_prompt: str, context: str = "", style: str = "plain", characters=()):
    return paint_layers(
        SIZE, image_prompt=image_prompt, context=context, style=style, characters=characters
    )


def shown(image, layer) -> float:
    """The share of a layer's opaque pixels that the finished picture shows as the layer drew
    them (not hidden under a later layer)."""
    pixels = np.asarray(layer.image)
    opaque = pixels[..., 3] == 255
    assert opaque.sum() > 50, f"{layer.name} drew almost nothing"
    same = np.all(np.abs(np.asarray(image)[opaque].astype(int) - pixels[opaque][:, :3]) <= 2, 1)
    return float(same.mean())


@pytest.mark.parametrize(
    ("words", "subject"),
    [
        ("Wide shot at dusk: a lighthouse on the cliffs", "lighthouse"),
        ("Close-up detail shot at midday: a message in a bottle", "bottle"),
        ("Medium shot at night: a robot in the workshop", "robot"),
        ("Wide shot in the morning: a red car parked outside", "car"),
        ("Medium shot in the afternoon: a cat asleep on the sofa", "cat"),
        ("Close-up shot: a steaming cup of coffee", "cup"),
    ],
)
def test_a_subject_the_words_name_is_drawn(words, subject):
    image, layers = paint(words)
    names = [layer.name for layer in layers]
    assert f"subject:{subject}" in names, names
    layer = next(layer for layer in layers if layer.name == f"subject:{subject}")
    assert shown(image, layer) > 0.9


def test_no_subject_is_drawn_for_words_that_only_contain_one():
    # "cartoon" contains "car", "category" contains "cat": whole words only
    _, layers = paint("Wide shot in the morning, a cartoon category of hills")
    assert not [layer.name for layer in layers if layer.name.startswith("subject:")]


@pytest.mark.parametrize(
    ("words", "setting"),
    [
        ("Wide shot at night: a rainy street", "street"),
        ("Wide shot: tall trees", "forest"),
        ("Wide shot at dawn: the harbour", "sea"),
        ("Medium shot in the kitchen", "room"),
        ("Wide shot: the snowy peaks", "mountains"),
        ("Wide shot: the streets of Tokyo", "street"),
    ],
)
def test_settings_come_from_whole_words(words, setting):
    assert read_look(words, "", "plain").setting == setting
    _, layers = paint(words)
    assert f"setting:{setting}" in [layer.name for layer in layers]


def test_two_characters_are_two_different_figures_the_same_in_every_scene():
    cast = ["Mara", "Theo"]
    image, layers = paint("Wide shot at golden hour: Mara and Theo by the river", characters=cast)
    figures = {layer.name: layer for layer in layers if layer.name.startswith("character:")}
    assert set(figures) == {"character:Mara", "character:Theo"}
    assert figure_for("Mara") != figure_for("Theo")
    for layer in figures.values():
        assert shown(image, layer) > 0.9
    masks = [np.asarray(layer.image)[..., 3] == 255 for layer in figures.values()]
    assert not (masks[0] & masks[1]).any()  # side by side, not on top of each other

    def body_colour(layer):
        pixels = np.asarray(layer.image)
        opaque = pixels[pixels[..., 3] == 255][:, :3]
        colours, counts = np.unique(opaque, axis=0, return_counts=True)
        return tuple(colours[counts.argmax()])

    # in another scene, another shot: Mara is drawn in the same colour
    _, later = paint("Close-up shot at night: Mara alone", characters=cast)
    (mara,) = [layer for layer in later if layer.name.startswith("character:")]
    assert mara.name == "character:Mara"
    assert body_colour(mara) == body_colour(figures["character:Mara"])


def test_the_style_keeps_its_visible_effect():
    noir, _ = paint("Wide shot at dusk: a lighthouse", style="noir")
    pixels = np.asarray(noir).astype(int)
    assert (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()
    plain, _ = paint("Wide shot at dusk: a lighthouse", style="plain")
    watercolor, _ = paint("Wide shot at dusk: a lighthouse", style="watercolor")
    difference = np.abs(np.asarray(plain).astype(int) - np.asarray(watercolor).astype(int))
    assert difference.mean() > 5


def test_keyframes_have_no_text(tmp_path):
    """Text is laid over the clip (it must not move with the camera): the keyframe is only
    the picture, whatever the caption."""
    from vidpipe.providers.local_paint import paint_keyframe

    first, second = tmp_path / "a.png", tmp_path / "b.png"
    for path in (first, second):
        paint_keyframe(path, SIZE, image_prompt="Wide shot: the sea", context="", style="plain")
    assert first.read_bytes() == second.read_bytes()


def test_the_provider_paints_the_storyboards_characters(tmp_path):
    board = plan_scenes("Mara and Theo build a raft to cross the river", "plain", 6, 4.0)
    scene = next(scene for scene in board.scenes if scene.title == "The protagonist")
    _, layers = paint_layers(
        SIZE,
        image_prompt=scene.image_prompt,
        context=f"{scene.title}. {scene.description}",
        style="plain",
        characters=[who.name for who in board.characters],
    )
    assert {"character:Mara", "character:Theo"} <= {layer.name for layer in layers}
    assert scene.characters == ["mara", "theo"]  # the planner lists who is in the scene


def test_every_kind_file_is_valid():
    for kind in kinds():
        assert kind.spec["beats"], kind.name
        assert sum(1 for beat in kind.spec["beats"] if beat.get("development")) == 1, kind.name
        needed = {"title", "rank", "description", "image_prompt", "video_prompt", "camera"}
        for beat in kind.spec["beats"]:
            assert needed <= set(beat), (kind.name, beat.get("title"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("beats: [unclosed", "not valid YAML"),
        ("title: x\nbeats: []\n", "no beats"),
        ("title: x\nbeats:\n  - title: A\n    rank: 1\n", "beat 1 has no description"),
        (
            "title: x\nbeats:\n  - {title: A, rank: 1, description: '{{ nonsense }}', "
            "image_prompt: a, video_prompt: b, camera: pan}\n",
            "'nonsense' is undefined; fix the template",
        ),
        (
            "title: x\nbeats:\n  - {title: A, rank: 1, description: '', "
            "image_prompt: a, video_prompt: b, camera: pan}\n",
            "makes a scene whose description is invalid",
        ),
    ],
)
def test_a_broken_kind_file_is_one_clear_error(tmp_path, monkeypatch, content, message):
    folder = tmp_path / "templates"
    shutil.copytree(templates.templates_dir(), folder)
    for path in (folder / "storyboard").glob("*.yaml"):
        path.unlink()
    (folder / "storyboard" / "broken.yaml").write_text(content)
    monkeypatch.setenv(templates.TEMPLATES_ENV, str(folder))
    with pytest.raises(BadInput) as err:
        plan_scenes("A lighthouse keeper finds a message in a bottle", "plain", 2, 4.0)
    text = str(err.value)
    assert "broken.yaml" in text and message in text, text
    assert "\n" not in text
