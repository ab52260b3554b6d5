"""A tiny HTTP client for the API tests (stdlib only), and a real server on loopback."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import waitress
from conftest import doit_env

from vidpipe.api.app import make_app
from vidpipe.api.jobs import JobManager


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        assert self.headers.get("content-type", "").startswith("application/json"), self.headers
        return json.loads(self.body)


class Client:
    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base
        self.token = token

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> Answer:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", content_type)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return Answer(response.status, _lower(response.headers), response.read())
        except urllib.error.HTTPError as err:
            return Answer(err.code, _lower(err.headers), err.read())

    def get(self, path: str, **kwargs: Any) -> Answer:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Answer:
        return self.call("POST", path, body, **kwargs)


def _lower(headers) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


@contextlib.contextmanager
def running_server(
    root: Path, max_builds: int = 2, token: str | None = None
) -> Iterator[tuple[Client, JobManager]]:
    """The real app on waitress, on a free loopback port, in this process."""
    jobs = JobManager(root, max_builds=max_builds)
    server = waitress.create_server(make_app(root, jobs, token), host="127.0.0.1", port=0,
                                    threads=8)  # fmt: skip
    stopping = threading.Event()

    def run() -> None:
        try:
            server.run()
        except OSError:  # its sockets were closed under it: how a threaded waitress stops
            if not stopping.is_set():
                raise

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield Client(f"http://127.0.0.1:{server.effective_port}", token), jobs
    finally:
        jobs.shutdown()
        stopping.set()
        server.close()
        thread.join(timeout=10)


def start_server(
    projects: Path, *words: str, background: bool = False, **env: str
) -> tuple[subprocess.Popen, Client]:
    """`vidpipe serve` as its own process on a free loopback port, `env` added to its
    environment; `background`: with SIGINT ignored, as a script's `vidpipe serve &` starts it."""
    server = subprocess.Popen(
        [sys.executable, "-m", "vidpipe", "serve", "port=0", "max_builds=1", *words],
        cwd=projects.parent, env=doit_env(VIDPIPE_PROJECTS=str(projects), **env),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if background else None,
    )  # fmt: skip
    assert server.stdout is not None
    for line in server.stdout:
        found = re.search(r"serving (http://\S+)/api", line)
        if found:  # keep reading its output, or a full pipe would stall the server
            threading.Thread(target=server.stdout.read, daemon=True).start()
            return server, Client(found.group(1))
    raise AssertionError(f"the server did not start (exit {server.wait()})")


def stop(process: subprocess.Popen, how: signal.Signals = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(how)
    process.wait(timeout=60)
