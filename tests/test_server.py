"""The HTTP API over real HTTP on loopback: builds, bad input, conflicts, files, auth."""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
from api_client import Client, running_server
from conftest import REPO, doit_env, mtimes, probe, recorded_tasks, run_doit, wait_until

from vidpipe.project.folder import Project, create_project
from vidpipe.project.settings import ProjectSettings
from vidpipe.project.stages import scene_task

pytestmark = pytest.mark.slow  # servers and builds

SMALL = {"scenes": 2, "clip_duration": 1, "resolution": "360p"}


def wait_state(client: Client, project_id: str, states: set[str], timeout: float = 120) -> dict:
    last: dict = {}

    def settled() -> dict | None:
        last.update(client.get(f"/api/projects/{project_id}/status").json)
        settled = last["job"] not in ("queued", "running")
        return dict(last) if last["state"] in states and settled else None

    return wait_until(
        settled, timeout, what=lambda: f"{project_id} to settle in {sorted(states)}: {last}"
    )


@pytest.fixture
def api(projects):
    with running_server(projects) as (client, jobs):
        yield client


@pytest.fixture
def paused(projects):
    """A server whose builds stay queued (max_builds=0): for requests, not builds."""
    with running_server(projects, max_builds=0) as (client, jobs):
        yield client


def test_generate_poll_download(api, projects):
    answer = api.post("/api/generate", {"prompt": "A red balloon", **SMALL})
    assert answer.status == 202
    project_id = answer.json["id"]
    assert answer.headers["location"] == f"/api/projects/{project_id}"

    status = wait_state(api, project_id, {"complete", "failed"})
    assert status == {**status, "state": "complete", "scenes_done": 2, "scenes_total": 2}
    video = api.get(f"/api/projects/{project_id}/download")
    assert video.status == 200 and video.headers["content-type"] == "video/mp4"
    path = projects / "downloaded.mp4"
    path.write_bytes(video.body)
    assert probe(path).frames == 48

    part = api.get(f"/api/projects/{project_id}/download", headers={"Range": "bytes=10-19"})
    assert part.status == 206 and part.body == video.body[10:20]

    detail = api.get(f"/api/projects/{project_id}").json
    assert [scene["clip"]["state"] for scene in detail["scenes"]] == ["done", "done"]
    keyframe = api.get(detail["scenes"][0]["keyframe_url"])
    assert keyframe.status == 200 and keyframe.body.startswith(b"\x89PNG")
    assert api.get(detail["scenes"][1]["clip_url"]).headers["content-type"] == "video/mp4"

    events = api.get(f"/api/projects/{project_id}/events?after=-1&wait=0").json
    kinds = [event["event"] for event in events["events"]]
    assert kinds[0] == "project" and kinds[-1] == "exit"
    end = next(event for event in events["events"] if event["event"] == "end")
    assert end["outcome"] == "complete"
    assert events["running"] is False

    listing = api.get("/api/projects").json
    assert listing["total"] == 1 and listing["projects"][0]["state"] == "complete"
    assert api.post(f"/api/projects/{project_id}/resume").status == 409  # nothing to do


PROMPT = {"prompt": "A test"}
BAD_BODIES = [
    (b"{", "application/json", 400),
    (b"", "application/json", 400),
    (b'{"prompt": "\xff\xfe"}', "application/json", 400),
    (b"[" * 20000 + b"]" * 20000, "application/json", 400),
    (b'{"prompt": "a", "prompt": "b"}', "application/json", 400),
    (json.dumps(PROMPT).encode(), "text/plain", 415),
    (json.dumps(PROMPT).encode(), "application/x-www-form-urlencoded", 415),
    (json.dumps({"prompt": "x" * 70000}).encode(), "application/json", 413),
    (b"[]", "application/json", 422),
    (b"null", "application/json", 422),
    (b'{"prompt": "a", "clip_duration": NaN}', "application/json", 422),
    (b'{"prompt": "a", "crossfade": Infinity}', "application/json", 422),
]
BAD_VALUES = [
    {},
    {"prompt": ""},
    {"prompt": "   "},
    {"prompt": "x" * 5000},
    {"prompt": "nul\u0000byte"},
    {"prompt": 5},
    {**PROMPT, "colour": "red"},
    {**PROMPT, "scenes": "5"},
    {**PROMPT, "scenes": True},
    {**PROMPT, "scenes": 2.5},
    {**PROMPT, "scenes": 0},
    {**PROMPT, "scenes": 1000},
    {**PROMPT, "clip_duration": 0},
    {**PROMPT, "clip_duration": -1},
    {**PROMPT, "clip_duration": 1e9},
    {**PROMPT, "clip_duration": "8"},
    {**PROMPT, "aspect_ratio": "4:3"},
    {**PROMPT, "resolution": "8k"},
    {**PROMPT, "crossfade": 3, "clip_duration": 4},
    {**PROMPT, "provider": "no-such-provider"},
    {**PROMPT, "providers": {"clip": "nowhere"}},
]


