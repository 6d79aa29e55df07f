"""Durable state for the DFØ-side stubs (SAP, SPK, ePhorte): what each of them must promise.

A stub stands in for a system saksflyt cannot reach here, so it must behave like one where it
counts: its state survives restarts and is shared by every process that opens the same file (the
worker, an operator's shell, a test), a repeated idempotency key gets the first answer again, and a
test or demo can make the next calls fail or answer late.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel

# `refused`: the next calls are refused for good, as the system's business answer (a stub that
# names its refusal, `StubStore(..., refusal=...)`), until the faults are cleared.
FaultKind = Literal["unavailable", "latency", "refused"]
Result = TypeVar("Result", bound=BaseModel)

_SCHEMA = """
create table if not exists idempotency (key text primary key, result text not null);
create table if not exists faults (
    seq integer primary key autoincrement, kind text not null, remaining integer not null,
    seconds real not null);
"""


class StubStore:
    """One SQLite file: the stub's own tables (its `schema`), idempotency answers and faults."""

    def __init__(
        self, path: Path, schema: str, refusal: Callable[[], Exception] | None = None
    ) -> None:
        self.path = path
        self.refusal = refusal
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self.transaction() as db:
            db.executescript(_SCHEMA + schema)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; IMMEDIATE so that two processes never interleave a check and
        its insert (a repeated key must not slip past the idempotency check)."""
        with self._lock:
            db = sqlite3.connect(self.path, timeout=10, isolation_level="IMMEDIATE")
            try:
                with db:
                    yield db
            finally:
                db.close()

    @staticmethod
    def remembered(db: sqlite3.Connection, key: str, model: type[Result]) -> Result | None:
        row = db.execute("select result from idempotency where key = ?", (key,)).fetchone()
        return model.model_validate_json(row[0]) if row else None

    @staticmethod
    def remember(db: sqlite3.Connection, key: str, result: Result) -> Result:
        db.execute("insert into idempotency values (?, ?)", (key, result.model_dump_json()))
        return result

    def inject_fault(self, kind: FaultKind, times: int = 1, seconds: float = 0.0) -> None:
        """Make the next `times` calls fail as unavailable, be refused, or answer `seconds`
        late."""
        with self.transaction() as db:
            db.execute(
                "insert into faults (kind, remaining, seconds) values (?, ?, ?)",
                (kind, times, seconds),
            )

    def clear_faults(self) -> None:
        """Forget every fault not yet suffered: the outage is over."""
        with self.transaction() as db:
            db.execute("delete from faults")

    def suffer_faults(self, unavailable: Exception) -> None:
        """Apply the oldest pending fault, if any: sleep, raise the stub's refusal, or raise
        `unavailable`."""
        with self.transaction() as db:
            row = db.execute(
                "select seq, kind, seconds from faults where remaining > 0 order by seq limit 1"
            ).fetchone()
            if row is None:
                return
            db.execute("update faults set remaining = remaining - 1 where seq = ?", (row[0],))
        if row[1] == "latency":
            time.sleep(row[2])
            return
        if row[1] == "refused" and self.refusal is not None:
            raise self.refusal()
        raise unavailable
