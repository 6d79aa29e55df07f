"""The SQLite file under the intake's outbox and quarantine (`workers/outbox.py`,
`workers/quarantine.py`): events kept on disk, shared by every intake process that opens the file.

Each statement commits by itself, so an event is on disk before the intake answers its sender; a
change of several statements takes the write lock at once (`begin immediate`), so that two
intakes sharing the file cannot both decide on what they read. Opening a file brings it to the
caller's schema in one such transaction: two intakes opening one old file migrate it once.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
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
        with self.transaction() as db:
            migrate(db)

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """A connection on which each statement commits by itself."""
        with self._lock, closing(sqlite3.connect(self.path, timeout=10)) as db:
            db.isolation_level = None
            yield db

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
