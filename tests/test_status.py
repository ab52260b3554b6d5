"""Status you can trust: transitions, interrupted builds, failures, listing, stitch, watch."""

from __future__ import annotations

import json
import os
import pty
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest
from conftest import (
    FAST,
    REPO,
    doit_env,
    mtimes,
    only_project,
    probe,
    recorded_tasks,
    run_doit,
    start_doit,
    wait_until,
)
from PIL import Image

from vidpipe.project.stages import scene_task

pytestmark = pytest.mark.slow  # doit builds

ORDER = ["storyboard", "keyframes", "video_gen", "stitching", "complete"]


def test_status_moves_through_the_steps_in_order(projects):
    seen: list[str] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            for path in projects.glob("*/.vidpipe/status.json"):
                try:
                    state = json.loads(path.read_text())["state"]
                except (OSError, ValueError):
                    continue
                if not seen or seen[-1] != state:
                    seen.append(state)
            time.sleep(0.002)  # sampling the status as a reader would, not waiting

    poller = threading.Thread(target=poll)
    poller.start()
    result = run_doit("generate", "prompt=A paper boat", "progress=json", "workers=1", *FAST)
    stop.set()
    poller.join()
    assert result.returncode == 0, result.stderr

    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0]["event"] == "project"
    assert events[-1] == {**events[-1], "event": "end", "outcome": "complete", "exit_code": 0}
    started = [event["state"] for event in events if event["event"] == "start"]
    # the cut: the picture, the music bed, the mix, the subtitles, the final mux
    assert started == ["storyboard"] + ["keyframes", "video_gen"] * 3 + ["stitching"] * 5
    assert [e["done"] for e in events if e["event"] == "done"] == list(range(1, 13))
    assert {e["total"] for e in events if e["event"] == "done"} == {12}

    # what a reader of the status saw, while the build ran: never out of order
    firsts = [seen.index(state) for state in ORDER if state in seen]
    assert firsts == sorted(firsts)
    assert seen[-1] == "complete"
    assert {"storyboard", "video_gen", "complete"} <= set(seen)