@pytest.mark.parametrize(("raw", "content_type", "status"), BAD_BODIES)
def test_bad_bodies_get_a_json_error_and_change_nothing(
    paused, projects, raw, content_type, status
):
    answer = paused.post("/api/generate", raw=raw, content_type=content_type)
    assert answer.status == status
    assert answer.json["error"]["status"] == status
    assert not projects.exists() or not [p for p in projects.iterdir() if p.is_dir()]


@pytest.mark.parametrize("body", BAD_VALUES)
def test_bad_values_are_422_and_create_nothing(paused, projects, body):
    answer = paused.post("/api/generate", body)
    assert answer.status == 422, answer.body
    error = answer.json["error"]
    assert error["message"] and isinstance(error["details"], list)
    assert not projects.exists() or not [p for p in projects.iterdir() if p.is_dir()]


@pytest.mark.parametrize(
    "path",
    [
        "/api/projects/no-such-project",
        "/api/projects/..",
        "/api/projects/%2e%2e/status",
        "/api/projects/" + "a" * 300,
        "/api/projects/UPPER/status",
        "/api/nothing",
    ],
)
def test_unknown_or_malformed_ids_are_404(paused, path):
    answer = paused.get(path)
    assert answer.status == 404
    assert answer.json["error"]["status"] == 404


def test_wrong_method_is_405_with_allow(paused):
    answer = paused.call("DELETE", "/api/generate")
    assert answer.status == 405
    assert answer.headers["allow"] == "POST"
    assert answer.json["error"]["status"] == 405


def test_query_parameters_are_checked(paused):
    assert paused.get("/api/projects?limit=0").status == 422
    assert paused.get("/api/projects?limit=abc").status == 422
    assert paused.get("/api/projects?status=done").status == 422
    assert paused.get("/api/projects?status=complete&limit=5&offset=2").status == 200


def test_concurrent_resumes_get_one_202_and_the_rest_409(paused, projects):
    project = create_project(ProjectSettings(prompt="Once", **SMALL), projects)
    path = f"/api/projects/{project.id}/resume"
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(lambda _: paused.post(path).status, range(8)))
    assert statuses == [202] + [409] * 7
    assert paused.get(f"/api/projects/{project.id}/download").status == 409  # not built yet
    assert paused.post(f"/api/projects/{project.id}/cancel").status == 202  # drop queued job
    assert paused.post(f"/api/projects/{project.id}/cancel").status == 409


def test_files_outside_the_projects_folder_are_never_served(api, projects):
    project_id = api.post("/api/generate", {"prompt": "Escape", **SMALL}).json["id"]
    wait_state(api, project_id, {"complete"})
    secret = projects.parent / "secret.png"
    secret.write_bytes(b"\x89PNG secret")
    (projects / project_id / "keyframes" / "evil.png").symlink_to(secret)
    assert api.get(f"/api/projects/{project_id}/keyframes/evil.png").status == 404
    for name in ("..%2f..%2fsecret.png", "s1.mp4", "s1.png.bak", "%2e%2e.png"):
        assert api.get(f"/api/projects/{project_id}/keyframes/{name}").status == 404


def test_patch_a_scene_rebuilds_only_that_scene(api, projects):
    project_id = api.post("/api/generate", {"prompt": "A garden", **SMALL}).json["id"]
    wait_state(api, project_id, {"complete"})
    project = Project(projects / project_id)
    before = mtimes(project.root)
    storyboard_before = project.storyboard_file.read_text()

    bad = api.call("PATCH", f"/api/projects/{project_id}/scenes/s2", {"duration": -1})
    assert bad.status == 422 and "duration" in bad.json["error"]["details"][0]
    bad_type = api.call("PATCH", f"/api/projects/{project_id}/scenes/s2", {"duration": "2"})
    assert bad_type.status == 422
    assert api.call("PATCH", f"/api/projects/{project_id}/scenes/s9", {"title": "x"}).status == 404
    assert project.storyboard_file.read_text() == storyboard_before

    edit = {"image_prompt": "Close-up at night of a single rose", "duration": 1.5}
    answer = api.call("PATCH", f"/api/projects/{project_id}/scenes/s2", edit)
    assert answer.status == 202 and answer.json["scene"]["duration"] == 1.5
    wait_state(api, project_id, {"complete"})
    changed = {k for k, v in mtimes(project.root).items() if before.get(k) != v}
    changed = {name for name in changed if not name.startswith(".vidpipe/")}
    # a new length re-cuts the film, remakes the music bed and retimes the subtitles
    cut = {"sound/picture.mp4", "sound/soundtrack.m4a", "final.mp4", "sound/music.wav"}
    cut |= {"final.srt", "final.vtt"}
    assert changed == {"storyboard.json", "keyframes/s2.png", "clips/s2.mp4"} | cut
    assert probe(project.final_file).frames == 24 + 36


