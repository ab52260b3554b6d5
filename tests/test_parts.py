"""The parts behind the pipeline, in-process: schema, settings, offline provider, durable DB."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest
from doit.dependency import JSONCodec

from vidpipe import fsutil
from vidpipe.build.depdb import DurableSqliteDB
from vidpipe.errors import BadInput
from vidpipe.project.settings import settings_from_words
from vidpipe.project.storyboard import parse_storyboard, storyboard_json
from vidpipe.providers.local import camera_move, plan_scenes
from vidpipe.providers.local_paint import paint_keyframe


def test_planned_storyboard_round_trips_through_the_schema():
    board = plan_scenes("A robot learns to paint", "anime", 11, 4.0)
    assert [scene.id for scene in board.scenes] == [f"s{n}" for n in range(1, 12)]
    assert board.scenes[0].title == "Opening" and board.scenes[-1].title == "Closing"
    assert parse_storyboard(storyboard_json(board), "x") == board


def test_planning_is_deterministic():
    assert plan_scenes("A", "b", 6, 8) == plan_scenes("A", "b", 6, 8)


def test_schema_errors_name_the_scene_and_field():
    board = plan_scenes("A", "b", 2, 8).model_dump()
    board["scenes"][1]["duration"] = "long"
    board["scenes"][1]["colour"] = "red"
    with pytest.raises(BadInput) as err:
        parse_storyboard(json.dumps(board), "storyboard.json")
    text = str(err.value)
    assert "scene 2 (id 's2'), field 'duration'" in text
    assert "scene 2 (id 's2'), field 'colour': Extra inputs are not permitted" in text


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("slow zoom in", ((1.0, 1.125), (0.5, 0.5))),
        ("slow pan right", ((1.2, 1.2), (0.325, 0.675))),
        ("the camera pulls back", ((1.25, 1.0), (0.5, 0.5))),
        ("pan left across the bay", ((1.2, 1.2), (0.85, 0.15))),
        ("tracking right", ((1.2, 1.2), (0.15, 0.85))),
    ],
)
def test_camera_words_choose_the_move(words, expected):
    move = camera_move(words)
    assert (move.zoom, move.x) == expected


def test_provider_words_set_one_or_all_stages():
    words = {"prompt": "x", "provider": "other", "clip_provider": "mine"}
    settings = settings_from_words({**words, "narration_provider": "google"})
    assert settings.providers.model_dump() == {
        "storyboard": "other",
        "keyframe": "other",
        "clip": "mine",
        # provider= names the picture's provider; the sound stages have words of their own
        "narration": "google",
        "music": "local",
    }


def _paint(path, **overrides):
    args = dict(image_prompt="Wide shot at night, noir", context="a city street", style="noir")
    paint_keyframe(path, (320, 180), **{**args, **overrides})
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_keyframes_are_deterministic_and_follow_the_words(tmp_path):
    first = _paint(tmp_path / "a.png")
    assert _paint(tmp_path / "b.png") == first
    assert _paint(tmp_path / "c.png", image_prompt="Wide shot at dawn, noir") != first
    assert _paint(tmp_path / "d.png", style="watercolor") != first


def test_a_failed_write_leaves_no_file(tmp_path):
    target = tmp_path / "clip.mp4"
    with pytest.raises(RuntimeError), fsutil.writing(target) as partial:
        partial.write_bytes(b"half")
        raise RuntimeError("ffmpeg died")
    assert list(tmp_path.iterdir()) == []


def test_durable_db_keeps_records_without_a_clean_shutdown(tmp_path):
    path = str(tmp_path / "deps.sqlite3")
    db = DurableSqliteDB(path, JSONCodec())
    db.set("scene:s1-clip", "_values_:", {"x": 1})
    # no dump(): as if the process was killed here
    rows = sqlite3.connect(path).execute("select task_id from doit").fetchall()
    assert rows == [("scene:s1-clip",)]
    assert DurableSqliteDB(path, JSONCodec()).get("scene:s1-clip", "_values_:") == {"x": 1}
