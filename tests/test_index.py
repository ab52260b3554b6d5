"""The TinyDB index survives concurrent writers, kill -9 and deletion."""

from __future__ import annotations

import json
import multiprocessing
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import FAST, run_doit

from vidpipe.project.folder import create_project
from vidpipe.project.settings import ProjectSettings
from vidpipe.read.index import ProjectIndex

pytestmark = pytest.mark.slow  # doit builds and writer processes


def _writer(root: str, name: str, count: int) -> None:
    index = ProjectIndex(Path(root))
    for number in range(count):
        index.put({"id": f"{name}-{number}", "state": "pending", "n": number})
        index.update(f"{name}-{number}", {"state": "complete"})


def test_concurrent_writers_in_threads_and_processes_lose_nothing(tmp_path):
    root = tmp_path / "projects"
    threads = [threading.Thread(target=_writer, args=(str(root), f"t{n}", 15)) for n in range(4)]
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_writer, args=(str(root), f"p{n}", 15)) for n in range(3)]
    for worker in threads + processes:
        worker.start()
    for worker in threads + processes:
        worker.join(timeout=120)
    assert all(process.exitcode == 0 for process in processes)

    data = json.loads((root / ".index.json").read_text())["_default"]
    records = sorted(data.values(), key=lambda record: record["id"])
    assert len(records) == 7 * 15
    assert len({record["id"] for record in records}) == 7 * 15
    assert all(record["state"] == "complete" for record in records)


WRITER = """
import sys, pathlib
from vidpipe.read.index import ProjectIndex
index = ProjectIndex(pathlib.Path(sys.argv[1]))
index.put({"id": "w-0", "state": "pending", "payload": "x" * 2000, "n": 0})
print("ready", flush=True)  # imported, and written once: the kills may begin
n = 0
while True:
    n += 1
    index.put({"id": f"w-{n % 50}", "state": "pending", "payload": "x" * 2000, "n": n})
"""


def wait_ready(writer: subprocess.Popen, timeout: float = 60.0) -> None:
    """Wait for the writer's line saying it has imported and written once."""
    readable, _, _ = select.select([writer.stdout], [], [], timeout)
    assert readable, f"the writer did not say it was ready within {timeout:g} s"
    line = writer.stdout.readline()
    assert line.strip() == "ready", f"the writer said {line!r} (exit code {writer.poll()})"


def test_kill_9_of_a_writer_never_leaves_an_unreadable_index(tmp_path):
    root = tmp_path / "projects"
    for attempt in range(12):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(root)], stdout=subprocess.PIPE, text=True
        )
        wait_ready(writer)
        # the behaviour under test: kills that land at varied points of the writes
        time.sleep(0.05 * (attempt % 4))
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
        if (root / ".index.json").exists():
            json.loads((root / ".index.json").read_text())  # always loads
    assert (root / ".index.json").exists()
    index = ProjectIndex(root)
    index.put({"id": "after", "state": "pending"})
    assert not list(root.glob(".index.partial-*"))  # stale temporary files cleaned up
    # the writer's records are not project folders: listing rebuilds from the folders
    assert index.records() == []


def test_a_deleted_or_corrupt_index_is_rebuilt_from_the_folders(projects):
    assert run_doit("generate", "prompt=Kept in folders", *FAST).returncode == 0
    create_project(ProjectSettings(prompt="Never built"), projects)
    index = ProjectIndex(projects)
    before = sorted(index.records(), key=lambda record: record["id"])
    assert [r["state"] for r in before] == sorted(["complete", "pending"])

    (projects / ".index.json").unlink()
    assert sorted(index.records(), key=lambda record: record["id"]) == before
    (projects / ".index.json").write_text('{"_default": {"1": {"id": ')
    assert sorted(index.records(), key=lambda record: record["id"]) == before
    listing = json.loads(run_doit("projects", "format=json").stdout)["projects"]
    assert sorted(r["id"] for r in listing) == [r["id"] for r in before]
