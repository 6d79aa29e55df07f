"""`saksflyt quarantine list|show|redrive` (workers/cli/), called in-process as `saksflyt` would
call them: events the intake could not route are inspected, and sent again through the webhook's
own code path once what stopped them has changed."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from pydantic import SecretStr

from adapters.topdesk.client import TopdeskClient
from domain.cases import WaitState
from tests.harness import Harness
from tests.test_intake import case, dfo, not_started, post, serve
from workers import cli
from workers.quarantine import Quarantine, digest
from workers.settings import Settings

UNHANDLED = "Reiseplanlegger"  # a TOPdesk category no process of saksflyt takes


def run(settings: Settings, *argv: str) -> int:
    """`saksflyt ARGV...` with these settings, without the process exit `main` ends with."""
    return cli.run(argv, settings)


async def run_aside(settings: Settings, *argv: str) -> int:
    """A command that runs its own event loop (it talks to Temporal), in a thread of its own, while
    the test's loop keeps the worker going."""
    return await asyncio.to_thread(run, settings, *argv)


def settings_for(h: Harness, tmp_path: Path) -> Settings:
    """`saksflyt` pointed at the test's Temporal, worker queue and TOPdesk simulator."""
    return Settings(
        data_dir=tmp_path,
        temporal_address=h.client.service_client.config.target_host,
        task_queue=h.task_queue,
        topdesk_url=h.simulator.url,
        topdesk_login=h.simulator.config.login,
        topdesk_app_password=SecretStr(h.simulator.config.app_password),
    )


def next_number(number: str) -> str:
    """The number the simulator gives the next case (`I2612-0001` → `I2612-0002`)."""
    prefix, sequence = number.rsplit("-", 1)
    return f"{prefix}-{int(sequence) + 1:04d}"


