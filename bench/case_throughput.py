"""Whole new-hire cases per second, against a bare workflow of the same shape in the same run.

    make bench ARGS="--only case_throughput"
    .venv/bin/python -m bench.case_throughput --cases 400 --concurrency 40

A case here is the real thing end to end: the unit's HR form waits in TOPdesk (the simulator, its
own process, over HTTP); the TOPdesk "created" webhook goes to the intake (HTTP on loopback), which
reads the case and starts the workflow; the worker reads and acknowledges the case, registers the
hire in the SAP stub and waits; once SAP has the hire, the manager approves in SAP and the DFØ
portal's webhook goes to the intake, which signals the case; the worker asks SAP, completes the
TOPdesk case, and the workflow ends. Timed from the first webhook to the workflow's result.

The baseline (`bench/bare_case.py`) has the same activities, signal and timer, and no work: it is
started and signalled by the client directly. A second baseline, "visible", is the same bare
workflow making the new hire's upserts and patch markers too: the ratio to it is what saksflyt's
own work costs, apart from what being seen in visibility costs Temporal. All run on one dev
server with the same worker tuning (the settings', `SAKSFLYT_WORKER_*`), in the order bare,
visible, case, case, visible, bare, so that a server that slows as it fills costs each alike.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from adapters.dfo.archive import ArchiveStub
from adapters.dfo.portal import PortalStub
from adapters.dfo.spk import SpkStub
from bench import cpu
from bench.bare_case import STEP, BareCase
from bench.cases import (
    Intake,
    NotifyingSap,
    Registered,
    Simulator,
    dev_server,
    figures,
    submit_forms,
)
from bench.sender import Sender, sender
from domain.processes import NEW_HIRE
from workers.logging import configure_logging
from workers.settings import Settings
from workers.worker import Systems, build_worker, worker_tuning

SECRET = "bench-secret"
Case = Callable[[int], Awaitable[None]]


@dataclass
class Run:
    """Everything one measurement talks to."""

    client: Client
    settings: Settings
    registered: Registered
    sap: NotifyingSap
    http: Sender
    numbers: list[str]

    async def case(self, i: int) -> None:
        """One real new-hire case, from the "created" webhook to the workflow's result."""
        number = self.numbers[i]
        workflow_id = NEW_HIRE.workflow_id(number)
        registration = self.registered.expect(workflow_id)
        # The category named, as an action sequence that templates it sends it: the intake then
        # routes without reading TOPdesk (the workflow reads the case anyway).
        created = {"number": number, "event": "incident_created", "category": NEW_HIRE.category}
        await self.post("/webhooks/topdesk", created)
        registration_id = await registration
        self.sap.decide(registration_id, approved=True)  # the manager, in the DFØ portal
        decision = {
            "case_number": number,
            "registration_id": registration_id,
            "event": "approved",
            "event_id": str(uuid.uuid4()),
        }
        await self.post("/webhooks/dfo", decision)
        await self.client.get_workflow_handle(workflow_id).result()

    async def bare(self, i: int, visible: bool = False) -> None:
        """The baseline: the same shape started and signalled directly, doing nothing (but, if
        `visible`, showing in visibility what a case shows)."""
        workflow_id = f"{'visible' if visible else 'bare'}-{i}"
        registration = self.registered.expect(workflow_id)
        handle = await self.client.start_workflow(
            BareCase.run, args=[f"B-{i}", visible], id=workflow_id, task_queue=self.bare_queue
        )
        await registration
        await handle.signal(BareCase.approval_decided)
        await handle.result()

    async def visible(self, i: int) -> None:
        await self.bare(i, visible=True)

    async def post(self, path: str, body: dict[str, Any]) -> None:
        """Send a webhook as a sender does (`bench/sender.py`: TOPdesk's and DFØ's CPU is not
        saksflyt's)."""
        headers = {self.settings.webhook_secret_header: SECRET}
        (await self.http.post(path, body, headers)).raise_for_status()

    @property
    def bare_queue(self) -> str:
        return self.settings.task_queue + "-bare"


async def timed(case: Case, indexes: range, concurrency: int) -> tuple[list[float], float]:
    """Run the cases `indexes`, at most `concurrency` at a time: each one's latency, and the
    wall time of them all."""
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(i: int) -> None:
        async with gate:
            started = time.perf_counter()
            await case(i)
            latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(one(i) for i in indexes))
    return latencies, time.perf_counter() - began


def bare_worker(
    client: Client, task_queue: str, registered: Registered, settings: Settings
) -> Worker:
    """The baseline's worker: the same tuning as the real one, the do-nothing activity."""

    @activity.defn(name=STEP)
    def step(name: str) -> str:
        if name == "register":
            registered.notify(activity.info().workflow_id or "", "R")
        return name

    tuning = worker_tuning(settings)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[BareCase],
        activities=[step],
        activity_executor=ThreadPoolExecutor(tuning["max_concurrent_activities"]),
        **tuning,
    )


def measure(cases: int = 200, concurrency: int = 20) -> dict[str, Any]:
    """Real new-hire cases against bare ones, `cases` of each, `concurrency` at a time: per
    kind cases/s and p50/p99 latency (ms), the ratios case/bare, and the worker tuning."""
    return asyncio.run(_run(cases, concurrency))


