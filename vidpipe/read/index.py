"""The project index: one TinyDB document per project, for fast listing.

The project folders are the truth; the index is a cache of `summarize(project)` for each of
them, rebuilt from the folders when it is missing or unreadable. TinyDB itself is neither thread
nor process safe and rewrites its file in place, so every access here:
- holds a thread lock and an `fcntl.flock` on a lock file beside the index (shared for reads,
  exclusive for writes), released by the kernel if the holder dies;
- opens the database afresh (no query or id cache survives another process's write);
- writes through `AtomicJSONStorage`: a temporary file, fsync, `os.replace`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tinydb import Query, TinyDB
from tinydb.storages import Storage

from vidpipe import fsutil
from vidpipe.project.folder import Project, all_projects, projects_root
from vidpipe.project.status import ACTIVE_STATES
from vidpipe.read.summary import live_status, summarize

INDEX_NAME = ".index.json"


class AtomicJSONStorage(Storage):
    """TinyDB storage that replaces the whole file atomically on every write."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, dict[str, Any]] | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return json.loads(text) if text.strip() else None

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        fsutil.write_text(self.path, json.dumps(data, ensure_ascii=False))

    def close(self) -> None:
        pass


class ProjectIndex:
    _thread_lock = threading.Lock()

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or projects_root()
        self.path = self.root / INDEX_NAME
        self.lock_path = self.root / ".index.lock"

    @contextlib.contextmanager
    def _db(self, exclusive: bool) -> Iterator[TinyDB]:
        self.root.mkdir(parents=True, exist_ok=True)
        with self._thread_lock, open(self.lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            db = TinyDB(str(self.path), storage=AtomicJSONStorage)
            try:
                yield db
            finally:
                db.close()

    def put(self, record: dict[str, Any]) -> None:
        """Insert or replace the record of one project."""
        with self._db(exclusive=True) as db:
            self._remove_partials()
            db.upsert(record, Query().id == record["id"])

    def update(self, project_id: str, fields: dict[str, Any]) -> None:
        with self._db(exclusive=True) as db:
            db.update(fields, Query().id == project_id)

    def get(self, project_id: str) -> dict[str, Any] | None:
        """One project's record, or None when the index lacks it or cannot be read (the
        caller then summarizes the folder itself)."""
        try:
            with self._db(exclusive=False) as db:
                found = db.get(Query().id == project_id)
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError, KeyError):
            return None
        return dict(found) if isinstance(found, dict) else None

    def records(self) -> list[dict[str, Any]]:
        """Every project's record; rebuilds the index from the folders if it is unreadable or
        does not list the same projects as the folder does."""
        try:
            with self._db(exclusive=False) as db:
                records = [dict(doc) for doc in db.all()]
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError, KeyError):
            records = None
        on_disk = {project.id for project in all_projects(self.root)}
        if records is None or {r.get("id") for r in records} != on_disk:
            records = self.rebuild()
        return records

    def listing(self, state: str | None = None) -> list[dict[str, Any]]:
        """Records newest first, optionally only those in `state`; a record that says a build
        is running is checked against the project's lock (it may have died: interrupted)."""
        records = self.records()
        for record in records:
            if record["state"] in ACTIVE_STATES:
                record["state"] = live_status(Project(self.root / record["id"]))["state"]
        records = [record for record in records if state is None or record["state"] == state]
        return sorted(records, key=lambda record: record["created"], reverse=True)

    def rebuild(self) -> list[dict[str, Any]]:
        """Recreate the index from the project folders (the truth)."""
        records = [summarize(project) for project in all_projects(self.root)]
        with self._db(exclusive=True) as db:
            self._remove_partials()
            db.drop_tables()
            db.insert_multiple(records)
        return records

    def _remove_partials(self) -> None:
        """Temporary files of a writer that was killed mid-write (we hold the write lock)."""
        for stale in self.root.glob(f"{Path(INDEX_NAME).stem}{fsutil.PARTIAL_MARK}-*"):
            stale.unlink(missing_ok=True)


def refresh(project: Project) -> dict[str, Any]:
    """Re-summarize one project into the index of its projects folder."""
    record = summarize(project)
    ProjectIndex(project.root.parent).put(record)
    return record
