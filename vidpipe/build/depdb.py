"""doit dependency-DB backends (registered as doit plugins in pyproject.toml).

doit's own backends write the DB once, at the end of a run: a killed build forgets every scene
it finished, and the next run pays for them again. `DurableSqliteDB` commits each record as
soon as doit sets it, so a finished task stays finished across SIGKILL.
"""

from __future__ import annotations

from doit.dependency import SqliteDB


class DurableSqliteDB(SqliteDB):
    """SQLite backend that writes through on every change (WAL: one small commit per record)."""

    desc = "sqlite3, committed after every change (survives kill -9)"

    def _sqlite3(self, name):
        conn = super()._sqlite3(name)
        conn.execute("pragma journal_mode=wal")
        conn.execute("pragma synchronous=normal")
        conn.execute("pragma busy_timeout=10000")
        return conn

    def set(self, task_id, dependency, value):
        super().set(task_id, dependency, value)
        self._write(task_id)

    def remove(self, task_id):
        super().remove(task_id)
        self._conn.commit()

    def remove_all(self):
        super().remove_all()
        self._conn.commit()

    def _write(self, task_id):
        self._conn.execute(
            "insert or replace into doit values (?,?)",
            (task_id, self.codec.encode(self._cache[task_id])),
        )
        self._conn.commit()
        self._dirty.discard(task_id)


class MemoryDB:
    """Keeps nothing: for the user commands in the root dodo.py, which are never up to date
    (each project keeps its own durable DB)."""

    desc = "in memory, nothing saved"

    def __init__(self, name, codec, *, module_name=None):
        self.name = name
        self._data: dict[str, dict] = {}

    def get(self, task_id, dependency):
        return self._data.get(task_id, {}).get(dependency)

    def set(self, task_id, dependency, value):
        self._data.setdefault(task_id, {})[dependency] = value

    def in_(self, task_id):
        return task_id in self._data

    def remove(self, task_id):
        self._data.pop(task_id, None)

    def remove_all(self):
        self._data.clear()

    def dump(self):
        pass
