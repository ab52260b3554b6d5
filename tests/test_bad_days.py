"""One bad thing does not break the rest: a damaged project, index or state file is listed,
rebuilt or reported, never a crash of the listing (in process; the CLI and API doors too)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import doit_env

from vidpipe.project.folder import Project, create_project
from vidpipe.project.settings import ProjectSettings
from vidpipe.read.index import INDEX_NAME, ProjectIndex

BROKEN_SETTINGS = {
    "not yaml": "prompt: [unclosed\n",
    "a list": "- prompt\n",
    "empty": "",
    "invalid value": "prompt: A harbour\nscenes: -3\n",
    "unknown key": "prompt: A harbour\ncolour: red\n",
}


def good_projects(root: Path, count: int = 2) -> list[Project]:
    return [create_project(ProjectSettings(prompt=f"Harbour {n}"), root) for n in range(count)]


@pytest.mark.parametrize("text", BROKEN_SETTINGS.values(), ids=BROKEN_SETTINGS.keys())
def test_an_unreadable_project_is_listed_with_its_reason_and_the_rest_are_not_affected(
    projects: Path, text: str
) -> None:
    good = good_projects(projects)
    broken = create_project(ProjectSettings(prompt="Soon broken"), projects)
    broken.settings_file.write_text(text)
    (projects / INDEX_NAME).unlink(missing_ok=True)  # the listing rebuilds from the folders
    records = {record["id"]: record for record in ProjectIndex(projects).listing()}
    assert set(records) == {*(p.id for p in good), broken.id}
    assert records[broken.id]["state"] == "unreadable"
    assert "project.yaml" in records[broken.id]["error"]
    assert all(records[p.id]["state"] == "pending" for p in good)
    only = ProjectIndex(projects).listing("unreadable")
    assert [record["id"] for record in only] == [broken.id]


def test_the_cli_and_the_api_list_around_an_unreadable_project(projects: Path) -> None:
    good = good_projects(projects, 1)[0]
    broken = create_project(ProjectSettings(prompt="Soon broken"), projects)
    broken.settings_file.write_text("scenes: many\n")
    (projects / INDEX_NAME).unlink(missing_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "vidpipe", "projects", "format=json"],
        env=doit_env(VIDPIPE_PROJECTS=str(projects)), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    listed = {record["id"]: record["state"] for record in json.loads(result.stdout)["projects"]}
    assert listed == {good.id: "pending", broken.id: "unreadable"}

    from api_client import running_server

    with running_server(projects, max_builds=0) as (client, _):
        answer = client.get("/api/projects")
        assert answer.status == 200
        assert {p["id"]: p["state"] for p in answer.json["projects"]} == listed
        detail = client.get(f"/api/projects/{broken.id}")
        assert detail.status == 422 and "project.yaml" in detail.json["error"]["message"]


BROKEN_INDEXES = {
    "a list": "[]",
    "a string": '"index"',
    "tables of lists": '{"_default": []}',
    "documents of strings": '{"_default": {"1": "x"}}',
    "records missing fields": "RECORDS_MISSING_FIELDS",
    "fields of the wrong type": "FIELDS_OF_THE_WRONG_TYPE",
    "a huge integer": '{"_default": {"1": {"id": ' + "9" * 5000 + "}}}",
    "nested deeply": "[" * 100_000 + "]" * 100_000,
    "not utf-8": "\udcff",
}


@pytest.mark.parametrize("text", BROKEN_INDEXES.values(), ids=BROKEN_INDEXES.keys())
def test_an_index_of_another_shape_is_rebuilt(projects: Path, text: str) -> None:
    good = good_projects(projects)
    ids = [p.id for p in good]
    if text == "RECORDS_MISSING_FIELDS":
        text = json.dumps({"_default": {str(n): {"id": i} for n, i in enumerate(ids, 1)}})
    elif text == "FIELDS_OF_THE_WRONG_TYPE":
        records = ProjectIndex(projects).listing()
        for record in records:
            record["created"] = "yesterday"
        text = json.dumps({"_default": {str(n): r for n, r in enumerate(records, 1)}})
    (projects / INDEX_NAME).write_bytes(text.encode("utf-8", "surrogateescape"))
    records = ProjectIndex(projects).listing()
    assert sorted(record["id"] for record in records) == sorted(ids)
    assert all(record["state"] == "pending" for record in records)
    assert ProjectIndex(projects).get(ids[0])["id"] == ids[0]  # rebuilt: readable again


STATE_FILES = {
    "status.json": ["[]", '{"state": 5}', '{"state": "bogus", "updated": "soon"}',
                    '{"state": "failed", "step": [], "error": {}}'],
    "runs.jsonl": ['[]\n{"outcome": 1}\n{"outcome": "complete", "steps": "none"}\n',
                   '{"outcome": "failed", "steps": [{"task": 1}], "cost_usd": "a lot"}\n'],
    "created": ["yesterday", "nan", "inf"],
    "provenance/storyboard.json.json": ["[]", '{"sha256": 5}'],
}  # fmt: skip
STATE_CASES = [(name, text) for name, texts in STATE_FILES.items() for text in texts]


@pytest.mark.parametrize(("name", "text"), STATE_CASES)
def test_ill_shaped_state_files_of_one_project_are_taken_as_absent(
    projects: Path, name: str, text: str
) -> None:
    good = good_projects(projects, 1)[0]
    damaged = create_project(ProjectSettings(prompt="Damaged"), projects)
    path = damaged.state_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    records = {record["id"]: record for record in ProjectIndex(projects).listing()}
    assert set(records) == {good.id, damaged.id}
    assert json.loads(json.dumps(records[damaged.id], allow_nan=False))  # a clean record


# --- requests and words that are odd or hostile ------------------------------------------------
def test_a_huge_json_integer_is_a_400_on_every_route_with_a_body(app, projects: Path) -> None:
    from test_api_doors import call, with_storyboard

    project = with_storyboard(projects)
    huge = b'{"prompt": "x", "scenes": ' + b"9" * 5000 + b"}"
    for method, path in [("POST", "/api/generate"),
                         ("POST", f"/api/projects/{project.id}/resume"),
                         ("POST", f"/api/projects/{project.id}/stitch"),
                         ("PATCH", f"/api/projects/{project.id}/scenes/s1")]:  # fmt: skip
        answer = call(app, method, path, raw=huge)
        assert answer.status == 400, (path, answer.body)
        assert "too many digits" in answer.json["error"]["message"]


def test_requests_from_other_sites_and_other_host_names_are_refused(app, projects: Path) -> None:
    from test_api_doors import call

    ok = call(app, "GET", "/api/health", headers={"Host": "127.0.0.1:8000"})
    assert ok.status == 200
    rebound = call(app, "GET", "/api/projects", headers={"Host": "evil.example:8000"})
    assert rebound.status == 403 and "does not answer for the host" in rebound.body.decode()
    body = {"prompt": "A page of another site wants this"}
    cross = call(app, "POST", "/api/generate", body,
                 headers={"Host": "127.0.0.1:8000", "Origin": "http://evil.example"})  # fmt: skip
    assert cross.status == 403
    assert not [p for p in projects.iterdir() if p.is_dir()]  # nothing was made
    same = call(app, "POST", "/api/generate", body,
                headers={"Host": "localhost:8000", "Origin": "http://localhost:8000"})  # fmt: skip
    assert same.status == 202, same.body


BAD_WORDS = {
    "a long prompt is not echoed whole": (["prompt=" + "x" * 100_000], "(100000 characters)"),
    "nan is not a number": (["prompt=x", "clip_duration=nan"], "finite number"),
    "inf is not a number": (["prompt=x", "crossfade=inf"], "finite number"),
    "a terminal escape": (["prompt=a\x1b[2Jb"], "control characters"),
    "a carriage return": (["prompt=a\rb"], "control characters"),
}


@pytest.mark.parametrize(("words", "said"), BAD_WORDS.values(), ids=BAD_WORDS.keys())
def test_odd_words_are_refused_in_one_short_line(projects: Path, words, said) -> None:
    from vidpipe.cli.commands import run_command
    from vidpipe.errors import BadInput

    name_values = dict(word.split("=", 1) for word in words)
    with pytest.raises(BadInput) as refused:
        run_command("generate", name_values)
    message = str(refused.value)
    assert said in message and len(message) < 400 and "\x1b" not in message
    assert not projects.exists() or not list(projects.iterdir())  # nothing was made


def test_a_hand_edited_storyboard_has_the_same_caps_as_a_generated_one(projects: Path):
    from test_api_doors import with_storyboard

    from vidpipe.errors import BadInput
    from vidpipe.project.settings import MAX_SCENES
    from vidpipe.project.storyboard import load_storyboard

    project = with_storyboard(projects)
    data = json.loads(project.storyboard_file.read_text())
    scene = data["scenes"][0]
    data["scenes"] = [{**scene, "id": f"s{n}"} for n in range(MAX_SCENES + 1)]
    project.storyboard_file.write_text(json.dumps(data))
    with pytest.raises(BadInput, match=f"at most {MAX_SCENES} items"):
        load_storyboard(project.storyboard_file)
    data["scenes"] = [{**scene, "title": "a\x1b]0;pwned\x07"}]
    project.storyboard_file.write_text(json.dumps(data))
    with pytest.raises(BadInput, match="control characters"):
        load_storyboard(project.storyboard_file)


def test_a_storyboard_nested_too_deeply_is_one_clear_error(projects: Path) -> None:
    from vidpipe.errors import BadInput
    from vidpipe.project.storyboard import load_storyboard

    project = create_project(ProjectSettings(prompt="Deep"), projects)
    project.storyboard_file.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(BadInput, match="nested too deeply"):
        load_storyboard(project.storyboard_file)


def test_a_build_killed_in_its_first_moments_is_interrupted_not_pending(projects: Path):
    from vidpipe.project.status import write_status
    from vidpipe.read.summary import live_status

    waiting = create_project(ProjectSettings(prompt="Queued"), projects)
    assert live_status(waiting)["state"] == "pending"  # created or queued: nothing started
    started = create_project(ProjectSettings(prompt="Killed early"), projects)
    write_status(started, "pending")  # what a build writes first; then it was killed
    assert live_status(started)["state"] == "interrupted"


# --- builds on a bad day (slow: real builds) ------------------------------------------------------
@pytest.mark.slow
def test_a_failed_stitch_keeps_the_crossfade_and_a_killed_ones_work_folder_goes(
    projects, monkeypatch
):
    from conftest import FAST, only_project, run_doit

    assert run_doit("generate", "prompt=A bay", *FAST).returncode == 0
    project = only_project(projects)
    project.clip_file("s2").write_bytes(b"not a video")  # the user's broken clip
    failed = run_doit("stitch", f"id={project.id}", "crossfade=0.25")
    assert failed.returncode == 1
    assert Project(project.root).settings.crossfade == 0.0  # not saved by the failed stitch

    (project.root / "final.partial-dead00-work-x1").mkdir()  # as a killed stitch leaves it
    (project.root / "final.partial-dead00-work-x1" / "part.mp4").write_bytes(b"half")
    project.clip_file("s2").unlink()
    assert run_doit("resume", f"id={project.id}").returncode == 0
    assert not list(project.root.rglob("*.partial-*"))

    # where a stitch and the final mux work: beside their output, inside the project (what a
    # kill leaves there is what the clean-up above removes), never in TMPDIR
    import tempfile

    from vidpipe.media import clipformat, mux, stitch

    made: list[Path] = []
    real = tempfile.TemporaryDirectory

    def recording(*args, **kwargs):
        folder = real(*args, **kwargs)
        made.append(Path(folder.name))
        return folder

    clipformat.canonical_headers.cache_clear()  # read again (in memory), under the check
    monkeypatch.setattr(tempfile, "TemporaryDirectory", recording)
    clips = [stitch.ClipRef(project.clip_file(f"s{n}"), 24, False) for n in (1, 2, 3)]
    out = project.root / "final.partial-abcdef.mp4"
    stitch.stitch(clips, out, project.settings.frame_size(), 24, 0.25)
    muxed = project.root / "final.partial-fedcba.mp4"
    mux.mux(out, project.soundtrack_file, None, muxed, 24)
    assert made and all(
        folder.parent == project.root and ".partial-" in folder.name for folder in made
    ), made


KILLED_WHILE = {  # vidpipe's calls of ffmpeg that keep something beside it while it runs
    "the encoder settings are read": "from vidpipe.media import clipformat\n"
    "clipformat.canonical_headers(320, 180, 24)",  # from a one-frame sample
}


@pytest.mark.parametrize("code", KILLED_WHILE.values(), ids=KILLED_WHILE.keys())
def test_a_kill_while_ffmpeg_runs_leaves_nothing_in_tmpdir(tmp_path: Path, code: str):
    """A build killed (kill -9) while its ffmpeg runs leaves no file or folder in TMPDIR."""
    from vidpipe.media.ffmpeg import FFMPEG_ENV

    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    killer = tmp_path / "ffmpeg"  # an ffmpeg that kills the build that started it
    killer.write_text("#!/bin/sh\nkill -KILL $PPID\nsleep 1\n")
    killer.chmod(0o755)
    env = doit_env(TMPDIR=str(tmpdir), **{FFMPEG_ENV: str(killer)})
    killed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert list(tmpdir.iterdir()) == []


@pytest.mark.parametrize("kind", ["a story", "how to brew coffee", "an ad for running shoes"])
def test_the_longest_prompt_the_door_takes_makes_a_valid_offline_storyboard(kind: str) -> None:
    """Validated once, at the door: what the settings accept, the steps can take."""
    from vidpipe.project.settings import MAX_PROMPT_CHARS
    from vidpipe.providers.local_story import plan_storyboard

    words = f"{kind} about a lighthouse keeper who finds a message in a bottle, ".split()
    prompt = " ".join(words * 200)[:MAX_PROMPT_CHARS].strip()
    storyboard = plan_storyboard(prompt, "cinematic", 6, 8.0)
    assert len(storyboard.scenes) == 6  # validated by the model, within every field's limit


def ffmpeg_processes(folder: Path) -> list[int]:
    """The running ffmpeg processes whose command line names something under `folder`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            words = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        named = any(str(folder).encode() in word for word in words)
        if named and b"ffmpeg" in words[0] and state != "Z":
            found.append(int(entry.name))
    return found


