"""What the studio added to the API, in process (WSGI, builds stay queued): the page and its
files, scene insert/delete/reorder and keyframe upload checked like hand edits (a refusal
changes nothing), thumbnails with caching headers, and `until=` on both doors."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import doit_env, mtimes, only_project, probe
from PIL import Image
from test_api_doors import call, with_storyboard

from vidpipe.api.app import make_app
from vidpipe.api.jobs import JobManager
from vidpipe.cli.commands import COMMANDS, check_words
from vidpipe.errors import BadInput
from vidpipe.project.folder import Project
from vidpipe.project.status import read_status


def picture(kind: str = "PNG", size: tuple[int, int] = (64, 36)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(out, kind)
    return out.getvalue()


def scene_ids(project: Project) -> list[str]:
    return [scene["id"] for scene in json.loads(project.storyboard_file.read_text())["scenes"]]


def test_the_page_and_its_files_are_served_without_the_token(projects: Path, jobs) -> None:
    app = make_app(projects, jobs, token="secret")
    page = call(app, "GET", "/")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert b'<script type="module" src="/studio/app.js">' in page.body
    script = call(app, "GET", "/studio/project.js")
    assert script.status == 200 and "javascript" in script.headers["content-type"]
    assert call(app, "GET", "/studio/../app.py").status in (403, 404)
    assert call(app, "GET", "/studio/nothing.js").status == 404
    assert call(app, "GET", "/api/projects").status == 401  # the data still needs the token


def test_insert_delete_and_reorder_scenes(app, projects: Path, jobs: JobManager) -> None:
    project = with_storyboard(projects)
    base = f"/api/projects/{project.id}"
    added = call(app, "POST", f"{base}/scenes", {"description": "A gull lands", "after": "s1"})
    assert added.status == 202, added.body
    assert added.json["scene"] == {**added.json["scene"], "id": "s3", "duration": 1.0,
                                   "image_prompt": "A gull lands"}  # fmt: skip
    assert added.json["scenes"] == scene_ids(project) == ["s1", "s3", "s2"]
    assert jobs.active(project.id).words == ["resume"]  # the rebuild is queued
    jobs.jobs.clear()
    jobs.queue.clear()

    moved = call(app, "PUT", f"{base}/scene-order", {"scenes": ["s2", "s1", "s3"]})
    assert moved.status == 202 and scene_ids(project) == ["s2", "s1", "s3"]
    jobs.jobs.clear()
    jobs.queue.clear()
    gone = call(app, "DELETE", f"{base}/scenes/s1")
    assert gone.status == 202 and scene_ids(project) == ["s2", "s3"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "words"),
    [
        ("POST", "scenes", {"description": "x", "duration": -1}, 422, "duration"),
        ("POST", "scenes", {"description": "x", "id": "s1"}, 422, "reuses the id"),
        ("POST", "scenes", {"description": "x", "id": "Bad Id"}, 422, "pattern"),
        ("POST", "scenes", {"description": "x", "after": "s9"}, 404, "no scene 's9'"),
        ("POST", "scenes", {"title": "no description"}, 422, "description"),
        ("PUT", "scene-order", {"scenes": ["s1"]}, 422, "every scene id once"),
        ("PUT", "scene-order", {"scenes": ["s1", "s1"]}, 422, "every scene id once"),
        ("PUT", "scene-order", {"scenes": "s1,s2"}, 422, "scenes"),
        ("DELETE", "scenes/s9", None, 404, "no scene"),
    ],
)
def test_a_bad_scene_change_is_refused_and_changes_nothing(
    app, projects: Path, jobs: JobManager, method, path, body, status, words
) -> None:
    project = with_storyboard(projects)
    before = project.storyboard_file.read_bytes()
    answer = call(app, method, f"/api/projects/{project.id}/{path}", body)
    assert answer.status == status, answer.body
    error = answer.json["error"]
    assert words in " ".join([error["message"], *error["details"]])
    assert project.storyboard_file.read_bytes() == before
    assert jobs.active(project.id) is None


def test_the_last_scene_cannot_be_deleted(app, projects: Path) -> None:
    project = with_storyboard(projects)
    assert call(app, "DELETE", f"/api/projects/{project.id}/scenes/s1").status == 202
    project_jobs = call(app, "POST", f"/api/projects/{project.id}/cancel")
    assert project_jobs.status == 202  # the queued rebuild is dropped
    last = call(app, "DELETE", f"/api/projects/{project.id}/scenes/s2")
    assert last.status == 422 and scene_ids(project) == ["s2"]


def test_a_change_while_building_is_409(app, projects: Path) -> None:
    project = with_storyboard(projects)
    assert call(app, "POST", f"/api/projects/{project.id}/resume").status == 202
    answer = call(app, "DELETE", f"/api/projects/{project.id}/scenes/s1")
    assert answer.status == 409 and scene_ids(project) == ["s1", "s2"]


def upload(app, project: Project, data: bytes, kind: str = "image/png", name: str = "s1.png"):
    return call(app, "PUT", f"/api/projects/{project.id}/keyframes/{name}", raw=data,
                headers={"Content-Type": kind})  # fmt: skip


def test_an_uploaded_keyframe_is_kept_as_png(app, projects: Path) -> None:
    project = with_storyboard(projects)
    answer = upload(app, project, picture("JPEG"), "image/jpeg")
    assert answer.status == 202, answer.body
    with Image.open(project.keyframe_file("s1")) as kept:
        assert (kept.format, kept.size) == ("PNG", (64, 36))


@pytest.mark.parametrize(
    ("data", "kind", "name", "status", "words"),
    [
        (b"not a picture at all", "image/png", "s1.png", 422, "not a picture"),
        (picture("PNG")[:60], "image/png", "s1.png", 422, "not a picture"),
        (picture("PNG", (8, 8)), "image/png", "s1.png", 422, "16 to 8192 pixels"),
        (picture("GIF"), "image/png", "s1.png", 422, "GIF picture is not taken"),
        (picture("PNG"), "text/plain", "s1.png", 415, "send the picture as"),
        (picture("PNG"), "image/png", "s9.png", 404, "no scene 's9'"),
        (picture("PNG"), "image/png", "s1.jpg", 404, "upload to <scene id>.png"),
    ],
)
def test_a_bad_upload_is_refused_and_changes_nothing(
    app, projects: Path, data, kind, name, status, words
) -> None:
    project = with_storyboard(projects)
    answer = upload(app, project, data, kind, name)
    assert answer.status == status, answer.body
    assert words in answer.json["error"]["message"]
    assert not list(project.root.glob("keyframes/*"))


def test_the_list_has_cached_thumbnails_of_the_first_keyframe(app, projects: Path) -> None:
    project = with_storyboard(projects)
    listed = call(app, "GET", "/api/projects").json["projects"]
    assert listed[0]["thumbnail"] is None
    assert call(app, "GET", f"/api/projects/{project.id}/thumbnail.jpg").status == 404
    project.keyframe_file("s1").parent.mkdir()
    project.keyframe_file("s1").write_bytes(picture("PNG", (1280, 720)))
    url = call(app, "GET", "/api/projects").json["projects"][0]["thumbnail"]
    assert url.startswith(f"/api/projects/{project.id}/thumbnail.jpg?v=")
    answer = call(app, "GET", url.split("?")[0])
    assert answer.status == 200 and answer.headers["content-type"] == "image/jpeg"
    assert "max-age" in answer.headers["cache-control"]
    with Image.open(io.BytesIO(answer.body)) as small:
        assert small.size == (320, 180)
    again = call(app, "GET", url.split("?")[0],
                 headers={"If-Modified-Since": answer.headers["last-modified"]})  # fmt: skip
    assert again.status == 304


def test_until_is_a_build_option_of_both_doors(app, projects: Path, jobs: JobManager) -> None:
    body = {"prompt": "A kite", "until": "keyframes"}
    made = call(app, "POST", "/api/generate", body)
    assert made.status == 202
    assert jobs.active(made.json["id"]).words == ["resume", "until=keyframes"]
    bad = call(app, "POST", "/api/generate", {"prompt": "A kite", "until": "clips"})
    assert bad.status == 422 and "until" in bad.json["error"]["details"][0]
    for command in ("generate", "resume"):
        check_words(COMMANDS[command], {"until": "storyboard"})
        with pytest.raises(BadInput, match="until"):
            check_words(COMMANDS[command], {"until": "clips"})


@pytest.mark.slow
def test_the_cli_stops_at_keyframes_and_a_resume_goes_on(projects: Path) -> None:
    words = ["generate", "prompt=A kite over dunes", "scenes=2", "clip_duration=1",
             "resolution=360p", "until=keyframes"]  # fmt: skip
    stopped = subprocess.run([sys.executable, "-m", "vidpipe", *words], capture_output=True,
                             text=True, env=doit_env(), timeout=180)  # fmt: skip
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped after the keyframes for review" in stopped.stdout
    project = only_project(projects)
    assert read_status(project) == {**read_status(project), "state": "stopped",
                                    "until": "keyframes"}  # fmt: skip
    assert sorted(p.name for p in project.root.glob("keyframes/*")) == ["s1.png", "s2.png"]
    assert not project.root.joinpath("clips").exists() and not project.final_file.exists()
    keyframes = mtimes(project.root / "keyframes")

    go_on = subprocess.run([sys.executable, "-m", "vidpipe", "resume", f"id={project.id}"],
                           capture_output=True, text=True, env=doit_env(), timeout=180)  # fmt: skip
    assert go_on.returncode == 0, go_on.stderr
    assert read_status(project)["state"] == "complete"
    assert mtimes(project.root / "keyframes") == keyframes  # approved as they were
    assert probe(project.final_file).frames == 2 * 24