async def quarantined(held: Quarantine, topdesk: TopdeskClient, number: str, **extra: str) -> int:
    """Post a TOPdesk webhook the intake must quarantine; returns its id in the quarantine."""
    async with serve(None, "unused", topdesk, held) as http:  # refused before Temporal
        body = {"number": number, "event": "incident_created", **extra}
        response = await post(http, "/webhooks/topdesk", body)
    assert response.json() == {"workflow_id": None, "action": "quarantined"}, response.text
    return held.events()[-1].id


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich wraps a table to the terminal; a wide one keeps each row on one line."""
    monkeypatch.setenv("COLUMNS", "200")


# -- list and show ---------------------------------------------------------------------------------


async def test_list_shows_every_quarantined_event_with_its_reason(
    topdesk: TopdeskClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    settings = Settings(data_dir=tmp_path)
    held = Quarantine(settings.quarantine_path)
    first = await quarantined(held, topdesk, "I9999-0001")
    async with serve(None, "unused", topdesk, held) as http:
        await dfo(http, "I9999-0002", "1", "approved")
    capsys.readouterr()  # the intake's log lines

    assert run(settings, "quarantine", "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(e["id"], e["source"]) for e in listed] == [(first, "topdesk"), (first + 1, "dfo")]
    assert listed[0]["reason"] == "TOPdesk kjenner ikke saken I9999-0001"
    assert set(listed[0]) == {"id", "received", "source", "body", "reason", "count", "last_seen"}

    assert run(settings, "quarantine", "list") == 0
    table = capsys.readouterr().out
    assert "TOPdesk kjenner ikke saken I9999-0001" in table
    assert "TOPdesk kjenner ikke saken I9999-0002" in table


async def test_show_prints_the_stored_body_and_the_reason(
    topdesk: TopdeskClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """The body is kept with the webhook's own field names (`modificationDate`), so that a
    redrive reads it back as the same event."""
    settings = Settings(data_dir=tmp_path)
    held = Quarantine(settings.quarantine_path)
    date = "2026-12-01T10:00:00.000+0000"
    event_id = await quarantined(held, topdesk, "I9999-0003", modificationDate=date)
    capsys.readouterr()  # the intake's log lines

    assert run(settings, "quarantine", "show", str(event_id)) == 0

    shown = capsys.readouterr().out
    assert "Reason: TOPdesk kjenner ikke saken I9999-0003" in shown
    body = json.loads(shown[shown.index("{") :])
    assert (body["number"], body["modificationDate"]) == ("I9999-0003", date)


def test_show_of_an_id_the_quarantine_lacks_fails(tmp_path: Path, capsys):
    assert run(Settings(data_dir=tmp_path), "quarantine", "show", "7") == 1
    assert "event 7 is not in the quarantine" in capsys.readouterr().err


# -- redrive ---------------------------------------------------------------------------------------


async def test_redrive_starts_the_case_once_it_exists_in_topdesk_and_empties_the_quarantine(
    h: Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    settings = settings_for(h, tmp_path)
    held = Quarantine(settings.quarantine_path)
    number = next_number(h.submit())  # a webhook for a case TOPdesk has not got (yet)
    event_id = await quarantined(held, h.topdesk, number)
    assert h.submit() == number  # now it has

    code = await run_aside(settings, "quarantine", "redrive", str(event_id))

    assert code == 0
    assert held.events() == []
    assert f"{event_id}: delivered (started new-hire-{number})" in capsys.readouterr().out
    await h.wait_state(case(h, number), WaitState.AWAITING_APPROVAL)


async def test_redrive_that_is_refused_again_keeps_the_event_with_the_new_reason(
    h: Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    settings = settings_for(h, tmp_path)
    held = Quarantine(settings.quarantine_path)
    number = next_number(h.submit())
    event_id = await quarantined(held, h.topdesk, number)
    assert h.submit("Endring av kontering", UNHANDLED) == number  # there, but no process's case

    code = await run_aside(settings, "quarantine", "redrive", str(event_id))

    assert code == 1
    [kept] = held.events()
    assert (kept.id, kept.reason) == (event_id, f"ingen prosess for kategorien «{UNHANDLED}»")
    assert "still refused" in capsys.readouterr().out
    assert await not_started(h, number)


async def test_redrive_sends_each_event_and_reports_an_unknown_id(
    h: Harness, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    settings = settings_for(h, tmp_path)
    held = Quarantine(settings.quarantine_path)
    number = next_number(h.submit())
    event_id = await quarantined(held, h.topdesk, number)
    assert h.submit() == number

    code = await run_aside(settings, "quarantine", "redrive", str(event_id), "999")

    assert code == 1  # not every one was delivered
    out = capsys.readouterr().out
    assert f"{event_id}: delivered" in out and "999: not in the quarantine" in out
    assert held.events() == []
    await h.wait_state(case(h, number), WaitState.AWAITING_APPROVAL)


# -- the outbox, for the operator ------------------------------------------------------------------


def test_outbox_list_shows_what_waits_for_temporal(tmp_path: Path, capsys):
    from workers.outbox import Outbox

    settings = Settings(data_dir=tmp_path)
    outbox = Outbox(settings.outbox_path)
    event_id = outbox.add("topdesk", "new-hire-I2612-0001", "Nyansettelse", "{}")
    outbox.failed(event_id, "Temporal: tcp connect error")

    assert run(settings, "outbox", "list", "--json") == 0

    [queued] = json.loads(capsys.readouterr().out)
    assert (queued["workflow_id"], queued["attempts"]) == ("new-hire-I2612-0001", 1)
    assert queued["last_error"] == "Temporal: tcp connect error"


# -- one row per event, a cap, purge, metrics ------------------------------------------------------


def test_the_same_event_delivered_again_is_counted_on_its_row(tmp_path: Path):
    held = Quarantine(tmp_path / "quarantine.db")
    first = held.add("topdesk", '{"number": "I1"}', "TOPdesk kjenner ikke saken I1")

    again = held.add("topdesk", '{"number": "I1"}', "TOPdesk kjenner ikke saken I1")
    other_reason = held.add("topdesk", '{"number": "I1"}', "ingen prosess for kategorien «x»")
    other_source = held.add("dfo", '{"number": "I1"}', "TOPdesk kjenner ikke saken I1")

    assert again == first and len({first, other_reason, other_source}) == 3
    counted = held.get(first)
    assert counted is not None and counted.count == 2
    assert counted.last_seen > counted.received
    assert held.stats() == (3, 4)


async def test_a_repeated_webhook_is_one_row_and_a_full_quarantine_answers_503(
    topdesk: TopdeskClient, tmp_path: Path
):
    """Nothing dropped silently: at the cap a new event is refused with 503 (the sender keeps
    it and sends it again), while a repeat of a kept one is still counted."""
    held = Quarantine(tmp_path / "quarantine.db", max_events=1)
    async with serve(None, "unused", topdesk, held) as http:
        answers = [
            await post(http, "/webhooks/topdesk", {"number": number, "event": "reopened"})
            for number in ("I9999-0001", "I9999-0001", "I9999-0002", "I9999-0001")
        ]
        metrics = (await http.get("/metrics")).text

    assert [a.status_code for a in answers] == [202, 202, 503, 202]
    assert "quarantine is full (1 of 1 events)" in answers[2].json()["detail"]
    assert answers[2].headers["Retry-After"] == "30"
    [kept] = held.events()
    assert kept.count == 3 and "I9999-0001" in kept.body
    for line in [
        "saksflyt_quarantine_events 1",
        "saksflyt_quarantine_deliveries 3",
        "saksflyt_quarantine_max_events 1",
        'saksflyt_quarantine_deliveries_total{source="topdesk"} 3',
        "saksflyt_quarantine_full_total 1",
        'saksflyt_outbox_events{waiting_for="temporal"} 0',
    ]:
        assert line in metrics.splitlines(), metrics


def test_purge_deletes_what_was_last_seen_before_the_cutoff(tmp_path: Path, capsys):
    settings = Settings(data_dir=tmp_path)
    held = Quarantine(settings.quarantine_path)
    old = held.add("topdesk", '{"number": "I1"}', "gammel")
    recent = held.add("topdesk", '{"number": "I2"}', "ny")
    with closing(sqlite3.connect(settings.quarantine_path)) as db, db:
        db.execute(
            "update quarantine set last_seen = '2020-01-01T00:00:00.000000+00:00' where id = ?",
            (old,),
        )

    assert run(settings, "quarantine", "purge", "--older-than", "30", "--dry-run") == 0
    assert "1 events" in capsys.readouterr().out
    assert [e.id for e in held.events()] == [old, recent]

    assert run(settings, "quarantine", "purge", "--older-than", "30") == 0
    assert "1 events last seen more than 30 days ago deleted" in capsys.readouterr().out
    assert [e.id for e in held.events()] == [recent]


def test_a_quarantine_of_the_first_schema_is_migrated_in_place(tmp_path: Path):
    """A row per delivery then: the same event's rows become one, its deliveries counted."""
    path = tmp_path / "quarantine.db"
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "create table quarantine (id integer primary key autoincrement, received text not"
            " null, source text not null, body text not null, reason text not null)"
        )
        for received, body in [("2026-01-01", "a"), ("2026-01-02", "b"), ("2026-01-03", "a")]:
            db.execute(
                "insert into quarantine (received, source, body, reason) values (?, ?, ?, ?)",
                (f"{received}T00:00:00+00:00", "topdesk", body, "grunn"),
            )

    held = Quarantine(path)

    [a, b] = held.events()
    assert (a.id, a.body, a.count, a.last_seen.day) == (1, "a", 2, 3)
    assert (b.id, b.body, b.count) == (2, "b", 1)
    assert held.add("topdesk", "b", "grunn") == 2
    assert Quarantine(path).stats() == (2, 4)  # opened again: nothing migrated twice


def test_a_quarantine_written_before_the_shared_event_store_opens_with_every_event(
    tmp_path: Path,
):
    """The file as the quarantine wrote it before it stood on workers/event_store.py (the schema
    spelled out here): its events, counts and digests kept, so a delivery again is counted."""
    path = tmp_path / "quarantine.db"
    with closing(sqlite3.connect(path)) as db, db:
        db.executescript(
            "create table quarantine (id integer primary key autoincrement, received text not"
            " null, source text not null, body text not null, reason text not null,"
            " count integer not null default 1, last_seen text, digest text);"
            "create unique index quarantine_digest on quarantine (digest);"
        )
        db.execute(
            "insert into quarantine values (7, '2026-01-01T00:00:00.000000+00:00', 'topdesk',"
            " 'a', 'grunn', 4, '2026-01-05T00:00:00.000000+00:00', ?)",
            (digest("topdesk", "a", "grunn"),),
        )

    held = Quarantine(path)

    [event] = held.events()
    assert (event.id, event.count, event.last_seen.day) == (7, 4, 5)
    assert held.add("topdesk", "a", "grunn") == 7
    assert held.stats() == (1, 5)