def interrupt_and_resume(project: Project, build: subprocess.Popen, signum: int) -> None:
    """Send `signum` to the build; then nothing of it runs on, Ctrl-C and SIGTERM leave no
    temporary file (each step removed its own), and a resume completes the project (after
    kill -9, it removes what was left)."""
    from conftest import run_doit, wait_until

    from vidpipe.fsutil import PARTIAL_MARK

    build.send_signal(signum)
    build.wait(timeout=60)
    wait_until(lambda: not ffmpeg_processes(project.root), 30, "ffmpeg to end")
    if signum != signal.SIGKILL:
        assert build.returncode == 130
        assert not list(project.root.rglob(f"*{PARTIAL_MARK}-*"))
    assert run_doit("resume", f"id={project.id}").returncode == 0
    assert not list(project.root.rglob(f"*{PARTIAL_MARK}-*"))


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_an_interrupted_build_stops_its_ffmpeg(projects: Path, signum: int):
    """Ctrl-C and SIGTERM stop the ffmpeg converting a user's clip with the build; after kill
    -9 it ends by itself (its input pipe closes)."""
    from conftest import only_project, run_doit, start_doit, wait_until

    from vidpipe.media.ffmpeg import ffmpeg_exe

    words = ["prompt=A slow river", "scenes=2", "clip_duration=8", "resolution=720p"]
    made = run_doit("generate", *words, "narration=0", "music=0", "subtitles=0")
    assert made.returncode == 0, made.stderr
    project = only_project(projects)
    subprocess.run(  # the user's clip, in another format, in the place of one: the cut converts it
        [ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=30:d=8",
         "-c:v", "libx264", "-preset", "ultrafast", "-y", str(project.clip_file("s1"))],
        check=True,
    )  # fmt: skip
    build = start_doit("resume", f"id={project.id}")
    wait_until(lambda: ffmpeg_processes(project.root), 120, "ffmpeg converting the user's clip")
    interrupt_and_resume(project, build, signum)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_build_stops_the_clips_it_draws(projects: Path, signum: int):
    """The offline clips are encoded in the build's own threads: Ctrl-C and SIGTERM stop them
    at their next frame, and each removes its temporary file."""
    from conftest import only_project, start_doit, wait_until

    from vidpipe.fsutil import PARTIAL_MARK

    words = ["prompt=A slow river", "scenes=3", "clip_duration=8", "resolution=720p"]
    build = start_doit("generate", *words, "narration=0", "music=0", "subtitles=0")
    drawing = f"*/clips/*{PARTIAL_MARK}-*.mp4"
    wait_until(lambda: list(projects.glob(drawing)), 120, "a clip being drawn")
    interrupt_and_resume(only_project(projects), build, signum)


def test_a_stop_asked_ends_a_steps_pause_and_not_a_later_ones():
    """A step's long wait (a Veo poll's pause) ends when its build asks the steps to stop; a
    step that starts after that stop waits its time."""
    import threading

    from vidpipe import process

    mark = process.stops()
    threading.Timer(0.05, process.ask_to_stop).start()
    assert process.pause(60, mark)  # woken by the stop, not by the 60 s
    assert process.stop_asked(mark)
    later = process.stops()
    assert not process.stop_asked(later)
    assert not process.pause(0.01, later)
