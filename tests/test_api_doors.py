"""The API's doors: its Bottle plugins, and requests that must behave as the CLI does
(`provider`, refused providers, crossfades), the scene text in the detail, a bare resume."""

from __future__ import annotations

import http.client
import io
import json
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import bottle
import pytest
from api_client import running_server
from conftest import run_doit

from vidpipe import usecases
from vidpipe.api import app as api_app
from vidpipe.api.app import ApiPlugin, ProjectPlugin, make_app
from vidpipe.api.jobs import JobManager
from vidpipe.project.folder import Project, create_project
from vidpipe.project.settings import ProjectSettings
from vidpipe.project.storyboard import Scene, Storyboard, storyboard_json

SMALL: dict[str, Any] = {"scenes": 2, "clip_duration": 1, "resolution": "360p"}
GOOGLE = {"storyboard": "google", "keyframe": "google", "clip": "google"}
# `provider` names the picture's provider; the sound keeps its own (narration_provider=...)
SOUND = {"narration": "local", "music": "local"}


class Answer:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = int(status.split()[0])
        self.headers = {name.lower(): value for name, value in headers}
        self.body = body

    @property
    def json(self) -> Any:
        assert self.headers["content-type"].startswith("application/json"), self.headers
        return json.loads(self.body)


def call(
    app: bottle.Bottle,
    method: str,
    path: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """One in-process WSGI request; no body: no Content-Type and no Content-Length at all."""
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path}
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    if data is not None:
        environ.update(CONTENT_TYPE="application/json", CONTENT_LENGTH=str(len(data)))
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    environ["wsgi.input"] = io.BytesIO(data or b"")
    setup_testing_defaults(environ)
    started: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], *exc: Any) -> None:
        started.update(status=status, headers=headers)

    body_bytes = b"".join(app(environ, start_response))
    return Answer(started["status"], started["headers"], body_bytes)


def no_projects(root: Path) -> bool:
    return not [p for p in root.iterdir() if p.is_dir()]


def with_storyboard(root: Path) -> Project:
    """A project with a storyboard of two 1 s scenes and no clips."""
    project = create_project(ProjectSettings(prompt="A harbour", **SMALL), root)
    scenes = [
        Scene(id=f"s{n}", title=f"Scene {n}", description=f"The harbour, part {n}",
              image_prompt=f"Boats at dawn {n}", video_prompt=f"Boats drift {n}",
              camera="pan left", caption=f"Caption {n}", duration=1.0)
        for n in (1, 2)
    ]  # fmt: skip
    project.storyboard_file.write_text(storyboard_json(Storyboard(title="Harbour", scenes=scenes)))
    return project


# --- the plugins -----------------------------------------------------------------------------
def test_the_app_is_made_of_bottle_plugins(app: bottle.Bottle) -> None:
    kinds = [type(plugin) for plugin in app.plugins]
    assert ApiPlugin in kinds and ProjectPlugin in kinds
    assert all(hasattr(p, "apply") and p.api == 2 for p in app.plugins if type(p) in kinds[-2:])


def test_auth_comes_before_the_project_lookup(projects: Path, jobs: JobManager) -> None:
    app = make_app(projects, jobs, token="s3cret")
    answer = call(app, "GET", "/api/projects/no-such-project")
    assert answer.status == 401 and answer.headers["www-authenticate"] == "Bearer"
    authorised = {"Authorization": "Bearer s3cret"}
    missing = call(app, "GET", "/api/projects/no-such-project", headers=authorised)
    assert missing.status == 404 and missing.json["error"]["status"] == 404


