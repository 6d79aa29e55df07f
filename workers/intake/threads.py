"""The intake's two thread pools: one for TOPdesk reads, one for its own SQLite files.

Both kinds of call block (requests, sqlite3), so both run on threads. They once shared asyncio's
default pool (a handful of threads), and a slow TOPdesk then held up everything: with TOPdesk at
5 s a read, 30 webhooks at once took 25 s, and an event that needed no TOPdesk read at all waited
its turn behind those that did. Now TOPdesk reads have a bounded pool of their own
(SAKSFLYT_INTAKE_TOPDESK_CONCURRENCY) and a time limit each
(SAKSFLYT_INTAKE_TOPDESK_TIMEOUT_SECONDS, counted from when the read is asked for, so waiting for a
thread counts too); a read past it is TOPdesk unavailable (`TopdeskUnavailable`), which the
intake answers as it answers TOPdesk down.
The outbox and the quarantine have the other pool, which no TOPdesk read ever occupies.

A read given up on still runs to its end on its thread (a thread cannot be stopped); the
TOPdesk client's own timeouts bound that.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from adapters.topdesk.errors import TopdeskUnavailable
from adapters.topdesk.models import Incident
from adapters.topdesk.port import TopdeskPort

T = TypeVar("T")

# SQLite calls are short, and each store serialises its own; a few threads are plenty.
STORE_THREADS = 4


class Threads:
    def __init__(self, topdesk: TopdeskPort, concurrency: int, timeout: float) -> None:
        if concurrency < 1:
            raise ValueError("SAKSFLYT_INTAKE_TOPDESK_CONCURRENCY must be at least 1")
        self.topdesk_pool = ThreadPoolExecutor(concurrency, thread_name_prefix="intake-topdesk")
        self.store_pool = ThreadPoolExecutor(STORE_THREADS, thread_name_prefix="intake-store")
        self._topdesk = topdesk
        self._timeout = timeout

    async def incident(self, number: str) -> Incident:
        """The case as TOPdesk has it, or `TopdeskUnavailable` once the time limit is up."""
        loop = asyncio.get_running_loop()
        read = loop.run_in_executor(self.topdesk_pool, self._topdesk.get_incident, number)
        try:
            async with asyncio.timeout(self._timeout):
                return await read
        except TimeoutError:
            raise TopdeskUnavailable(
                f"TOPdesk did not answer within {self._timeout:g} s (reading {number})"
            ) from None

    async def store(self, call: Callable[..., T], *args: Any) -> T:
        """`call(*args)` on the store's pool: the outbox's and the quarantine's reads and writes."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.store_pool, functools.partial(call, *args))

    def shutdown(self) -> None:
        """Let go of idle threads; a read still under way ends on its own."""
        self.topdesk_pool.shutdown(wait=False, cancel_futures=True)
        self.store_pool.shutdown(wait=False, cancel_futures=True)
