"""Nothing lost while Temporal is down (workers/outbox.py): the intake keeps a routed event in its
outbox, answers 202 "queued", and hands it on once Temporal is back, in order and never twice to
the workflow.

"Temporal down" is a TCP proxy in front of the time-skipping test server that stops listening
and cuts its connections; "back" is the proxy listening again on the same port, so the intake's
own client reconnects as it would to a restarted cluster. The worker (the `h` fixture) talks to
the server directly throughout.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
import pytest
import structlog.testing
from fastapi import FastAPI
from pydantic import SecretStr
from temporalio.client import Client

from domain.cases import WaitState
from tests.eventually import eventually
from tests.harness import Harness, form_without
from tests.test_intake import (
    HEADER,
    SECRET,
    TOA_FORM,
    case,
    dfo,
    events,
    not_started,
    post,
    reads,
    run_id,
    signals_handled,
)
from workers.drainer import Drainer
from workers.intake import create_app
from workers.outbox import Outbox, OutboxEvent, TemporalUnavailable
from workers.quarantine import Quarantine
from workers.settings import Settings
from workers.temporal import INTAKE_RETRY, connect

# -- Temporal that goes away and comes back --------------------------------------------------------


class TcpProxy:
    """Forwards 127.0.0.1:<port> to `target`; `down()` refuses and cuts every connection."""

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self._target = (host, int(port))
        self._server: asyncio.Server | None = None
        self._transports: set[asyncio.WriteTransport] = set()
        self.port = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._forward, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        assert self._server is not None
        self._server.close()
        for transport in self._transports:
            transport.abort()
        self._transports.clear()
        await self._server.wait_closed()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return
        self._transports |= {writer.transport, upstream_writer.transport}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except OSError:
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))


@pytest.fixture
async def temporal(h: Harness) -> AsyncIterator[TcpProxy]:
    proxy = TcpProxy(h.client.service_client.config.target_host)
    await proxy.up()
    yield proxy
    await proxy.down()


# -- the intake on that Temporal -------------------------------------------------------------------


@dataclass
class Intake:
    http: httpx.AsyncClient
    app: FastAPI
    outbox: Outbox
    quarantine: Quarantine

    @property
    def drainer(self) -> Drainer:
        drainer: Drainer = self.app.state.drainer
        return drainer

    async def created(self, number: str) -> dict[str, str]:
        return await self.topdesk(number, "incident_created")

    async def topdesk(self, number: str, event: str, **extra: str) -> dict[str, str]:
        response = await post(
            self.http, "/webhooks/topdesk", {"number": number, "event": event, **extra}
        )
        assert response.status_code == 202, response.text
        return dict(response.json())

    async def emptied(self) -> None:
        async def empty() -> bool:
            return await asyncio.to_thread(self.outbox.events) == []

        await eventually(empty, "the outbox to be handed on", timeout=30)

    async def backing_off(self) -> None:
        """Wait until the drainer has tried the first event and failed: with a long first delay
        it then leaves the outbox alone, and the test drives `drain_once` itself."""

        async def tried() -> bool:
            first = await asyncio.to_thread(self.outbox.first)
            return first is not None and first.attempts > 0

        await eventually(tried, "the drainer's first attempt", timeout=30)


@asynccontextmanager
async def running_intake(
    h: Harness,
    tmp_path: Path,
    temporal: TcpProxy,
    *,
    retry_first: float = 0.05,
    outbox: Outbox | None = None,
) -> AsyncIterator[Intake]:
    """The intake as `saksflyt intake` runs it (its retries bounded), its Temporal behind the
    proxy. A long `retry_first` keeps the drainer out of the way after its first failure."""
    client = await connect(Settings(temporal_address=temporal.address), INTAKE_RETRY, lazy=True)
    settings = Settings(
        data_dir=tmp_path,
        task_queue=h.task_queue,
        webhook_secret=SecretStr(SECRET),
        webhook_secret_header=HEADER,
        outbox_retry_first=retry_first,
        outbox_retry_max=max(retry_first, 0.2),
    )

    async def connected() -> Client:
        return client

    outbox = outbox or Outbox(settings.outbox_path)
    quarantine = Quarantine(settings.quarantine_path)
    app = create_app(settings, connected, h.topdesk, quarantine, outbox)
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://intake") as http,
        app.router.lifespan_context(app),
    ):
        yield Intake(http, app, outbox, quarantine)


class Crash(Exception):
    """The intake dying between "Temporal accepted the event" and "the event is deleted"."""


class CrashingOutbox(Outbox):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.crashes = 1

    def remove(self, event_id: int) -> None:
        if self.crashes:
            self.crashes -= 1
            raise Crash
        super().remove(event_id)


# -- Temporal down, then back ----------------------------------------------------------------------


async def test_an_event_queued_while_temporal_is_down_starts_its_workflow_once_it_is_back(
    h: Harness, tmp_path: Path, temporal: TcpProxy
):
    number = h.submit()
    async with running_intake(h, tmp_path, temporal) as intake:
        await temporal.down()

        answer = await intake.created(number)

        assert answer == {"workflow_id": f"new-hire-{number}", "action": "queued"}
        [queued] = intake.outbox.events()
        assert queued.workflow_id == f"new-hire-{number}" and queued.category == "Nyansettelse"
        assert await not_started(h, number)

        await temporal.up()
        await intake.emptied()

    handle = case(h, number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    assert len(await events(handle, "workflow_execution_started")) == 1
    assert len(h.sap.registrations()) == 1


async def test_an_intake_started_while_temporal_is_down_queues_and_hands_on_once_it_is_up(
    h: Harness, tmp_path: Path, temporal: TcpProxy
):
    number = h.submit()
    await temporal.down()
    async with running_intake(h, tmp_path, temporal) as intake:  # it starts regardless
        ready = await intake.http.get("/readyz")
        answer = await intake.created(number)

        assert ready.status_code == 503
        assert answer == {"workflow_id": f"new-hire-{number}", "action": "queued"}
        await temporal.up()
        await intake.emptied()

    handle = case(h, number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    assert len(await events(handle, "workflow_execution_started")) == 1


async def test_duplicates_queued_while_temporal_is_down_start_one_workflow(
    h: Harness, tmp_path: Path, temporal: TcpProxy
):
    number = h.submit()
    async with running_intake(h, tmp_path, temporal) as intake:
        await temporal.down()

        answers = [await intake.created(number) for _ in range(3)]

        assert {answer["action"] for answer in answers} == {"queued"}
        assert len(intake.outbox.events()) == 3
        await temporal.up()
        await intake.emptied()

    handle = case(h, number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    assert len(await events(handle, "workflow_execution_started")) == 1
    assert len(h.sap.registrations()) == 1


async def test_an_event_handed_on_twice_after_a_crash_starts_no_second_workflow(
    h: Harness, tmp_path: Path, temporal: TcpProxy
):
    number = h.submit()
    outbox = CrashingOutbox(tmp_path / "intake-outbox.db")
    async with running_intake(h, tmp_path, temporal, retry_first=3600, outbox=outbox) as intake:
        await temporal.down()
        await intake.created(number)
        await intake.backing_off()
        await temporal.up()

        with pytest.raises(Crash):  # started, but still in the outbox
            await intake.drainer.drain_once()
        first_run = await run_id(h, number)
        assert len(outbox.events()) == 1
        assert await intake.drainer.drain_once()  # as the restarted intake would

        assert outbox.events() == []
    handle = case(h, number)
    assert await run_id(h, number) == first_run
    assert len(await events(handle, "workflow_execution_started")) == 1


async def test_a_reply_handed_on_twice_counts_once_though_topdesk_sent_no_event_id(
    h: Harness, tmp_path: Path, temporal: TcpProxy
):
    """The event id is fixed when the event is queued, so the second hand-on is a repeat the
    workflow ignores, not a new reply (a webhook with neither an id nor a modification date
    would otherwise get a new one each time)."""
    number = h.submit(form_without("Kontonummer"))
    outbox = CrashingOutbox(tmp_path / "intake-outbox.db")
    async with running_intake(h, tmp_path, temporal, retry_first=3600, outbox=outbox) as intake:
        assert (await intake.created(number))["action"] == "started"
        handle = case(h, number)
        await h.wait_state(handle, WaitState.AWAITING_CALLER)
        h.simulator.caller_reply(number, "Kontonummer: 8601 11 17947")
        await temporal.down()
        assert (await intake.topdesk(number, "caller_replied"))["action"] == "queued"
        await intake.backing_off()
        await temporal.up()

        with pytest.raises(Crash):
            await intake.drainer.drain_once()
        assert await intake.drainer.drain_once()

    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await signals_handled(handle)
    assert len(await events(handle, "workflow_execution_signaled")) == 2
    assert await reads(handle) == 3  # the opening read, the form read, one re-read for the reply


async def test_a_cases_events_keep_their_order_through_the_outbox(
    h: Harness, tmp_path: Path, temporal: TcpProxy
):
    """A reply that comes once Temporal is back still waits behind the case's queued "created",
    so the case is started by "created" and then signalled, not started by the reply."""
    number = h.submit()
    async with running_intake(h, tmp_path, temporal, retry_first=3600) as intake:
        await temporal.down()
        await intake.created(number)
        await intake.backing_off()
        await temporal.up()

        replied = h.simulator.caller_reply(number, "Stillingsprosent: 100")
        answer = await intake.topdesk(
            number, "caller_replied", modificationDate=replied["modificationDate"]
        )

        assert answer["action"] == "queued"
        queued = [json.loads(e.body)["event"] for e in intake.outbox.events()]
        assert queued == ["incident_created", "caller_replied"]
        with structlog.testing.capture_logs() as logs:
            assert await intake.drainer.drain_once()

    drained = [line["action"] for line in logs if line["event"] == "intake.drained"]
    assert drained == ["started", "signalled"]
    handle = case(h, number)
    assert len(await events(handle, "workflow_execution_started")) == 1


def queue_from_another_process(path: Path, number: str) -> None:
    """A "created" webhook for the case, queued in the outbox file by a process of its own (a
    second intake sharing the file), as that intake's `_queued` writes it."""
    script = (
        "import sys; from pathlib import Path\n"
        "from domain.processes import NEW_HIRE\n"
        "from workers.intake.models import TopdeskWebhook, kept\n"
        "from workers.outbox import Outbox\n"
        "number = sys.argv[2]\n"
        "body = kept(TopdeskWebhook(number=number, event='incident_created'))\n"
        "Outbox(Path(sys.argv[1])).add(\n"
        "    'topdesk', NEW_HIRE.workflow_id(number), NEW_HIRE.category, body, number)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path), number], check=True, timeout=60)


def test_the_outbox_knows_it_is_empty_until_any_process_commits_to_it(tmp_path: Path):
    """`known_empty` spares the intake a thread for every webhook; it must never say empty
    while an event waits, whoever queued it."""
    outbox = Outbox(tmp_path / "outbox.db")
    assert not outbox.known_empty()  # nothing asked yet: not known
    assert not outbox.holds("new-hire-I1", "I1")
    assert outbox.known_empty()

    queue_from_another_process(outbox.path, "I1")

    assert not outbox.known_empty()
    assert outbox.holds("new-hire-I1", "I1")
    assert not outbox.known_empty()  # a query that finds an event leaves it unknown
    [event] = outbox.events()
    outbox.remove(event.id)
    assert outbox.first() is None
    assert outbox.known_empty()


async def test_an_event_another_intake_queued_holds_back_a_later_one_of_its_case(
    h: Harness, tmp_path: Path, temporal: TcpProxy
):
    """Two intakes sharing an outbox file: a reply this intake receives, Temporal up, still
    queues behind the case's "created" that the other queued, though this intake had found
    the outbox empty and asks it no more while nothing changes."""
    number = h.submit()
    async with running_intake(h, tmp_path, temporal, retry_first=3600) as intake:

        async def looked() -> bool:  # the drainer's first look: empty, then idle for an hour
            return intake.outbox.known_empty()

        await eventually(looked, "the drainer to find the outbox empty", timeout=30)

        queue_from_another_process(intake.outbox.path, number)
        replied = h.simulator.caller_reply(number, "Stillingsprosent: 100")
        with structlog.testing.capture_logs() as logs:
            answer = await intake.topdesk(
                number, "caller_replied", modificationDate=replied["modificationDate"]
            )
            assert answer["action"] == "queued"
            await intake.emptied()  # the queued reply woke the drainer: both handed on

    drained = [line["action"] for line in logs if line["event"] == "intake.drained"]
    assert drained == ["started", "signalled"]
    assert len(await events(case(h, number), "workflow_execution_started")) == 1


async def test_a_decision_for_a_case_that_ended_while_queued_goes_to_the_quarantine(
    h: Harness, tmp_path: Path, temporal: TcpProxy
):
    """Its sender was told 202 long ago, so the 404 a waiting sender would get is not possible:
    the event is kept with the reason instead of being dropped."""
    number = h.submit(TOA_FORM)
    async with running_intake(h, tmp_path, temporal) as intake:
        assert (await intake.created(number))["action"] == "started"
        await case(h, number).result()  # refused: a TOA position
        await temporal.down()

        response = await dfo(intake.http, number, "1", "approved")

        assert response.json()["action"] == "queued"
        await temporal.up()
        await intake.emptied()
        [held] = intake.quarantine.events()
    assert held.source == "dfo" and number in held.body
    assert f"new-hire-{number}" in held.reason


# -- the drainer on its own ------------------------------------------------------------------------


async def test_the_drainer_hands_on_in_order_and_keeps_what_temporal_cannot_take(tmp_path: Path):
    outbox = Outbox(tmp_path / "outbox.db")
    for n in range(3):
        outbox.add("topdesk", f"new-hire-I{n}", "Nyansettelse", f'{{"n": {n}}}')
    handed_on: list[str] = []
    refusals = ["Temporal: tcp connect error"]

    async def deliver(event: OutboxEvent) -> None:
        if event.workflow_id == "new-hire-I1" and refusals:
            raise TemporalUnavailable(refusals.pop())
        handed_on.append(event.workflow_id)

    drainer = Drainer(outbox, deliver, first=1, cap=1)

    assert not await drainer.drain_once()
    assert handed_on == ["new-hire-I0"]
    waiting = outbox.events()
    assert [e.workflow_id for e in waiting] == ["new-hire-I1", "new-hire-I2"]
    assert (waiting[0].attempts, waiting[0].last_error) == (1, "Temporal: tcp connect error")

    assert await drainer.drain_once()
    assert handed_on == ["new-hire-I0", "new-hire-I1", "new-hire-I2"]
    assert outbox.events() == []


async def test_an_idle_drainer_stops_when_cancelled_even_as_an_event_wakes_it(tmp_path: Path):
    """The intake queues an event (waking the drainer) and is stopped in the same breath: the
    drainer must stop, not swallow the cancel (as `asyncio.wait_for` does in 3.11) and run on."""
    idle = False

    class WatchedWake(asyncio.Event):
        """The drainer's wake-up; says when the drainer has begun its idle wait on it."""

        async def wait(self) -> Literal[True]:
            nonlocal idle
            idle = True
            return await super().wait()

    async def deliver(event: OutboxEvent) -> None:
        pass

    drainer = Drainer(Outbox(tmp_path / "outbox.db"), deliver, first=60, cap=60)
    drainer._woken = WatchedWake()
    task = asyncio.create_task(drainer.run())
    await eventually(lambda: idle, "the drainer's idle wait")

    drainer.wake()
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=10)

    assert task in done and task.cancelled()


