"""The SQLite file under the intake's outbox and quarantine (`workers/outbox.py`,
`workers/quarantine.py`): events kept on disk, shared by every intake process that opens the file.

Each statement commits by itself, so an event is on disk before the intake answers its sender; a
change of several statements takes the write lock at once (`begin immediate`), so that two
intakes sharing the file cannot both decide on what they read. Opening a file brings it to the
caller's schema in one such transaction: two intakes opening one old file migrate it once.

The file keeps SQLite's rollback journal (not WAL), in which every commit, from any connection of
any process, increments the file change counter in the file's header: `version` reads it without
SQLite, so that the intake can tell on its event loop that nothing changed since a query.

Each thread keeps its connection open. So never delete, move or replace the file while an intake
runs: its connections stay with the file they opened (copy a backup with `sqlite3 .backup`).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


class EventStore:
    def __init__(self, path: Path, migrate: Callable[[sqlite3.Connection], None]) -> None:
        """Open (or create) the file and bring it to the schema with `migrate`."""
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()  # one statement at a time from this process's threads
        self._threads = threading.local()
        with self.connection() as db:
            [mode] = db.execute("pragma journal_mode = delete").fetchone()
        if mode != "delete":  # `version` needs it (a file left in WAL by another program)
            raise sqlite3.OperationalError(f"{path}: journal mode {mode}, not delete")
        with self.transaction() as db:
            migrate(db)
        self._header = _header_of(path)

    def version(self) -> bytes:
        """The file change counter (the header's bytes 24 to 27): it differs from an earlier
        reading once anything was committed since, by whichever process. No lock, no thread."""
        return os.pread(self._header, 4, 24)

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """A connection on which each statement commits by itself: the calling thread's own,
        kept open (opening one costs more than the intake's indexed read of every webhook).
        One left inside a transaction (a commit refused as busy) is closed, which rolls it
        back, rather than kept: its next statement would join a transaction never committed."""
        with self._lock:
            db = self._kept()
            try:
                yield db
            finally:
                if db.in_transaction:
                    db.close()
                    del self._threads.db

    def _kept(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._threads, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            self._threads.db = db  # closed with the store (or its thread)
        return db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once; rolled back on any error."""
        with self.connection() as db:
            db.execute("begin immediate")
            try:
                yield db
            except BaseException:
                db.execute("rollback")
                raise
            db.execute("commit")

    def select(self, model: type[M], sql: str, *args: object) -> list[M]:
        """The rows as `model`s, whose fields are the selected columns in order."""
        with self.connection() as db:
            rows = db.execute(sql, args).fetchall()
        fields = model.model_fields
        return [model.model_validate(dict(zip(fields, row, strict=True))) for row in rows]


_HEADERS: dict[Path, int] = {}
_HEADERS_LOCK = threading.Lock()


def _header_of(path: Path) -> int:
    """A descriptor to read the file's header with, one a file for the life of the process and
    never closed: closing any descriptor of a file drops every POSIX lock the process holds on
    it, SQLite's among them (SQLite guards its own descriptors against that, not this one)."""
    key = path.resolve()
    with _HEADERS_LOCK:
        if key not in _HEADERS:
            _HEADERS[key] = os.open(key, os.O_RDONLY)
        return _HEADERS[key]