def test_stitch_and_cancel_through_the_api(api, projects):
    project_id = api.post("/api/generate", {"prompt": "A bridge", **SMALL}).json["id"]
    wait_state(api, project_id, {"complete"})
    project = Project(projects / project_id)
    assert api.post(f"/api/projects/{project_id}/stitch", {"crossfade": 0.75}).status == 422
    assert api.post(f"/api/projects/{project_id}/stitch", {"crossfade": 0.5}).status == 202
    wait_state(api, project_id, {"complete"})
    assert probe(project.final_file).frames == 48 - 12
    project.clip_file("s2").unlink()
    missing = api.post(f"/api/projects/{project_id}/stitch", {"crossfade": 0})
    assert missing.status == 409 and "scene s2 has no clip yet" in missing.json["error"]["message"]

    slow = {"prompt": "A long film", "scenes": 8, "clip_duration": 3, "resolution": "360p"}
    long_id = api.post("/api/generate", slow).json["id"]
    wait_until(lambda: list((projects / long_id).glob("clips/s[0-9].mp4")), what="a first clip")
    assert api.post(f"/api/projects/{long_id}/cancel").status == 202
    assert wait_state(api, long_id, {"interrupted", "failed", "complete"})["state"] == "interrupted"
    assert api.post(f"/api/projects/{long_id}/resume").status == 202
    assert wait_state(api, long_id, {"complete", "failed"})["state"] == "complete"


def test_a_token_is_required_when_configured(projects):
    with running_server(projects, max_builds=0, token="s3cret") as (client, jobs):
        assert client.get("/api/health").status == 200
        anonymous = Client(client.base)
        answer = anonymous.get("/api/projects")
        assert answer.status == 401 and answer.headers["www-authenticate"] == "Bearer"
        assert Client(client.base, token="wrong").get("/api/health").status == 401


def test_the_server_refuses_a_public_address_without_a_token(projects):
    result = run_doit("serve", "host=0.0.0.0", "port=0")
    assert result.returncode == 4
    assert "refusing to serve on 0.0.0.0 without authentication" in result.stderr


def test_twenty_projects_at_once_all_complete(api, projects):
    body = {"prompt": "Many", "scenes": 1, "clip_duration": 0.5, "resolution": "360p"}
    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: api.post("/api/generate", body), range(20)))
    ids = [answer.json["id"] for answer in answers]
    assert all(answer.status == 202 for answer in answers) and len(set(ids)) == 20

    slowest = 0.0
    deadline = time.monotonic() + 300
    while True:
        started = time.monotonic()
        states = [api.get(f"/api/projects/{i}/status").json["state"] for i in ids]
        slowest = max(slowest, (time.monotonic() - started) / len(ids))
        if all(state == "complete" for state in states):
            break
        assert "failed" not in states
        assert time.monotonic() < deadline
    assert slowest < 2.0  # generous: status stays answerable while 20 builds queue and run

    listing = api.get("/api/projects?limit=200").json
    assert listing["total"] == 20
    assert {p["id"] for p in listing["projects"]} == set(ids)
    assert all(p["state"] == "complete" and p["scenes_done"] == 1 for p in listing["projects"])
    index = json.loads((projects / ".index.json").read_text())["_default"]
    assert sorted(r["id"] for r in index.values()) == sorted(ids)


def _start_server(projects) -> tuple[subprocess.Popen, Client]:
    server = subprocess.Popen(
        [sys.executable, "-m", "doit", "serve", "port=0", "max_builds=1"],
        cwd=REPO, env=doit_env(VIDPIPE_PROJECTS=str(projects)),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    for line in server.stdout:
        found = re.search(r"serving (http://\S+)/api", line)
        if found:  # keep reading its output, or a full pipe would stall the server
            threading.Thread(target=server.stdout.read, daemon=True).start()
            return server, Client(found.group(1))
    raise AssertionError("the server did not start")


def test_kill_9_of_the_server_leaves_a_build_the_next_server_finishes(projects):
    server, client = _start_server(projects)
    try:
        slow = {"prompt": "A night train", "scenes": 8, "clip_duration": 3, "resolution": "360p"}
        project_id = client.post("/api/generate", slow).json["id"]
        clips = projects / project_id / "clips"

        def recorded() -> list:
            # clips whose step the build has recorded: finished by any definition
            done = recorded_tasks(clips.parent)
            return [p for p in clips.glob("s[0-9].mp4") if scene_task(p.stem, "clip") in done]

        wait_until(lambda: len(recorded()) >= 2, what="two clips made and recorded")
        finished = {p: p.stat().st_mtime_ns for p in recorded()}
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
    finally:
        if server.poll() is None:
            server.kill()

    from vidpipe.project.folder import is_building

    wait_until(  # the build notices its server died and stops
        lambda: (
            not (projects / project_id / ".vidpipe" / "lock").exists()
            or not is_building(Project(projects / project_id))
        ),
        timeout=30,
        what="the orphaned build to stop",
    )

    server, client = _start_server(projects)  # it starts the build again by itself
    try:
        assert client.post(f"/api/projects/{project_id}/resume").status == 409
        assert wait_state(client, project_id, {"complete", "failed"})["state"] == "complete"
        for path, mtime in finished.items():
            assert path.stat().st_mtime_ns == mtime, path
        assert probe(projects / project_id / "final.mp4").frames == 8 * 3 * 24
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


def test_sigterm_stops_the_server_cleanly(projects):
    server, client = _start_server(projects)
    assert client.get("/api/health").json["status"] == "ok"
    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=30) == 0
