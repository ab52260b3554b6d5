"""A resume of a project that is up to date answers from the project folder (provenance and
fingerprints), without doit or the build; it must agree with doit's own up-to-date checks."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import FAST, doit_env, only_project, run_doit

from vidpipe.build import graph
from vidpipe.build.estimate import plan_build
from vidpipe.inputs import artifacts
from vidpipe.project.folder import Project
from vidpipe.project.storyboard import load_storyboard
from vidpipe.read.summary import is_up_to_date

pytestmark = pytest.mark.slow  # builds


@pytest.fixture
def built(projects: Path) -> Project:
    assert run_doit("generate", "prompt=A quiet harbour", *FAST).returncode == 0
    return only_project(projects)


def test_a_no_op_resume_loads_neither_doit_nor_the_build(built: Project, projects: Path):
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "vidpipe", "resume", f"id={built.id}"],
        env=doit_env(VIDPIPE_PROJECTS=str(projects)), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"up to date: {built.final_file}"
    loaded = {line.rpartition("|")[2].strip() for line in result.stderr.splitlines()}
    assert "vidpipe.project.settings" in loaded  # the probe works
    assert not {"doit", "vidpipe.build", "vidpipe.media.stitch", "av", "numpy"} & loaded


def test_the_graph_is_made_of_exactly_the_checked_artifacts(built: Project):
    """Every task after the storyboard makes one artifact that is_up_to_date checks: a stage
    added to the graph without a place in vidpipe.inputs.artifacts fails here."""
    storyboard = load_storyboard(built.storyboard_file)
    with contextlib.chdir(built.root):
        tasks = graph.later_tasks(built)
    made = {tuple(task.targets) for task in tasks}
    checked = {
        tuple(str(path.relative_to(built.root)) for path in (a.target, *a.also))
        for a in artifacts(built, storyboard)
    }
    assert made == checked
    assert "sound/soundtrack.m4a" in {target for targets in made for target in targets}


def _edit_scene(field: str, value: object) -> Callable[[Project], None]:
    def edit(project: Project) -> None:
        data = json.loads(project.storyboard_file.read_text())
        data["scenes"][1][field] = value
        project.storyboard_file.write_text(json.dumps(data))

    return edit


def _reorder(project: Project) -> None:
    data = json.loads(project.storyboard_file.read_text())
    data["scenes"].reverse()
    project.storyboard_file.write_text(json.dumps(data))


def _setting(name: str, value: object) -> Callable[[Project], None]:
    def edit(project: Project) -> None:
        settings = yaml.safe_load(project.settings_file.read_text())
        project.settings_file.write_text(yaml.safe_dump({**settings, name: value}))

    return edit


def _replace(relative: str, by: str) -> Callable[[Project], None]:
    """The user puts another file in its place (here: a copy of another scene's)."""
    return lambda project: shutil.copyfile(project.root / by, project.root / relative)


def _delete(relative: str) -> Callable[[Project], None]:
    return lambda project: (project.root / relative).unlink()


EDITS = {
    "caption": _edit_scene("caption", "A new caption"),
    "narration": _edit_scene("narration", "Hi."),  # short enough for a 1 s scene
    "duration": _edit_scene("duration", 2.0),
    "reorder": _reorder,
    "crossfade": _setting("crossfade", 0.25),
    "style": _setting("style", "noir"),
    "keyframe replaced": _replace("keyframes/s2.png", by="keyframes/s1.png"),
    "clip replaced": _replace("clips/s1.mp4", by="clips/s2.mp4"),
    "clip deleted": _delete("clips/s3.mp4"),
    "final deleted": _delete("final.mp4"),
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_the_folder_check_agrees_with_doit_after_every_kind_of_edit(built: Project, edit):
    assert is_up_to_date(built) and plan_build(built).nothing_to_do
    edit(built)
    changed = Project(built.root)  # settings are read once per Project
    assert not is_up_to_date(changed)
    assert not plan_build(changed).nothing_to_do
    assert run_doit("resume", f"id={built.id}").returncode == 0
    rebuilt = Project(built.root)
    assert is_up_to_date(rebuilt) and plan_build(rebuilt).nothing_to_do


def test_a_file_rewritten_with_the_same_bytes_is_taken_as_unchanged_after_one_resume(built):
    keyframe = built.keyframe_file("s2")
    keyframe.write_bytes(keyframe.read_bytes())  # a new modification time, the same content
    assert not is_up_to_date(Project(built.root))  # the folder check goes by times, like make
    assert plan_build(Project(built.root)).nothing_to_do  # doit compares the content
    result = run_doit("resume", f"id={built.id}")
    assert result.returncode == 0 and "up to date" in result.stdout
    assert is_up_to_date(Project(built.root))  # the build recorded the new times
