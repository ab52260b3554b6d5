"""Projects per minute on Celery workers (1, 2 and 3) against the embedded runner, in one run.

    python benchmarks/bench_queue.py [--projects 6] [--workers 1,2,3]

Needs redis-server on PATH. Each configuration gets a fresh projects folder and a fresh Redis,
builds the same short offline projects submitted at once through the HTTP API, and prints the
throughput, its ratio to the embedded runner's (max_builds=1: one build at a time, as one
worker of concurrency 1), and the median time from submit to the build's start.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

PROJECT = {"scenes": 2, "clip_duration": 1, "resolution": "360p"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def call(base: str, method: str, path: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=60) as response:
        return dict(json.loads(response.read()))


def start(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip


def serve(folder: Path, env: dict[str, str], words: list[str]) -> tuple[subprocess.Popen, str]:
    server = start([sys.executable, "-m", "vidpipe", "serve", "port=0", *words], folder, env)
    assert server.stdout is not None
    for line in server.stdout:
        found = re.search(r"serving (http://\S+)/api", line)
        if found:
            threading.Thread(target=server.stdout.read, daemon=True).start()
            return server, found.group(1)
    raise SystemExit("the server did not start")


def measure(count: int, workers: int | None) -> tuple[float, float]:
    """Projects per minute and the median seconds from submit to start; `workers`: None for
    the embedded runner."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        env = {**os.environ, "VIDPIPE_PROJECTS": str(folder / "projects")}
        helpers: list[subprocess.Popen] = []
        words = ["max_builds=1"]
        if workers is not None:
            port = free_port()
            helpers.append(start(["redis-server", "--port", str(port), "--save", "",
                                  "--appendonly", "no"], folder, env))  # fmt: skip
            time.sleep(0.5)
            url = f"redis://127.0.0.1:{port}/0"
            words = [f"queue={url}"]
            for n in range(workers):
                machine = folder / f"machine-{n}"
                machine.mkdir()
                helpers.append(start([sys.executable, "-m", "vidpipe", "worker", f"queue={url}"],
                                     machine, env))  # fmt: skip
        server, base = serve(folder, env, words)
        try:
            started = time.perf_counter()
            submitted = {}
            for n in range(count):
                answer = call(base, "POST", "/api/generate", {"prompt": f"Bench {n}", **PROJECT})
                submitted[answer["id"]] = time.time()
            waits = {}
            while len(waits) < count or any(
                call(base, "GET", f"/api/projects/{i}/status")["job"] in ("queued", "running")
                for i in submitted
            ):
                for project_id, at in submitted.items():
                    runs = folder / "projects" / project_id / ".vidpipe" / "runs.jsonl"
                    if project_id not in waits and runs.exists():
                        run = json.loads(runs.read_text().splitlines()[0])
                        waits[project_id] = run["started"] - at
                time.sleep(0.2)
            elapsed = time.perf_counter() - started
        finally:
            for process in [server, *helpers]:
                process.terminate()
                process.wait(timeout=60)
    return count / elapsed * 60, statistics.median(waits.values())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--projects", type=int, default=6)
    parser.add_argument("--workers", default="1,2,3")
    args = parser.parse_args()
    embedded, embedded_wait = measure(args.projects, None)
    print(f"embedded runner (max_builds=1): {embedded:.1f} projects/min, "
          f"submit to start {embedded_wait:.2f} s (median)")  # fmt: skip
    for workers in (int(n) for n in args.workers.split(",")):
        rate, wait = measure(args.projects, workers)
        print(f"celery, {workers} worker(s): {rate:.1f} projects/min ({rate / embedded:.2f}x), "
              f"submit to start {wait:.2f} s (median)")  # fmt: skip


if __name__ == "__main__":
    main()
