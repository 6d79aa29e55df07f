"""The outbox's drainer: the background task in the intake's lifespan that hands the outbox's
events on once the systems they need are back (`workers/outbox.py` says why there is an outbox,
and why handing an event on twice does no harm)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

import structlog

from workers.outbox import Outbox, OutboxEvent, Unavailable

log = structlog.get_logger(__name__)

T = TypeVar("T")

Deliver = Callable[[OutboxEvent], Awaitable[None]]


class Drainer:
    """Hands the outbox's events on, oldest first, with `deliver` (the intake's own routing and
    start/signal code); `deliver` raises `Unavailable` to keep an event, and settles every other
    outcome itself (handed on, or quarantined). An event whose hand-on fails stays first, its
    attempts and the error counted (`saksflyt outbox list`). While a system is away it waits `first`
    seconds, doubling up to `cap`; woken by a new event it starts at once, unless it is backing off
    (then the new event waits its turn, so a stream of webhooks does not become a stream of
    attempts). Idle, it looks every `cap` seconds anyway, for events another intake process sharing
    the file added. The outbox's own calls run on `store` (the intake's store threads; None:
    asyncio's default pool)."""

    def __init__(
        self,
        outbox: Outbox,
        deliver: Deliver,
        first: float,
        cap: float,
        store: Executor | None = None,
    ) -> None:
        self.outbox = outbox
        self._deliver = deliver
        self._first = first
        self._cap = cap
        self._store = store
        self._woken = asyncio.Event()

    def wake(self) -> None:
        self._woken.set()

    async def run(self) -> None:
        """Until cancelled. An event left by a crashed run is handed on at once."""
        delay = self._first
        while True:
            self._woken.clear()
            try:
                emptied = await self.drain_once()
            except Exception:  # a broken disk, say: keep the events, try again later
                log.exception("outbox.drain_failed")
                emptied = False
            if emptied:
                delay = self._first
                # Not `asyncio.wait_for`: in 3.11 it swallows a cancel that comes in the same
                # turn as the wake-up (the intake stopping right after queueing an event).
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._cap):
                        await self._woken.wait()
            else:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._cap)

    async def drain_once(self) -> bool:
        """Hand on every event, in order; True once the outbox is empty, False when one could
        not be handed on (Temporal or TOPdesk still away): it stays first, for the next pass."""
        while (event := await self._call(self.outbox.first)) is not None:
            try:
                await self._deliver(event)
            except Exception as error:
                # A system away is the expected case; anything else is a bug, which keeps the
                # event first and the rest of the outbox behind it until a fixed deploy.
                expected = isinstance(error, Unavailable)
                said = str(error) if expected else f"{type(error).__name__}: {error}"
                await self._call(self.outbox.failed, event.id, said)
                (log.warning if expected else log.exception)(
                    "outbox.kept",
                    outbox_id=event.id,
                    workflow_id=event.workflow_id,
                    attempts=event.attempts + 1,
                    error=said,
                )
                return False
            await self._call(self.outbox.remove, event.id)
            log.info("outbox.handed_on", outbox_id=event.id, workflow_id=event.workflow_id)
        return True

    async def _call(self, call: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._store, functools.partial(call, *args))