def status_json(project_id: str) -> dict:
    result = run_doit("status", f"id={project_id}", "format=json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_killed_build_shows_interrupted_and_resume_completes_it(projects):
    build = start_doit("generate", "prompt=A comet", "scenes=6", "clip_duration=2",
                       "resolution=360p")  # fmt: skip

    def a_clip_recorded() -> bool:
        return any(
            scene_task(path.stem, "clip") in recorded_tasks(path.parent.parent)
            for path in projects.glob("*/clips/s[0-9].mp4")
        )

    wait_until(a_clip_recorded, what="a clip made and its step recorded")
    os.killpg(build.pid, signal.SIGKILL)
    build.wait()
    project = only_project(projects)

    record = status_json(project.id)
    assert record["state"] == "interrupted"
    assert 0 < record["scenes_done"] < 6
    listing = json.loads(run_doit("projects", "format=json").stdout)["projects"]
    assert [(r["id"], r["state"]) for r in listing] == [(project.id, "interrupted")]

    assert run_doit("resume").returncode == 0  # the latest unfinished project
    record = status_json(project.id)
    assert (record["state"], record["scenes_done"], record["scenes_total"]) == ("complete", 6, 6)
    assert [run["outcome"] for run in record["runs"]] == ["complete"]  # the killed run left none


def test_a_failed_step_is_named_with_its_reason_and_the_other_scenes_finish(projects):
    assert run_doit("generate", "prompt=A broken picture", *FAST).returncode == 0
    project = only_project(projects)
    project.keyframe_file("s2").write_bytes(b"not a picture")
    project.clip_file("s1").unlink()
    project.clip_file("s2").unlink()

    result = run_doit("resume", f"id={project.id}")
    assert result.returncode == 1
    assert "scene s2: clip FAILED" in result.stdout
    assert "is not a picture vidpipe can read" in result.stdout
    assert project.clip_file("s1").exists()  # the other scene went on

    record = status_json(project.id)
    assert record["state"] == "failed"
    assert record["step"] == "scene s2: clip"
    assert "is not a picture vidpipe can read" in record["error"]
    scenes = {scene["id"]: scene for scene in record["scenes"]}
    assert scenes["s2"]["clip"]["state"] == "failed"
    assert scenes["s1"]["clip"]["state"] == "done"
    text = run_doit("status", f"id={project.id}").stdout
    assert "failed at: scene s2: clip" in text


def test_status_says_which_scenes_an_edit_made_outdated(projects):
    assert run_doit("generate", "prompt=An owl", *FAST).returncode == 0
    project = only_project(projects)
    board = json.loads(project.storyboard_file.read_text())
    board["scenes"][2]["duration"] = 1.5
    project.storyboard_file.write_text(json.dumps(board))
    Image.new("RGB", (640, 360), "green").save(project.keyframe_file("s1"))
    project.keyframe_file("s2").unlink()
    scenes = status_json(project.id)["scenes"]
    assert [(s["keyframe"]["state"], s["clip"]["state"]) for s in scenes] == [
        ("done", "outdated"),
        ("missing", "outdated"),
        ("done", "outdated"),
    ]
    assert scenes[0]["clip"]["reason"] == "keyframes/s1.png changed since it was made"
    assert scenes[1]["clip"]["reason"] == (
        "keyframes/s2.png is missing; a resume makes it again, then this"
    )
    assert scenes[2]["clip"]["reason"] == "the scene changed since it was made"


def test_listing_is_newest_first_and_filters_by_status(projects):
    for prompt in ("First", "Second"):
        assert run_doit("generate", f"prompt={prompt}", *FAST).returncode == 0
    listing = json.loads(run_doit("projects", "format=json").stdout)["projects"]
    assert [r["title"] for r in listing] == ["Second", "First"]
    assert all(r["scenes_done"] == r["scenes_total"] == 3 for r in listing)
    assert json.loads(run_doit("projects", "status=failed", "format=json").stdout) == {
        "projects": []
    }
    text = run_doit("projects").stdout
    assert text.index("Second") < text.index("First")
    assert "\033[" not in text  # no colour codes when not on a terminal
    bad = run_doit("projects", "status=done")
    assert bad.returncode == 4 and "is not one of: pending" in bad.stderr


def test_stitch_recuts_without_regenerating_and_remembers_the_crossfade(projects):
    assert run_doit("generate", "prompt=A river", *FAST).returncode == 0
    project = only_project(projects)
    clips = mtimes(project.root / "clips") | mtimes(project.root / "keyframes")

    result = run_doit("stitch", f"id={project.id}", "crossfade=0.5")
    assert result.returncode == 0, result.stderr
    assert mtimes(project.root / "clips") | mtimes(project.root / "keyframes") == clips
    assert probe(project.final_file).frames == (3 - 2 * 0.5) * 24
    assert "crossfade: 0.5" in project.settings_file.read_text()

    again = run_doit("resume", f"id={project.id}")
    assert "up to date" in again.stdout

    too_long = run_doit("stitch", f"id={project.id}", "crossfade=0.6")
    assert too_long.returncode == 4 and "crossfade=0.6 is too long for scene s1" in too_long.stderr
    assert "crossfade: 0.5" in project.settings_file.read_text()  # unchanged

    project.clip_file("s2").unlink()
    missing = run_doit("stitch", f"id={project.id}", "crossfade=0")
    assert missing.returncode == 4 and "scene s2 has no clip yet" in missing.stderr


def _lines(process) -> queue.Queue:
    lines: queue.Queue = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in process.stdout], daemon=True
    ).start()
    return lines


