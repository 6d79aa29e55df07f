"""`saksflyt quarantine list|show|redrive` (workers/cli.py), called in-process as `saksflyt` would
call them: events the intake could not route are inspected, and sent again through the webhook's
own code path once what stopped them has changed."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from adapters.topdesk.client import TopdeskClient
from domain.cases import WaitState
from tests.harness import Harness
from tests.test_intake import case, dfo, not_started, post, serve
from workers import cli
from workers.quarantine import Quarantine
from workers.settings import Settings

UNHANDLED = "Andre endringer arbeidsforhold"  # a TOPdesk category no process of saksflyt takes


def run(settings: Settings, *argv: str) -> int:
    """`saksflyt ARGV...` with these settings, without the process exit `main` ends with."""
    args = cli._parser().parse_args(list(argv))
    code: int = args.command(settings, args)
    return code


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
    assert "Årsak: TOPdesk kjenner ikke saken I9999-0003" in shown
    body = json.loads(shown[shown.index("{") :])
    assert (body["number"], body["modificationDate"]) == ("I9999-0003", date)


def test_show_of_an_id_the_quarantine_lacks_fails(tmp_path: Path, capsys):
    assert run(Settings(data_dir=tmp_path), "quarantine", "show", "7") == 1
    assert "finnes ikke" in capsys.readouterr().out


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
    assert f"{event_id}: sendt (started new-hire-{number})" in capsys.readouterr().out
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
    assert "fortsatt avvist" in capsys.readouterr().out
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
    assert f"{event_id}: sendt" in out and "999: finnes ikke i karantenen" in out
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
