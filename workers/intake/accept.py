"""What becomes of an event that passed the gate and its model: routed, then started or
signalled; queued in the outbox while a system it needs is away; quarantined when no workflow
can take it. The same for a webhook (`accept`) and for an event the outbox's drainer hands on
later (`hand_on`), so that both go one way.

TOPdesk away while routing (down, or slower than SAKSFLYT_INTAKE_TOPDESK_TIMEOUT_SECONDS): a DFØ
decision is queued unrouted and routed by the drainer once TOPdesk answers; a TOPdesk event is a
503, which the backfill covers (`workers/outbox.py` gives the reasons for both).
"""

from __future__ import annotations

from collections.abc import Callable

import structlog
from fastapi import HTTPException
from temporalio.client import Client

from adapters.topdesk.errors import TopdeskError
from workers.drainer import Drainer
from workers.intake.delivery import CaseNotRunning, dispatch
from workers.intake.metrics import Counts
from workers.intake.models import (
    Accepted,
    DfoWebhook,
    WebhookEvent,
    case_of,
    event_from,
    kept,
    received,
    source_of,
)
from workers.intake.targets import Target, target_of
from workers.intake.threads import Threads
from workers.outbox import Outbox, OutboxEvent, TemporalUnavailable, Unavailable
from workers.quarantine import Quarantine, QuarantineFull, Refused
from workers.settings import Settings

log = structlog.get_logger(__name__)


class Acceptor:
    def __init__(
        self,
        settings: Settings,
        client: Callable[[], Client],
        threads: Threads,
        outbox: Outbox,
        quarantine: Quarantine,
    ) -> None:
        self.task_queue = settings.task_queue
        self.timings = settings.case_timings()  # what a case's workflow starts with
        self.client = client  # made at start-up, by the app's lifespan
        self.threads = threads
        self.outbox = outbox
        self.quarantine = quarantine
        self.counts = Counts()
        self.drainer = Drainer(
            outbox,
            self.hand_on,
            settings.outbox_retry_first,
            settings.outbox_retry_max,
            threads.store_pool,
        )

    async def accept(self, body: WebhookEvent) -> Accepted:
        """Route the event, then start or signal its workflow. It is queued in the outbox while
        Temporal cannot take it (or, a DFØ decision, while TOPdesk cannot route it), and behind
        an earlier event of the same case that still waits there (so a case's events keep
        their order); quarantined when no workflow can take it; a signal for a case that is not
        running is a 404. Raises TOPdesk's error for a TOPdesk event TOPdesk cannot route now
        (a 503), and `QuarantineFull` (a 503) when it cannot be kept."""
        try:
            target = await target_of(self.threads.incident, body)
        except Refused as refusal:
            return await self._quarantined(source_of(body), received(body), str(refusal))
        except TopdeskError as error:
            if not isinstance(body, DfoWebhook):
                raise
            return await self._queued(body, None, f"TOPdesk: {error}")
        if not self.outbox.known_empty() and await self.threads.store(
            self.outbox.holds, target.workflow_id, case_of(body)
        ):
            return await self._queued(body, target, "an earlier event of the case is queued")
        try:
            return await dispatch(self.client(), self.task_queue, body, target, self.timings)
        except CaseNotRunning:
            raise HTTPException(status_code=404, detail="no such case is running") from None
        except Refused as refusal:
            return await self._quarantined(source_of(body), received(body), str(refusal))
        except TemporalUnavailable as error:
            return await self._queued(body, target, str(error))

    async def hand_on(self, event: OutboxEvent) -> None:
        """The drainer's delivery: routed now if it waited unrouted, then the same `dispatch`
        as a webhook's. What no workflow takes now goes to the quarantine (its sender was told
        202 long ago); `Unavailable` keeps it queued, as does a full quarantine."""
        try:
            body = event_from(event.source, event.body)
            target = await self._route_queued(event, body)
            accepted = await dispatch(self.client(), self.task_queue, body, target, self.timings)
        except Refused as refusal:
            try:
                await self._quarantined(event.source, event.body, str(refusal))
            except QuarantineFull as full:
                raise Unavailable(str(full)) from None
            return
        log.info("intake.drained", workflow_id=accepted.workflow_id, action=accepted.action)

    async def _route_queued(self, event: OutboxEvent, body: WebhookEvent) -> Target:
        """Where a queued event goes: as routed when it came, or routed now (and kept so)."""
        if event.workflow_id is not None:
            return Target(event.workflow_id, event.category)
        try:
            target = await target_of(self.threads.incident, body)
        except TopdeskError as error:
            raise Unavailable(f"TOPdesk: {error}") from error
        await self.threads.store(self.outbox.routed, event.id, target.workflow_id, target.category)
        return target

    async def _quarantined(self, source: str, body: str, reason: str) -> Accepted:
        try:
            await self.threads.store(self.quarantine.add, source, body, reason)
        except QuarantineFull as full:
            self.counts.quarantine_full += 1
            log.error("intake.quarantine_full", source=source, reason=reason, error=str(full))
            raise
        self.counts.quarantined[source] += 1
        log.warning("intake.quarantined", source=source, reason=reason)
        return Accepted(workflow_id=None, action="quarantined")

    async def _queued(self, body: WebhookEvent, target: Target | None, why: str) -> Accepted:
        """Keep the event in the outbox; `target` None: routed later, by the drainer."""
        source = source_of(body)
        workflow_id = target.workflow_id if target else None
        category = target.category if target else None
        await self.threads.store(
            self.outbox.add, source, workflow_id, category, kept(body), case_of(body)
        )
        self.drainer.wake()
        log.warning("intake.queued", source=source, workflow_id=workflow_id, why=why)
        return Accepted(workflow_id=workflow_id, action="queued")
