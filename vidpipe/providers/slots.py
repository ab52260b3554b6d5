"""Paid calls running at once, per stage (`google.clip_concurrency`, ...), counted where
Google counts its quota: for all builds together, not each build alone.

On one machine the slots are lock files in a folder of the machine's temporary folder: every
build on it (two `vidpipe generate`s, the builds of one server) takes one of the `limit`
first, and the system frees a killed build's locks. A build that a queue's worker
runs (`vidpipe worker queue=URL` sets VIDPIPE_QUEUE in the build's environment) counts them
in that Redis, so the limit holds across every worker of the deployment, as Google's quota
does across a Google project. Each slot there is a lease: a member of a sorted set whose
score is its expiry, renewed while the call runs, so a build killed with its slot (kill -9,
its machine gone) frees it after LEASE_MS.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from vidpipe.errors import StepFailed

if TYPE_CHECKING:
    import redis

QUEUE_ENV = "VIDPIPE_QUEUE"
LEASE_MS = 30_000
WAIT_SECONDS = 0.25  # how often a build waiting for a slot tries again

# Redis's own clock, so that machines whose clocks differ agree on when a lease ends.
_NOW_MS = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000) "
# KEYS[1]: the stage's slots; ARGV: limit, token, lease. 1: taken.
ACQUIRE = _NOW_MS + (
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) "
    "if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then "
    "redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2]) return 1 end return 0"
)
# KEYS[1]: the stage's slots; ARGV: token, lease.
RENEW = _NOW_MS + "redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1]) return 1"


def slots_key(stage: str) -> str:
    return f"vidpipe:slots:{stage}"


@contextlib.contextmanager
def slot(stage: str, limit: int) -> Iterator[None]:
    """Hold one of `limit` slots of `stage` while the block runs (waiting for one first)."""
    url = os.environ.get(QUEUE_ENV)
    with deployment_slot(url, stage, limit) if url else machine_slot(stage, limit):
        yield


@contextlib.contextmanager
def machine_slot(stage: str, limit: int) -> Iterator[None]:
    """A slot shared by the builds of this machine: an exclusive lock on one of `limit` files
    (each open file its own lock, so threads of one build count as builds do)."""
    folder = Path(tempfile.gettempdir()) / f"vidpipe-slots-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    while True:
        for number in range(limit):
            handle = (folder / f"{stage}-{number}.lock").open("a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            with handle:  # closing it lets go of the lock
                yield
            return
        threading.Event().wait(WAIT_SECONDS)


@contextlib.contextmanager
def deployment_slot(url: str, stage: str, limit: int, lease_ms: int = LEASE_MS) -> Iterator[None]:
    """A slot counted in the Redis at `url`, shared by every build that uses it."""
    import redis

    token = uuid.uuid4().hex
    try:
        store = redis.Redis.from_url(url, socket_connect_timeout=5)
        while not store.eval(ACQUIRE, 1, slots_key(stage), limit, token, lease_ms):
            threading.Event().wait(WAIT_SECONDS)
    except redis.RedisError as err:
        raise StepFailed(
            f"cannot reach the queue at {url} to count {stage}s running at once ({err}); "
            "nothing was paid: resume when Redis answers"
        ) from None
    done = threading.Event()
    renewer = threading.Thread(target=_renew, args=(store, stage, token, lease_ms, done),
                               daemon=True)  # fmt: skip
    renewer.start()
    try:
        yield
    finally:
        done.set()
        renewer.join()
        with contextlib.suppress(redis.RedisError):  # else its lease ends by itself
            store.zrem(slots_key(stage), token)


def _renew(
    store: redis.Redis, stage: str, token: str, lease_ms: int, done: threading.Event
) -> None:
    import redis

    while not done.wait(lease_ms / 3000):
        with contextlib.suppress(redis.RedisError):  # a missed renewal: the next one may do
            store.eval(RENEW, 1, slots_key(stage), token, lease_ms)
