"""`vidpipe serve`: the HTTP API on waitress (threaded, one process)."""

from __future__ import annotations

import ipaddress
import os
import signal
from pathlib import Path
from typing import Any

from vidpipe.api.jobs import JobManager, Jobs
from vidpipe.errors import EXIT_OK, BadInput
from vidpipe.process import raise_interrupt
from vidpipe.project.folder import all_projects
from vidpipe.project.location import projects_root
from vidpipe.read.summary import live_status

TOKEN_ENV = "VIDPIPE_API_TOKEN"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _number(words: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    value = words.get(name, str(default))
    if not value.isdigit() or not low <= int(value) <= high:
        raise BadInput(f"{name}={value} must be a whole number from {low} to {high}")
    return int(value)


def _jobs(root: Path, queue: str | None, max_builds: int) -> Jobs:
    """The job runner: embedded (it starts again the jobs a stop left), or a Celery queue."""
    if queue is None:
        return JobManager(root, max_builds=max_builds)
    return celery_module().CeleryJobs(root, queue)


def celery_module() -> Any:
    try:
        from vidpipe.api import celery_jobs
    except ImportError as err:
        raise BadInput(
            f"queue= needs Celery and Redis ({err.name} is not installed): "
            "pip install 'vidpipe[queue]'"
        ) from None
    return celery_jobs


def worker_forever(words: dict[str, str]) -> int:
    """`vidpipe worker queue=URL`: run builds from the queue on this machine."""
    concurrency = _number(words, "concurrency", 1, 1, 64)
    root = projects_root()
    root.mkdir(parents=True, exist_ok=True)
    return int(celery_module().run_worker(words["queue"], root, concurrency))


def serve_forever(words: dict[str, str]) -> int:
    import waitress

    from vidpipe.api.app import LOOPBACK_NAMES, make_app

    host = words.get("host", "127.0.0.1")
    port = _number(words, "port", 8000, 0, 65535)
    max_builds = _number(words, "max_builds", 2, 0, 64)
    token = os.environ.get(TOKEN_ENV) or None
    if not _is_loopback(host) and token is None and words.get("allow_remote") != "1":
        raise BadInput(
            f"refusing to serve on {host} without authentication: set {TOKEN_ENV} to a secret "
            "token, or add allow_remote=1 to serve anyone who can reach this address"
        )
    # on a loopback address it answers only for loopback names (a browser page must not reach
    # it under another); on a public one, for any (it has a token)
    hosts = LOOPBACK_NAMES | {host.lower()} if _is_loopback(host) else None
    root = projects_root()
    root.mkdir(parents=True, exist_ok=True)
    jobs = _jobs(root, words.get("queue"), max_builds)
    interrupted = [
        project
        for project in all_projects(root)
        if live_status(project)["state"] == "interrupted" and jobs.state(project.id) is None
    ]  # builds stopped outside this server (a cancelled job stays cancelled)
    if interrupted:
        names = ", ".join(p.id for p in interrupted)
        if words.get("resume_interrupted") == "1":
            for project in interrupted:
                jobs.submit(project.id, ["resume"])
            print(f"resuming interrupted builds: {names}", flush=True)
        else:
            print(f"interrupted builds (POST .../resume to continue): {names}", flush=True)
    try:
        server = waitress.create_server(
            make_app(root, jobs, token, hosts), host=host, port=port, threads=8
        )
    except OSError as err:
        jobs.shutdown()
        raise BadInput(
            f"cannot listen on {host}:{port} ({err.strerror}); stop what uses it, or pick "
            "another port: port=8001 (port=0 takes any free one)"
        ) from None
    print(f"serving http://{host}:{server.effective_port}/api (projects in {root})", flush=True)
    print(f"the studio: http://{host}:{server.effective_port}/", flush=True)
    signal.signal(signal.SIGTERM, raise_interrupt)  # stop like Ctrl-C: builds are told to stop too
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        jobs.shutdown()
        server.close()
    print("server stopped", flush=True)
    return EXIT_OK
