"""The SQLite file under the outbox and the quarantine (workers/event_store.py): kept connections
that never carry a transaction over, and a version that any commit of any process changes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from workers.event_store import EventStore


def events_table(db: sqlite3.Connection) -> None:
    db.execute("create table if not exists events (id integer primary key, body text)")


def test_a_connection_left_inside_a_transaction_is_not_kept(tmp_path: Path):
    """As after a commit SQLite refused (busy): what that transaction wrote is rolled back, and
    the thread's next statement commits by itself on a fresh connection."""
    store = EventStore(tmp_path / "events.db", events_table)
    with store.connection() as db:
        db.execute("begin immediate")
        db.execute("insert into events (body) values ('never committed')")

    with store.connection() as db:
        assert not db.in_transaction
        db.execute("insert into events (body) values ('committed')")

    with sqlite3.connect(store.path) as other:  # another connection sees only the second
        assert other.execute("select body from events").fetchall() == [("committed",)]


def test_a_failed_transaction_leaves_nothing_and_the_store_goes_on(tmp_path: Path):
    store = EventStore(tmp_path / "events.db", events_table)
    with pytest.raises(RuntimeError), store.transaction() as db:
        db.execute("insert into events (body) values ('rolled back')")
        raise RuntimeError("midway")

    with store.transaction() as db:
        db.execute("insert into events (body) values ('kept')")
    with store.connection() as db:
        assert db.execute("select body from events").fetchall() == [("kept",)]


def test_the_version_changes_with_every_commit_of_any_process(tmp_path: Path):
    store = EventStore(tmp_path / "events.db", events_table)
    first = store.version()
    with store.connection() as db:
        db.execute("select count(*) from events").fetchone()
    assert store.version() == first  # a read changes nothing

    with store.connection() as db:
        db.execute("insert into events (body) values ('here')")
    second = store.version()
    assert second != first

    script = "import sqlite3, sys; sqlite3.connect(sys.argv[1], isolation_level=None)" + (
        ".execute(\"insert into events (body) values ('there')\")"
    )
    subprocess.run([sys.executable, "-c", script, str(store.path)], check=True, timeout=60)
    assert store.version() not in (first, second)


def test_a_file_left_in_wal_mode_by_another_program_is_brought_back(tmp_path: Path):
    """The version needs the rollback journal; a file some tool switched to WAL is switched
    back when the store opens it (WAL would keep the counter still)."""
    path = tmp_path / "events.db"
    with sqlite3.connect(path) as other:
        assert other.execute("pragma journal_mode = wal").fetchone() == ("wal",)
    other.close()

    store = EventStore(path, events_table)

    with store.connection() as db:
        assert db.execute("pragma journal_mode").fetchone() == ("delete",)


def test_a_file_another_program_holds_in_wal_mode_is_refused_not_used(tmp_path: Path):
    """While another connection keeps the file in WAL (the version would never move), the store
    does not open it: an error at start-up, not an outbox that says empty while events wait."""
    path = tmp_path / "events.db"
    other = sqlite3.connect(path, isolation_level=None)
    assert other.execute("pragma journal_mode = wal").fetchone() == ("wal",)
    other.execute("create table events (id integer primary key, body text)")
    other.execute("begin")
    other.execute("select * from events").fetchall()  # a reader, holding the file open

    with pytest.raises(sqlite3.OperationalError):
        EventStore(path, events_table)
    other.close()
