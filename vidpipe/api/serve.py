"""`vidpipe serve`: the HTTP API on waitress (threaded, one process)."""

from __future__ import annotations

import ipaddress
import os
import signal

from vidpipe.api.jobs import JobManager
from vidpipe.errors import EXIT_OK, BadInput
from vidpipe.process import raise_interrupt
from vidpipe.project.folder import all_projects, projects_root
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


def serve_forever(words: dict[str, str]) -> int:
    import waitress

    from vidpipe.api.app import make_app

    host = words.get("host", "127.0.0.1")
    port = _number(words, "port", 8000, 0, 65535)
    max_builds = _number(words, "max_builds", 2, 0, 64)
    token = os.environ.get(TOKEN_ENV) or None
    if not _is_loopback(host) and token is None and words.get("allow_remote") != "1":
        raise BadInput(
            f"refusing to serve on {host} without authentication: set {TOKEN_ENV} to a secret "
            "token, or add allow_remote=1 to serve anyone who can reach this address"
        )
    root = projects_root()
    root.mkdir(parents=True, exist_ok=True)
    jobs = JobManager(root, max_builds=max_builds)
    interrupted = [p for p in all_projects(root) if live_status(p)["state"] == "interrupted"]
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
            make_app(root, jobs, token), host=host, port=port, threads=8
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
