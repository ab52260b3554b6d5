"""`doit generate` end to end, as a user runs it: real doit, real ffmpeg, real files."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import FAST, only_project, probe, run_doit

pytestmark = pytest.mark.slow  # doit builds

PROMPT = "A lighthouse keeper finds a message in a bottle"


@pytest.mark.parametrize(
    ("aspect_ratio", "size"), [("16:9", (640, 360)), ("9:16", (360, 640)), ("1:1", (360, 360))]
)
def test_generate_makes_a_valid_video(projects, aspect_ratio, size):
    result = run_doit("generate", f"prompt={PROMPT}", f"aspect_ratio={aspect_ratio}", *FAST)
    assert result.returncode == 0, result.stderr + result.stdout

    project = only_project(projects)
    final = project.final_file
    facts = probe(final)
    assert (facts.codec, facts.pix_fmt) == ("h264", "yuv420p")
    assert (facts.width, facts.height) == size
    assert facts.fps == 24
    assert facts.frames == 3 * 24  # three scenes of one second, every frame decoded
    assert facts.audio_seconds == pytest.approx(3.0, abs=0.01)
    for scene_id in ("s1", "s2", "s3"):
        assert project.keyframe_file(scene_id).is_file()
        assert probe(project.clip_file(scene_id)).frames == 24

    # what the user sees: the project id, each step as it runs, where the video is
    assert project.id in result.stdout
    for step in ("storyboard", "scene s1: keyframe", "scene s3: clip", "final cut"):
        assert step in result.stdout
    assert str(final) in result.stdout


def test_options_are_kept_in_project_yaml_and_shape_the_storyboard(projects):
    result = run_doit(
        "generate", f"prompt={PROMPT}", "style=watercolor", "scenes=5", "clip_duration=0.5",
        "resolution=360p", "crossfade=0.25",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    project = only_project(projects)
    settings = yaml.safe_load(project.settings_file.read_text())
    assert settings["style"] == "watercolor"
    assert settings["scenes"] == 5
    assert settings["crossfade"] == 0.25
    assert settings["providers"] == {
        **{"storyboard": "local", "keyframe": "local", "clip": "local"},
        **{"narration": "local", "music": "local"},
    }

    storyboard = json.loads(project.storyboard_file.read_text())
    scenes = storyboard["scenes"]
    assert [scene["id"] for scene in scenes] == ["s1", "s2", "s3", "s4", "s5"]
    assert len({scene["title"] for scene in scenes}) == 5  # an arc, not the prompt five times
    assert len({scene["image_prompt"] for scene in scenes}) == 5
    assert all("watercolor" in scene["image_prompt"] for scene in scenes)
    assert all(scene["duration"] == 0.5 for scene in scenes)
    # five half-second clips joined by four quarter-second crossfades
    assert probe(project.final_file).frames == round((5 * 0.5 - 4 * 0.25) * 24)


def test_a_prompt_containing_equals_signs_is_kept_whole(projects):
    result = run_doit("generate", "prompt=E=mc2: a physicist's dream", *FAST)
    assert result.returncode == 0, result.stderr
    settings = yaml.safe_load(only_project(projects).settings_file.read_text())
    assert settings["prompt"] == "E=mc2: a physicist's dream"


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ([], "say what the video is about"),
        (["prompt=   "], "say what the video is about"),
        ([f"prompt={PROMPT}", "scene=3"], "takes no option scene=... (did you mean scenes?)"),
        ([f"prompt={PROMPT}", "scenes=0"], "scenes: Input should be greater than or equal to 1"),
        ([f"prompt={PROMPT}", "scenes=many"], "scenes: Input should be a valid integer"),
        ([f"prompt={PROMPT}", "clip_duration=-2"], "clip_duration: Input should be greater than 0"),
        ([f"prompt={PROMPT}", "clip_duration=nan"], "clip_duration"),
        ([f"prompt={PROMPT}", "aspect_ratio=4:3"], "aspect_ratio: Input should be '16:9'"),
        ([f"prompt={PROMPT}", "crossfade=5", "clip_duration=4"], "crossfade=5 is too long"),
        ([f"prompt={PROMPT}", "provider=nowhere"], "unknown provider 'nowhere'"),
    ],
)
def test_bad_options_are_refused_and_create_nothing(projects, words, message):
    result = run_doit("generate", *words)
    assert result.returncode == 4, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not projects.exists() or not any(projects.iterdir())