def _wait_line(lines: queue.Queue, text: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        try:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            raise AssertionError(f"no line with {text!r} in time; got: {seen}") from None
        seen.append(line)
        if text in line:
            return line


def test_watch_rebuilds_an_edited_scene_and_survives_an_invalid_edit(projects):
    assert run_doit("generate", "prompt=A lantern", *FAST).returncode == 0
    project = only_project(projects)
    watcher = start_doit("watch", f"id={project.id}")
    try:
        lines = _lines(watcher)
        _wait_line(lines, "watching")
        before = mtimes(project.root)

        board = json.loads(project.storyboard_file.read_text())
        board["scenes"][0]["caption"] = "A new caption"
        project.storyboard_file.write_text(json.dumps(board))
        _wait_line(lines, "done:")
        changed = {k for k, v in mtimes(project.root).items() if before.get(k) != v}
        changed = {name for name in changed if not name.startswith(".vidpipe/")}
        cut = {"sound/picture.mp4", "sound/soundtrack.m4a", "final.mp4"}
        assert changed == {"storyboard.json", "keyframes/s1.png", "clips/s1.mp4"} | cut

        project.storyboard_file.write_text("{ broken")
        assert "not valid JSON" in _wait_line(lines, "error:")
        assert watcher.poll() is None  # still watching
        project.storyboard_file.write_text(json.dumps(board))  # fixed: nothing to rebuild
        _wait_line(lines, "up to date:")

        clip = project.clip_file("s3").stat().st_mtime_ns
        Image.new("RGB", (640, 360), "blue").save(project.keyframe_file("s3"))
        _wait_line(lines, "done:")
        assert project.clip_file("s3").stat().st_mtime_ns != clip

        watcher.send_signal(signal.SIGINT)
        assert watcher.wait(timeout=30) == 0
        _wait_line(lines, "stopped watching", timeout=10)
    finally:
        if watcher.poll() is None:
            watcher.kill()


def test_a_terminal_gets_a_live_line_a_pipe_gets_plain_lines(projects):
    main, child = pty.openpty()
    build = subprocess.Popen(
        [sys.executable, "-m", "doit", "generate", "prompt=On a terminal", *FAST],
        cwd=REPO, env=doit_env(), stdin=subprocess.DEVNULL, stdout=child, stderr=child,
    )  # fmt: skip
    os.close(child)
    output = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the terminal closed: the build is done
            break
        if not chunk:
            break
        output += chunk
    assert build.wait(timeout=60) == 0
    on_terminal = output.decode()
    assert "\r\x1b[K" in on_terminal and "done, running: scene s" in on_terminal

    piped = run_doit("generate", "prompt=In a pipe", *FAST).stdout
    assert "\r" not in piped and "\x1b" not in piped and "running:" not in piped
    assert "(12/12) final cut done" in piped


def test_status_names_the_setting_whose_change_made_a_clip_outdated(projects):
    import yaml

    silent = ["narration=0", "music=0", "subtitles=0"]
    assert run_doit("generate", "prompt=An owl", *FAST, *silent).returncode == 0
    project = only_project(projects)
    Image.new("RGB", (360, 360), "green").save(project.keyframe_file("s2"))  # square, by hand
    assert run_doit("resume", f"id={project.id}").returncode == 0
    settings_file = project.root / "project.yaml"
    settings = yaml.safe_load(settings_file.read_text())
    settings_file.write_text(yaml.safe_dump({**settings, "fit": "bars"}))

    scenes = status_json(project.id)["scenes"]
    assert [s["clip"]["state"] for s in scenes] == ["done", "outdated", "done"]
    assert scenes[1]["clip"]["reason"] == "the setting fit changed since it was made"
    shown = run_doit("status", f"id={project.id}").stdout
    assert "clip outdated (the setting fit changed since it was made)" in shown
    from api_client import running_server

    with running_server(projects, max_builds=0) as (api, _jobs):
        answer = api.get(f"/api/projects/{project.id}").json
    assert answer["scenes"][1]["clip"]["reason"] == "the setting fit changed since it was made"

    # the scene edited too: both are named
    board = json.loads(project.storyboard_file.read_text())
    board["scenes"][1]["camera"] = "zoom in"
    project.storyboard_file.write_text(json.dumps(board))
    reason = status_json(project.id)["scenes"][1]["clip"]["reason"]
    assert reason == "the scene and the setting fit changed since it was made"
