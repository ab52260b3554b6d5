"""Shared test helpers: real doit runs in a temporary projects folder, real ffmpeg, PyAV probes.

Nothing here reaches the network: the offline provider needs none, the Google provider is
tested against a loopback fake, and `no_network` refuses any other connection made in-process.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import bottle
import pytest
from fake_google import FakeGoogle, write_credentials

from vidpipe.api.app import make_app
from vidpipe.api.jobs import JobManager
from vidpipe.media import ffmpeg
from vidpipe.project.folder import Project, all_projects

REPO = Path(__file__).resolve().parent.parent
# Small and short: the pipeline's behaviour, not its pixels, is under test.
FAST = ["resolution=360p", "clip_duration=1", "scenes=3"]
GOOGLE_ENV = (
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "GOOGLE_APPLICATION_CREDENTIALS",
)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "slow: runs doit builds, ffmpeg or servers (deselect with -m 'not slow' for the fast "
        "development loop)",
    )


def wait_until(
    condition: Callable[[], Any],
    timeout: float = 60.0,
    what: str | Callable[[], str] = "the condition",
    interval: float = 0.02,
) -> Any:
    """Poll `condition` until it returns something truthy, and return that; fail after
    `timeout` seconds naming `what` was waited for (a callable `what` is asked then, so the
    message can show the last thing seen)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            described = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout:g} s waiting for {described}")
        time.sleep(interval)


def recorded_tasks(project_root: Path) -> set[str]:
    """The tasks a build of the project has recorded as done in its durable doit DB (each
    record is committed as doit sets it, `deps:` last: a record with it is complete)."""
    db = project_root / ".vidpipe" / "doit.sqlite3"
    if not db.exists():
        return set()
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error:
        return set()
    try:
        rows = conn.execute("select task_id, task_data from doit").fetchall()
    except sqlite3.Error:  # the table is not made yet
        return set()
    finally:
        conn.close()
    return {task for task, data in rows if "deps:" in json.loads(data)}


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Refuse in-process connections to anything but loopback."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (
            host.startswith("127.") or host in ("localhost", "::1") or host.startswith("/")
        ):
            raise OSError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def projects(tmp_path, monkeypatch) -> Path:
    """An empty projects folder, used by in-process code and by child processes alike."""
    root = tmp_path / "projects"
    monkeypatch.setenv("VIDPIPE_PROJECTS", str(root))
    for name in GOOGLE_ENV:
        monkeypatch.delenv(name, raising=False)
    return root


@pytest.fixture
def jobs(projects: Path) -> Iterator[JobManager]:
    """The server's job runner over `projects`, running nothing (requests only: builds stay
    queued)."""
    projects.mkdir(exist_ok=True)
    manager = JobManager(projects, max_builds=0)
    yield manager
    manager.shutdown()


@pytest.fixture
def app(projects: Path, jobs: JobManager) -> bottle.Bottle:
    """The HTTP API's WSGI app over `projects` (called in process, without a server)."""
    return make_app(projects, jobs)


def doit_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in GOOGLE_ENV}
    env.update(extra)
    return env


def run_doit(*words: str, timeout: float = 180, **env: str) -> subprocess.CompletedProcess:
    """Run `doit WORDS...` in the repository root, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "doit", *words],
        cwd=REPO,
        env=doit_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_doit(*words: str, **env: str) -> subprocess.Popen:
    """Start `doit WORDS...` in its own process group (so a test can kill the whole build)."""
    return subprocess.Popen(
        [sys.executable, "-m", "doit", *words],
        cwd=REPO,
        env=doit_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def only_project(root: Path) -> Project:
    found = all_projects(root)
    assert len(found) == 1, found
    return found[0]


@dataclass
class VideoFacts:
    codec: str
    pix_fmt: str
    width: int
    height: int
    fps: float
    frames: int  # decoded, every one of them
    duration: float  # frames / fps
    audio_seconds: float | None  # decoded audio samples / sample rate


def probe(path: Path) -> VideoFacts:
    """Decode every video frame and audio sample of `path` (fails on a corrupt file)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate)
        codec, pix_fmt = stream.codec_context.name, stream.codec_context.pix_fmt
        width, height = stream.codec_context.width, stream.codec_context.height
        frames = sum(1 for _ in container.decode(video=0))
    audio_seconds = None
    with av.open(str(path)) as container:
        if container.streams.audio:
            rate = container.streams.audio[0].rate
            samples = sum(frame.samples for frame in container.decode(audio=0))
            audio_seconds = samples / rate
    return VideoFacts(codec, pix_fmt, width, height, fps, frames, frames / fps, audio_seconds)


def mtimes(folder: Path) -> dict[str, int]:
    """name -> mtime in ns of every file under `folder`."""
    return {
        str(path.relative_to(folder)): path.stat().st_mtime_ns
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


# --- the loopback fake of Google's REST API (tests/fake_google.py) ------------------------------
@pytest.fixture(scope="session")
def veo_clip(tmp_path_factory) -> bytes:
    """A real 4 s 640x360 H.264/AAC clip, as Veo would send it."""
    folder = tmp_path_factory.mktemp("google-assets")
    clip = folder / "veo.mp4"
    ffmpeg.run_ffmpeg(
        [
            *("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=24"),
            *("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"),
            *("-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
            *("-c:a", "aac", "-shortest", str(clip)),
        ],
        doing="making the fake's clip",
    )
    return clip.read_bytes()


@pytest.fixture
def fake(veo_clip):
    server = FakeGoogle(video_bytes=veo_clip).start()
    yield server
    server.stop()


@pytest.fixture
def vertex(fake, tmp_path) -> dict[str, str]:
    return fake.vertex_env(write_credentials(tmp_path / "adc.json"))