# --- 1. provider, or providers, not both -----------------------------------------------------
def test_provider_names_one_provider_for_every_stage(
    app: bottle.Bottle, projects: Path, vertex: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in vertex.items():
        monkeypatch.setenv(name, value)
    answer = call(app, "POST", "/api/generate", {"prompt": "A test", "provider": "google", **SMALL})
    assert answer.status == 202, answer.body
    settings = Project(projects / answer.json["id"]).settings
    assert settings.providers.model_dump() == GOOGLE | SOUND


def test_an_unknown_provider_is_refused(app: bottle.Bottle, projects: Path) -> None:
    answer = call(app, "POST", "/api/generate", {"prompt": "A test", "provider": "nowhere"})
    assert answer.status == 422 and "unknown provider 'nowhere'" in answer.json["error"]["message"]
    assert no_projects(projects)


def test_provider_and_providers_together_are_422(app: bottle.Bottle, projects: Path) -> None:
    body = {"prompt": "A test", "provider": "local", "providers": {"clip": "local"}}
    answer = call(app, "POST", "/api/generate", body)
    assert answer.status == 422
    assert "not both" in answer.json["error"]["message"]
    assert no_projects(projects)


# --- 2. Google without credentials, refused as the CLI refuses it ----------------------------
def test_google_without_credentials_is_refused_like_the_cli(
    app: bottle.Bottle, projects: Path
) -> None:
    for body in ({"provider": "google"}, {"providers": GOOGLE}):
        answer = call(app, "POST", "/api/generate", {"prompt": "A test", **body})
        assert answer.status == 422, answer.body
        message = answer.json["error"]["message"]
        assert message.startswith("Google is not configured")
        assert no_projects(projects)
    cli = run_doit("generate", "prompt=A test", "provider=google")
    assert cli.returncode == 4
    assert message in cli.stderr
    assert no_projects(projects)


# --- 3. the scenes' text in the detail -------------------------------------------------------
def test_the_detail_shows_each_scenes_text(app: bottle.Bottle, projects: Path) -> None:
    project = with_storyboard(projects)
    scenes = call(app, "GET", f"/api/projects/{project.id}").json["scenes"]
    assert [scene["id"] for scene in scenes] == ["s1", "s2"]
    assert {k: scenes[1][k] for k in api_app.SCENE_FIELDS} == {
        "title": "Scene 2",
        "description": "The harbour, part 2",
        "image_prompt": "Boats at dawn 2",
        "video_prompt": "Boats drift 2",
        "camera": "pan left",
        "caption": "Caption 2",
        "duration": 1.0,
        "narration": "",
    }
    assert scenes[0]["clip"]["state"] and scenes[0]["clip_url"].endswith("/clips/s1.mp4")


# --- 4. a bare resume ------------------------------------------------------------------------
def test_resume_without_a_body_or_a_content_type_is_accepted(
    app: bottle.Bottle, projects: Path
) -> None:
    project = create_project(ProjectSettings(prompt="Once", **SMALL), projects)
    answer = call(app, "POST", f"/api/projects/{project.id}/resume")
    assert answer.status == 202, answer.body
    assert answer.json == {**answer.json, "id": project.id, "job": "queued"}


def test_resume_over_http_with_no_content_length(projects: Path) -> None:
    project = create_project(ProjectSettings(prompt="Once", **SMALL), projects)
    with running_server(projects, max_builds=0) as (client, _jobs):
        host, port = client.base.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        connection.putrequest("POST", f"/api/projects/{project.id}/resume")
        connection.endheaders()  # no Content-Length, no Content-Type, no body
        response = connection.getresponse()
        assert response.status == 202, response.read()
        assert json.loads(response.read())["job"] == "queued"
        connection.close()


def test_a_resume_body_that_is_not_json_is_still_415(app: bottle.Bottle, projects: Path) -> None:
    project = create_project(ProjectSettings(prompt="Once", **SMALL), projects)
    answer = call(
        app,
        "POST",
        f"/api/projects/{project.id}/resume",
        raw=b"yes=1",
        headers={"Content-Type": "text/plain"},
    )
    assert answer.status == 415


# --- 5. the stitch crossfade, checked as the CLI checks it -----------------------------------
@pytest.mark.parametrize(
    "raw", [b'{"crossfade": -0.5}', b'{"crossfade": 1e999}', b'{"crossfade": 6}']
)
def test_bad_crossfades_are_422(app: bottle.Bottle, projects: Path, raw: bytes) -> None:
    project = with_storyboard(projects)
    answer = call(app, "POST", f"/api/projects/{project.id}/stitch", raw=raw)
    assert answer.status == 422, answer.body
    assert "crossfade" in answer.json["error"]["message"]


def test_stitch_uses_the_clis_checks(
    app: bottle.Bottle, projects: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = with_storyboard(projects)
    seen: list[float] = []
    real = usecases.check_stitchable

    def recording(checked: Project, crossfade: float) -> None:
        seen.append(crossfade)
        real(checked, crossfade)

    monkeypatch.setattr(usecases, "check_stitchable", recording)
    path = f"/api/projects/{project.id}/stitch"
    too_long = call(app, "POST", path, {"crossfade": 0.75})
    assert too_long.status == 422 and "at most half of a scene" in too_long.json["error"]["message"]
    no_clips = call(app, "POST", path, {"crossfade": 0.25})
    assert no_clips.status == 409
    assert "scene s1 has no clip yet" in no_clips.json["error"]["message"]
    assert seen == [0.75, 0.25]
    cli = run_doit("stitch", f"id={project.id}", "crossfade=-0.5")
    api = call(app, "POST", path, {"crossfade": -0.5}).json["error"]["message"]
    assert cli.returncode == 4
    # the same rule and words; only the value's quoting differs (the CLI's is a string)
    assert api.removeprefix("request: ").partition(" (got")[0] in cli.stderr
