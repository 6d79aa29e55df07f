"""The intake while TOPdesk is slow or away (workers/intake/threads.py, accept.py): TOPdesk reads
have a bounded pool of their own and a time limit, so the outbox and the quarantine never wait
behind them; a DFØ decision TOPdesk cannot route is queued unrouted and routed, in its case's
order, once TOPdesk answers again. No test here is timed: a blocked read waits on an Event.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import structlog.testing
from pydantic import SecretStr
from temporalio.client import Client

from adapters.topdesk.errors import TopdeskUnavailable
from adapters.topdesk.models import Incident
from domain.cases import CaseOutcome
from tests.eventually import eventually
from tests.harness import Harness
from tests.net import free_port
from tests.test_intake import (
    HEADER,
    SECRET,
    awaiting_approval,
    dfo,
    events,
    post,
    registration_of,
)
from workers.intake import create_app
from workers.outbox import Outbox
from workers.quarantine import Quarantine
from workers.settings import Settings
from workers.temporal import INTAKE_RETRY, connect


class HeldTopdesk:
    """A TOPdesk whose reads wait until `release` (or are away while `away`), counting how many
    wait at once; otherwise it reads from `behind`."""

    def __init__(self, behind: Any = None) -> None:
        self.behind = behind
        self.away = False
        self.held = False
        self.release = threading.Event()
        self.waiting = 0
        self.most_waiting = 0
        self._lock = threading.Lock()

    def get_incident(self, number: str) -> Incident:
        if self.away:
            raise TopdeskUnavailable("TOPdesk: connection refused")
        if self.held:
            with self._lock:
                self.waiting += 1
                self.most_waiting = max(self.most_waiting, self.waiting)
            self.release.wait()
            with self._lock:
                self.waiting -= 1
            raise TopdeskUnavailable("TOPdesk: released")
        return self.behind.get_incident(number)  # type: ignore[no-any-return]


@asynccontextmanager
async def intake(
    tmp_path: Path,
    topdesk: HeldTopdesk,
    client: Client,
    task_queue: str = "unused",
    **overrides: Any,
) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """The intake on `topdesk`, its lifespan entered; yields its HTTP client and app."""

    async def connected() -> Client:
        return client

    settings = Settings(
        data_dir=tmp_path,
        task_queue=task_queue,
        webhook_secret=SecretStr(SECRET),
        webhook_secret_header=HEADER,
        **overrides,
    )
    app = create_app(settings, connected, topdesk, Quarantine(settings.quarantine_path))
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as http,
        app.router.lifespan_context(app),
    ):
        yield http, app


async def temporal_down() -> Client:
    """A client as `saksflyt intake` makes it, to an address where no Temporal listens."""
    settings = Settings(temporal_address=f"127.0.0.1:{free_port()}")
    return await connect(settings, INTAKE_RETRY, lazy=True)


def created(number: str) -> dict[str, str]:
    return {"number": number, "event": "incident_created"}


# -- a slow TOPdesk --------------------------------------------------------------------------------


async def test_the_outbox_takes_an_event_while_every_topdesk_thread_is_blocked(tmp_path: Path):
    """Two TOPdesk threads, both blocked on reads and a third read waiting for one: a portal
    resignation (no TOPdesk read) still goes all the way to the outbox and is answered."""
    topdesk = HeldTopdesk()
    topdesk.held = True
    async with intake(
        tmp_path,
        topdesk,
        await temporal_down(),
        intake_topdesk_concurrency=2,
        intake_topdesk_timeout_seconds=600,
    ) as (http, _):
        reads = [
            asyncio.create_task(post(http, "/webhooks/topdesk", created(f"I2611-000{n}")))
            for n in range(3)
        ]
        await eventually(lambda: topdesk.waiting == 2, "both threads blocked")

        resigned = {"event": "resignation_submitted", "form_id": "OPP-000001"}
        answer = await post(http, "/webhooks/dfo", resigned)

        assert (answer.status_code, answer.json()["action"]) == (202, "queued")
        assert topdesk.waiting == 2  # the reads are still blocked, the third not even started
        topdesk.release.set()
        statuses = [(await read).status_code for read in reads]
    assert statuses == [503, 503, 503]  # released as "unavailable"
    assert topdesk.most_waiting == 2  # bounded: never more reads at once than threads
    [queued] = Outbox(tmp_path / "intake-outbox.db").events()
    assert queued.workflow_id == "resignation-OPP-000001"


async def test_a_topdesk_read_past_its_time_limit_is_topdesk_unavailable(tmp_path: Path):
    topdesk = HeldTopdesk()
    topdesk.held = True
    try:
        async with intake(
            tmp_path, topdesk, await temporal_down(), intake_topdesk_timeout_seconds=0.05
        ) as (http, _):
            response = await post(http, "/webhooks/topdesk", created("I2611-0001"))
    finally:
        topdesk.release.set()

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"


# -- a DFØ decision while TOPdesk is away ----------------------------------------------------------


async def test_a_dfo_decision_while_topdesk_is_away_is_kept_and_routed_once_it_is_back(
    h: Harness, tmp_path: Path
):
    topdesk = HeldTopdesk(h.topdesk)
    async with intake(
        tmp_path, topdesk, h.client, h.task_queue, outbox_retry_first=0.05, outbox_retry_max=0.2
    ) as (http, _):
        number, handle = await awaiting_approval(h, http)
        registration_id = await registration_of(handle)
        h.sap.decide(registration_id, approved=True)
        topdesk.away = True

        response = await dfo(http, number, registration_id, "approved")

        assert response.status_code == 202, response.text
        assert response.json() == {"workflow_id": None, "action": "queued"}
        [waiting] = Outbox(tmp_path / "intake-outbox.db").events()
        assert (waiting.workflow_id, waiting.case_number) == (None, number)
        metrics = (await http.get("/metrics")).text
        assert 'saksflyt_outbox_events{waiting_for="topdesk"} 1' in metrics

        topdesk.away = False

        async def handed_on() -> bool:
            return Outbox(tmp_path / "intake-outbox.db").events() == []

        await eventually(handed_on, "the decision to be routed and handed on")
        result = await handle.result()

    assert result.outcome is CaseOutcome.REGISTERED
    # The decision woke the case to ask SAP; the daily look (a timer) never fired.
    assert await events(handle, "timer_fired") == []


async def test_a_later_event_of_the_case_waits_behind_the_unrouted_decision(
    h: Harness, tmp_path: Path
):
    """TOPdesk is back, but the decision queued while it was away has not been routed yet: a
    reply for the same case is routed at once, and still queued behind it."""
    topdesk = HeldTopdesk(h.topdesk)
    async with intake(
        tmp_path, topdesk, h.client, h.task_queue, outbox_retry_first=3600, outbox_retry_max=3600
    ) as (http, app):
        number, handle = await awaiting_approval(h, http)
        registration_id = await registration_of(handle)
        topdesk.away = True
        assert (await dfo(http, number, registration_id, "approved")).json()["action"] == "queued"
        outbox = Outbox(tmp_path / "intake-outbox.db")

        async def tried() -> bool:
            return outbox.events()[0].attempts > 0

        await eventually(tried, "the drainer's first attempt")  # then it backs off for an hour
        topdesk.away = False

        replied = await post(http, "/webhooks/topdesk", {"number": number, "event": "reopened"})

        assert replied.json() == {"workflow_id": f"new-hire-{number}", "action": "queued"}
        assert [e.workflow_id for e in outbox.events()] == [None, f"new-hire-{number}"]
        with structlog.testing.capture_logs() as logs:
            assert await app.state.drainer.drain_once()

    drained = [
        (line["workflow_id"], line["action"]) for line in logs if line["event"] == "intake.drained"
    ]
    assert drained == [(f"new-hire-{number}", "signalled")] * 2
    assert outbox.events() == []
