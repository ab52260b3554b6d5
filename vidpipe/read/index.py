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
from vidpipe.errors import DiskFull, VidpipeError, is_disk_full
from vidpipe.project.folder import Project, all_projects
from vidpipe.project.location import projects_root
from vidpipe.project.status import ACTIVE_STATES, LISTED_STATES, UNREADABLE
from vidpipe.read.summary import live_status, summarize

INDEX_NAME = ".index.json"
# what reading an index file that is not JSON, or JSON of another shape than TinyDB's, raises
INDEX_ERRORS = (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError, RecursionError)


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
        with self._writing() as db:
            db.upsert(record, Query().id == record["id"])

    def update(self, project_id: str, fields: dict[str, Any]) -> None:
        with self._writing() as db:
            db.update(fields, Query().id == project_id)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[TinyDB]:
        """The index, to change. The index is a cache of the folders: when it cannot be
        written (a full disk) it is dropped, to be rebuilt by the next listing, and the
        caller goes on."""
        try:
            with self._db(exclusive=True) as db:
                self._remove_partials()
                yield db
        except (DiskFull, OSError) as err:
            if isinstance(err, OSError) and not is_disk_full(err):
                raise
            self.path.unlink(missing_ok=True)

    def get(self, project_id: str) -> dict[str, Any] | None:
        """One project's record, or None when the index lacks it or cannot be read (the
        caller then summarizes the folder itself)."""
        try:
            with self._db(exclusive=False) as db:
                found = db.get(Query().id == project_id)
        except INDEX_ERRORS:
            return None
        return dict(found) if is_record(found) else None

    def records(self) -> list[dict[str, Any]]:
        """Every project's record; rebuilds the index from the folders if it is unreadable or
        does not list the same projects as the folder does."""
        try:
            with self._db(exclusive=False) as db:
                records = [dict(doc) for doc in db.all()]
        except INDEX_ERRORS:
            records = None  # not JSON, or JSON of another shape than TinyDB's
        on_disk = {project.id for project in all_projects(self.root)}
        if (
            records is None
            or not all(is_record(record) for record in records)
            or {record["id"] for record in records} != on_disk
        ):
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
        records = [record_of(project) for project in all_projects(self.root)]
        with self._writing() as db:
            db.drop_tables()
            db.insert_multiple(records)
        return records

    def _remove_partials(self) -> None:
        """Temporary files of a writer that was killed mid-write (we hold the write lock)."""
        for stale in self.root.glob(f"{Path(INDEX_NAME).stem}{fsutil.PARTIAL_MARK}-*"):
            stale.unlink(missing_ok=True)


def refresh(project: Project) -> dict[str, Any]:
    """Re-summarize one project into the index of its projects folder."""
    record = record_of(project)
    ProjectIndex(project.root.parent).put(record)
    return record


def record_of(project: Project) -> dict[str, Any]:
    """The index record of a project; one whose files cannot be read (an invalid
    project.yaml) is listed as unreadable, with the reason, and the rest are not affected."""
    try:
        return summarize(project)
    except VidpipeError as err:
        updated = project.settings_file.stat().st_mtime
        return {"id": project.id, "title": project.id, "prompt": "", "settings": {},
                "state": UNREADABLE, "step": None, "error": str(err), "scenes_total": 0,
                "scenes_done": 0, "scenes": [], "final": None, "created": updated,
                "updated": updated, "runs": [], "cost_spent_usd": 0.0,
                "cost_estimated_usd": None}  # fmt: skip


# what a listing needs of each record, and the types it must have
LISTED = {"id": str, "title": str, "state": str, "scenes_done": int, "scenes_total": int,
          "created": float, "updated": float}  # fmt: skip


def is_record(record: Any) -> bool:
    """Whether `record` is an index record a listing can show (else the index is rebuilt)."""
    if not isinstance(record, dict) or record.get("state") not in LISTED_STATES:
        return False
    for name, kind in LISTED.items():
        value = record.get(name)
        numeric = kind is float and isinstance(value, int) and not isinstance(value, bool)
        if not (isinstance(value, kind) or numeric) or isinstance(value, bool):
            return False
    return True
