"""The intake while TOPdesk is slow: 30 webhooks at once against a TOPdesk that takes 5 s a read.

    make bench-slow-topdesk
    .venv/bin/python -m bench.intake_slow_topdesk --webhooks 30 --latency 5 --concurrency 32

Why: routing an event reads its case from TOPdesk, and those reads once ran on asyncio's small
default thread pool together with the outbox's and the quarantine's SQLite writes, so a slow
TOPdesk held up every answer, even of events that need no TOPdesk read at all. The intake now
reads TOPdesk on a bounded executor of its own (SAKSFLYT_INTAKE_TOPDESK_CONCURRENCY), gives each
read up to SAKSFLYT_INTAKE_TOPDESK_TIMEOUT_SECONDS, and keeps its store on another executor.

The run: the TOPdesk simulator with a latency fault on every incident read, a Temporal dev
server (no worker: an answer means "started", nothing after it), and the intake served by
uvicorn on loopback. Most webhooks are TOPdesk "created" events (each needs one slow read); every
sixth is a DFØ portal resignation, which needs no TOPdesk read, only the outbox (is an earlier
event of the case waiting?) and Temporal. Each answer's time is printed, then a summary per
kind; run it with `--concurrency` at the size of the old shared pool to see the "before" shape.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from adapters.topdesk.simulator import API_PREFIX, FaultRule, SimulatorConfig, TopdeskSimulator
from bench.cases import free_port, submit_forms
from bench.intake_load import SECRET
from workers.intake import create_app, topdesk_of
from workers.logging import configure_logging
from workers.settings import Settings
from workers.temporal import binary, data_converter
from workflows import search_attributes

# What asyncio.to_thread's default pool holds on this machine: the old, shared limit.
DEFAULT_POOL = min(32, (os.cpu_count() or 1) + 4)


@dataclass
class Answer:
    kind: str  # "topdesk" (routed by a TOPdesk read) or "resignation" (no TOPdesk read)
    status: int
    action: str
    seconds: float


def summary(kind: str, answers: list[Answer]) -> str:
    times = sorted(a.seconds for a in answers)
    statuses = Counter(f"{a.status} {a.action}".strip() for a in answers)
    counted = ", ".join(f"{n} {what}" for what, n in sorted(statuses.items()))
    return (
        f"{kind:<12} {len(answers):>3} answers  first {times[0]:5.2f} s  "
        f"median {statistics.median(times):5.2f} s  last {times[-1]:5.2f} s  ({counted})"
    )


async def send(http: httpx.AsyncClient, kind: str, body: dict[str, str], began: float) -> Answer:
    path = "/webhooks/topdesk" if kind == "topdesk" else "/webhooks/dfo"
    response = await http.post(path, json=body, headers={"X-Saksflyt-Secret": SECRET})
    action = response.json().get("action", "") if response.status_code == 202 else ""
    return Answer(kind, response.status_code, action, time.perf_counter() - began)


def serve_intake(app: object, port: int) -> uvicorn.Server:
    """The intake in this process, on a thread: what this bench measures is how its answers wait
    on TOPdesk, not its rate."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")  # type: ignore[arg-type]
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server


def bodies(numbers: list[str], webhooks: int) -> list[tuple[str, dict[str, str]]]:
    """Every sixth webhook a resignation (no TOPdesk read), the others TOPdesk "created"."""
    sent: list[tuple[str, dict[str, str]]] = []
    for n in range(webhooks):
        if n % 6 == 5:
            form = {"event": "resignation_submitted", "form_id": f"OPP-{uuid.uuid4().hex[:8]}"}
            sent.append(("resignation", form))
        else:
            sent.append(("topdesk", {"number": numbers.pop(), "event": "incident_created"}))
    return sent


async def main(webhooks: int, latency: float, concurrency: int, timeout: float) -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        search_attributes=search_attributes.ALL,
        data_converter=data_converter(),
    )
    scratch = Path(tempfile.mkdtemp())
    with TopdeskSimulator(SimulatorConfig(db_path=scratch / "topdesk.db")) as simulator:
        config = simulator.config
        settings = Settings(
            task_queue=f"bench-{uuid.uuid4()}",
            webhook_secret=SecretStr(SECRET),
            data_dir=scratch,
            topdesk_url=simulator.url,
            topdesk_login=config.login,
            topdesk_app_password=SecretStr(config.app_password),
            intake_topdesk_concurrency=concurrency,
            intake_topdesk_timeout_seconds=timeout,
        )
        sent = bodies(submit_forms(topdesk_of(settings), webhooks), webhooks)
        simulator.inject_fault(
            FaultRule(
                kind="latency",
                method="GET",
                path_prefix=f"{API_PREFIX}/incidents",
                latency_seconds=latency,
                times=None,
            )
        )

        async def connect() -> Client:
            return env.client

        port = free_port()
        app = create_app(settings, connect)  # TOPdesk, quarantine and outbox from the settings
        server = serve_intake(app, port)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
                began = time.perf_counter()
                answers = await asyncio.gather(
                    *(send(http, kind, body, began) for kind, body in sent)
                )
        finally:
            server.should_exit = True
    await env.shutdown()
    report(answers, webhooks, latency, concurrency, timeout)


def report(
    answers: list[Answer], webhooks: int, latency: float, concurrency: int, timeout: float
) -> None:
    print(
        f"{webhooks} webhooks at once; TOPdesk {latency:g} s a read; TOPdesk executor "
        f"{concurrency} threads, {timeout:g} s a read (the old shared pool: {DEFAULT_POOL})"
    )
    for n, a in enumerate(answers, start=1):
        print(f"  #{n:<3} {a.kind:<12} {a.status} {a.action:<16} {a.seconds:6.2f} s")
    for kind in ("topdesk", "resignation"):
        print(summary(kind, [a for a in answers if a.kind == kind]))
    print(summary("all", answers))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webhooks", type=int, default=30)
    parser.add_argument("--latency", type=float, default=5.0, help="seconds a TOPdesk read takes")
    defaults = Settings()
    parser.add_argument(
        "--concurrency",
        type=int,
        default=defaults.intake_topdesk_concurrency,
        help="TOPdesk reads at once (SAKSFLYT_INTAKE_TOPDESK_CONCURRENCY)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=defaults.intake_topdesk_timeout_seconds,
        help="seconds a TOPdesk read may take (SAKSFLYT_INTAKE_TOPDESK_TIMEOUT_SECONDS)",
    )
    args = parser.parse_args()
    configure_logging("console", logging.WARNING)
    asyncio.run(main(args.webhooks, args.latency, args.concurrency, args.timeout))