async def _run(cases: int, concurrency: int) -> dict[str, Any]:
    scratch = Path(tempfile.mkdtemp(prefix="bench-cases-"))
    settings = Settings(
        task_queue=f"bench-{uuid.uuid4()}", webhook_secret=SecretStr(SECRET), data_dir=scratch
    )
    env = await dev_server()
    simulator = Simulator(scratch)
    try:
        topdesk = simulator.client()
        numbers = await asyncio.to_thread(submit_forms, topdesk, cases)
        return await _measure(env.client, settings, simulator, numbers, concurrency)
    finally:
        simulator.stop()
        await env.shutdown()


async def _measure(
    client: Client, settings: Settings, simulator: Simulator, numbers: list[str], concurrency: int
) -> dict[str, Any]:
    registered = Registered()
    folder = settings.data_dir
    topdesk = simulator.client(settings.worker_max_concurrent_activities)
    sap = NotifyingSap(folder / "sap.db", registered.notify)
    systems = Systems(
        topdesk,
        sap,
        SpkStub(folder / "spk.db"),
        ArchiveStub(folder / "archive.db"),
        PortalStub(folder / "portal.db"),
    )
    address = client.service_client.config.target_host
    intake = Intake(folder, address, simulator.url, settings.task_queue, SECRET)
    real = build_worker(client, settings.task_queue, systems, **worker_tuning(settings))
    try:
        async with sender(intake.url, concurrency) as http:
            run = Run(client, settings, registered, sap, http, numbers)
            bare = bare_worker(client, run.bare_queue, registered, settings)
            async with real, bare:
                return await _phases(run, len(numbers), concurrency)
    finally:
        intake.stop()


KINDS = ("bare", "visible", "case")


async def _phases(run: Run, cases: int, concurrency: int) -> dict[str, Any]:
    """Bare, visible, case, then case, visible, bare: each kind's two halves together."""
    half = cases // 2
    seen: dict[str, tuple[list[float], float]] = {kind: ([], 0.0) for kind in KINDS}
    used: dict[str, dict[str, float]] = {kind: {} for kind in KINDS}
    order = [(kind, range(half)) for kind in KINDS]
    order += [(kind, range(half, cases)) for kind in reversed(KINDS)]
    for kind, indexes in order:
        before = cpu.snapshot()
        latencies, seconds = await timed(getattr(run, kind), indexes, concurrency)
        for group, spent in cpu.spent(before, cpu.snapshot()).items():
            used[kind][group] = used[kind].get(group, 0.0) + spent
        seen[kind][0].extend(latencies)
        seen[kind] = (seen[kind][0], seen[kind][1] + seconds)
    kinds = {kind: figures(*seen[kind]) for kind in KINDS}
    return {
        "cases": cases,
        "concurrency": concurrency,
        **kinds,
        "ratio": _ratio(kinds["case"], kinds["bare"]),
        "ratio_to_visible": _ratio(kinds["case"], kinds["visible"]),
        "tuning": tuning_summary(run.settings),
        "cpu_ms_per_case": {
            kind: {group: round(1000 * seconds / cases) for group, seconds in groups.items()}
            for kind, groups in used.items()
        },
    }


def _ratio(case: dict[str, float], base: dict[str, float]) -> dict[str, float]:
    return {
        "throughput": case["cases_per_s"] / base["cases_per_s"],
        "p50": case["p50_ms"] / base["p50_ms"],
        "p99": case["p99_ms"] / base["p99_ms"],
    }


def tuning_summary(settings: Settings) -> dict[str, int]:
    return {
        name.removeprefix("worker_"): value
        for name, value in settings.model_dump().items()
        if name.startswith("worker_")
    }


def report(result: dict[str, Any]) -> str:
    """The figures as a few lines, the ratios last."""
    lines = [f"{result['cases']} new-hire cases, {result['concurrency']} at a time"]
    for kind in KINDS:
        row = result[kind]
        lines.append(
            f"  {kind:<7} {row['cases_per_s']:6.2f} cases/s  p50 {row['p50_ms']:7.0f} ms  "
            f"p99 {row['p99_ms']:7.0f} ms"
        )
    for kind, groups in result["cpu_ms_per_case"].items():
        shares = ", ".join(f"{group} {ms}" for group, ms in sorted(groups.items()))
        lines.append(f"  {kind:<7} CPU ms a case: {shares}")
    for name, base in (("ratio", "bare"), ("ratio_to_visible", "visible")):
        ratio = result[name]
        target = " (target >= 0.85)" if base == "bare" else ""
        lines.append(
            f"  ratio case/{base}: throughput {ratio['throughput']:.2f}{target}, "
            f"p50 {ratio['p50']:.2f}, p99 {ratio['p99']:.2f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    arguments = parser.parse_args()
    configure_logging("console", logging.WARNING)  # a line per activity would drown the figures
    print(report(measure(arguments.cases, arguments.concurrency)))
    sys.stdout.flush()
    os._exit(0)  # the SDK's bridge threads can abort an exiting interpreter (DESIGN.md)