def test_an_outbox_of_the_first_schema_is_migrated_in_place(tmp_path: Path):
    """`workflow_id` was required and there was no `case_number`: the events waiting in such a
    file keep their order and are found by their case too."""
    path = tmp_path / "outbox.db"
    with closing(sqlite3.connect(path)) as db, db:
        db.executescript(
            "create table outbox (id integer primary key autoincrement, received text not null,"
            " source text not null, workflow_id text not null, category text, body text not null,"
            " attempts integer not null default 0, last_error text);"
            "create index outbox_workflow on outbox (workflow_id);"
        )
        db.execute(
            "insert into outbox (received, source, workflow_id, category, body, attempts)"
            " values ('2026-01-01T00:00:00+00:00', 'dfo', 'new-hire-I1', 'Nyansettelse',"
            ' \'{"case_number": "I1", "event": "approved"}\', 2)'
        )

    outbox = Outbox(path)
    later = outbox.add("dfo", None, None, "{}", case_number="I2")

    [old, new] = outbox.events()
    assert (old.workflow_id, old.case_number, old.attempts) == ("new-hire-I1", "I1", 2)
    assert (new.id, new.workflow_id) == (later, None)
    assert outbox.holds(None, "I1") and outbox.holds("new-hire-I1")
    assert outbox.waiting() == {"temporal": 1, "topdesk": 1}
    assert len(Outbox(path).events()) == 2  # opened again: nothing migrated twice


