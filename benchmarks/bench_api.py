"""Status endpoint under load: requests per second and p50/p99 latency with 32 concurrent
clients, first with the server idle (the baseline), then while builds run.

    python benchmarks/bench_api.py [--clients 32] [--seconds 5]

The server is the real one (`doit serve`, waitress, child-process builds) on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def start_server(projects: Path, max_builds: int) -> tuple[subprocess.Popen, int]:
    server = subprocess.Popen(
        [sys.executable, "-m", "doit", "serve", "port=0", f"max_builds={max_builds}"],
        cwd=REPO,
        env={**os.environ, "VIDPIPE_PROJECTS": str(projects)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    for line in server.stdout:
        found = re.search(r"http://127\.0\.0\.1:(\d+)/api", line)
        if found:  # keep reading its output, or a full pipe would stall the server
            threading.Thread(target=server.stdout.read, daemon=True).start()
            return server, int(found.group(1))
    raise RuntimeError("server did not start")


def request(port: int, method: str, path: str, body: dict | None = None) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    payload = json.dumps(body) if body is not None else None
    headers = {"Content-Type": "application/json"} if body is not None else {}
    connection.request(method, path, payload, headers)
    answer = json.loads(connection.getresponse().read())
    connection.close()
    return answer


def hammer(port: int, path: str, clients: int, seconds: float) -> tuple[float, float, float]:
    """(requests per second, p50 ms, p99 ms) of GET `path` from `clients` threads."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        while time.monotonic() < stop:
            started = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            assert response.status == 200, response.status
            mine.append(time.perf_counter() - started)
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    cuts = statistics.quantiles(latencies, n=100)
    return len(latencies) / elapsed, cuts[49] * 1000, cuts[98] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        projects = Path(folder)
        server, port = start_server(projects, max_builds=2)
        try:
            small = {"prompt": "Benchmark", "scenes": 2, "clip_duration": 1, "resolution": "360p"}
            target = request(port, "POST", "/api/generate", small)["id"]
            while request(port, "GET", f"/api/projects/{target}/status")["state"] != "complete":
                time.sleep(0.1)
            path = f"/api/projects/{target}/status"

            idle = hammer(port, path, args.clients, args.seconds)
            busy_body = {"prompt": "Load", "scenes": 12, "clip_duration": 4, "resolution": "720p"}
            for _ in range(4):
                request(port, "POST", "/api/generate", busy_body)
            time.sleep(0.5)
            busy = hammer(port, path, args.clients, args.seconds)
            running = request(port, "GET", "/api/health")
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)

    print(f"GET /api/projects/<id>/status, {args.clients} clients, {args.seconds:g} s each")
    print(f"{'':<26}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    print(f"{'idle server (baseline)':<26}{idle[0]:>10.0f}{idle[1]:>10.1f}{idle[2]:>10.1f}")
    print(f"{'while builds run':<26}{busy[0]:>10.0f}{busy[1]:>10.1f}{busy[2]:>10.1f}")
    print(f"builds during the loaded run: {running['running']} running, {running['queued']} queued")
    print(f"ratio loaded/idle: req/s {busy[0] / idle[0]:.2f}x, p99 {busy[2] / idle[2]:.2f}x")


if __name__ == "__main__":
    main()
