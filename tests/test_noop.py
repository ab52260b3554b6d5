"""A resume of a project that is up to date answers from the project folder (provenance and
fingerprints), without doit or the build; it must agree with doit's own up-to-date checks."""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import FAST, doit_env, mtimes, only_project, run_doit

from vidpipe.build import graph
from vidpipe.build.estimate import plan_build
from vidpipe.errors import EXIT_BUSY
from vidpipe.inputs import artifacts
from vidpipe.project.folder import Project
from vidpipe.project.storyboard import load_storyboard
from vidpipe.read import snapshot
from vidpipe.read.summary import is_up_to_date
from vidpipe.templates import KINDS_FOLDER, TEMPLATES_ENV, templates_dir

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


# --- the kept answer (vidpipe.read.snapshot): file times alone, before any settings load ---


def vidpipe_resume(project: Project, *flags: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *flags, "-m", "vidpipe", "resume", f"id={project.id}"],
        cwd=project.root.parent.parent, env=doit_env(**env),
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def settled() -> None:
    """Wait until the files just written are old enough for an answer to be kept."""
    time.sleep(snapshot.RACY_NS / 1e9 + 0.1)


def kept_answer(project: Project) -> Path:
    return project.root.parent / snapshot.FOLDER / f"{project.id}.json"


def test_a_no_op_resume_is_answered_from_file_times_alone(built: Project):
    first = vidpipe_resume(built)  # just built: too new to keep the answer
    assert first.returncode == 0 and not kept_answer(built).exists()
    settled()
    full = vidpipe_resume(built)  # the full check, and its answer kept
    assert full.returncode == 0 and kept_answer(built).exists()
    before = mtimes(built.root)
    quick = vidpipe_resume(built, "-X", "importtime")
    assert (quick.returncode, quick.stdout) == (0, full.stdout)
    assert quick.stdout.splitlines()[-1] == f"up to date: {built.final_file}"
    loaded = {line.rpartition("|")[2].strip() for line in quick.stderr.splitlines()}
    assert "vidpipe.read.snapshot" in loaded  # the probe works
    assert not {"pydantic", "yaml", "vidpipe.project.settings", "doit"} & loaded
    assert mtimes(built.root) == before  # nothing written in the project


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_every_kind_of_edit_after_a_kept_answer_is_built(built: Project, edit):
    settled()
    assert vidpipe_resume(built).returncode == 0 and kept_answer(built).exists()
    edit(built)
    result = vidpipe_resume(built)
    assert result.returncode == 0, result.stderr
    assert "up to date" not in result.stdout  # it built
    assert is_up_to_date(Project(built.root))


def test_no_kept_answer_while_a_build_holds_the_lock_or_after_a_template_edit(
    built: Project, tmp_path: Path
):
    own = {TEMPLATES_ENV: str(tmp_path / "templates")}  # a copy, to edit
    shutil.copytree(templates_dir(), own[TEMPLATES_ENV])  # with their times
    settled()
    assert vidpipe_resume(built, **own).returncode == 0 and kept_answer(built).exists()

    with open(built.state_dir / "lock") as lock:  # a build that has just started
        fcntl.flock(lock, fcntl.LOCK_EX)
        assert vidpipe_resume(built, **own).returncode == EXIT_BUSY

    story = next((tmp_path / "templates" / KINDS_FOLDER).glob("*.yaml"))
    story.write_text(story.read_text() + "\n# an edit of a kind of storyboard\n")
    result = vidpipe_resume(built, **own)
    assert result.returncode == 0, result.stderr
    assert "up to date" not in result.stdout  # the storyboard's fingerprint changed


def test_an_answer_that_cannot_be_kept_is_still_given(built: Project):
    kept_answer(built).parent.write_text("not a folder")  # nothing can be written there
    settled()
    result = vidpipe_resume(built)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"up to date: {built.final_file}"