async def test_an_event_the_full_quarantine_cannot_take_stays_in_the_outbox(
    h: Harness, tmp_path: Path, temporal: TcpProxy
):
    """Its sender was told 202: with the quarantine full it is kept here, not dropped."""
    number = h.submit(TOA_FORM)
    async with running_intake(h, tmp_path, temporal, retry_first=3600) as intake:
        assert (await intake.created(number))["action"] == "started"
        await case(h, number).result()  # refused: a TOA position, so a decision finds no case
        intake.quarantine.max_events = 0
        await temporal.down()
        assert (await dfo(intake.http, number, "1", "approved")).json()["action"] == "queued"
        await intake.backing_off()
        await temporal.up()

        assert not await intake.drainer.drain_once()

        [kept] = intake.outbox.events()
        assert "quarantine is full" in (kept.last_error or "")
        intake.quarantine.max_events = 1
        assert await intake.drainer.drain_once()
        [held] = intake.quarantine.events()
    assert number in held.body


def test_an_outbox_written_before_the_shared_event_store_opens_with_every_event(tmp_path: Path):
    """The file as the outbox wrote it before it stood on workers/event_store.py (the schema
    spelled out here, as that version created it): every event still there, in order."""
    path = tmp_path / "outbox.db"
    with closing(sqlite3.connect(path)) as db, db:
        db.executescript(
            "create table outbox (id integer primary key autoincrement, received text not null,"
            " source text not null, workflow_id text, category text, case_number text,"
            " body text not null, attempts integer not null default 0, last_error text);"
            "create index outbox_workflow on outbox (workflow_id);"
            "create index outbox_case on outbox (case_number);"
        )
        for workflow_id, case_number in [("new-hire-I1", "I1"), (None, "I2")]:
            db.execute(
                "insert into outbox (received, source, workflow_id, category, case_number, body,"
                " attempts, last_error) values ('2026-01-01T00:00:00+00:00', 'dfo', ?, NULL, ?,"
                " '{}', 3, 'Temporal away')",
                (workflow_id, case_number),
            )

    outbox = Outbox(path)
    later = outbox.add("topdesk", "extension-I3", "Forlengelse", "{}", case_number="I3")

    events = outbox.events()
    assert [(e.id, e.workflow_id, e.case_number) for e in events] == [
        (1, "new-hire-I1", "I1"),
        (2, None, "I2"),
        (later, "extension-I3", "I3"),
    ]
    assert (events[0].attempts, events[0].last_error) == (3, "Temporal away")
    assert outbox.waiting() == {"temporal": 2, "topdesk": 1}
