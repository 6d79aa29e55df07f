"""Many open cases on one worker: 1k, 5k and 10k new hires waiting for the manager.

    make bench ARGS="--only scale"                         (1000, 5000, 10000: about 20 min)
    .venv/bin/python -m bench.scale --sizes 500,1000        (a quick look: about 4 min)

One dev server (SQLite in a file, WAL), one TOPdesk simulator (its own process) and one worker
(`saksflyt worker`, its own process, with the settings' tuning; `SAKSFLYT_WORKER_*` changes it).
The open cases grow through the sizes: for each, the forms wait in TOPdesk, the missing cases are
started with the client (as the intake would, `--concurrency` at a time) and timed until every
one waits for the manager (its hire in SAP, `WaitState='awaiting_approval'`); then the worker's
resident memory is read from /proc. The cases of a smaller size stay open into the next, as they
would in production. At the largest size every manager approves in SAP and the DFØ portal's word
reaches each case as the intake sends it (a signal: the intake's own cost is
`bench/intake_load.py`'s), timed until no case is open. The budget: 10k open cases within 1 GB
of worker memory. The curve is drawn to docs/scale.png.
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
from pathlib import Path
from typing import Any

from temporalio.client import Client

from adapters.dfo.sap import Registration, SapStub
from bench.cases import Simulator, dev_server, rss_mb, saksflyt, submit_forms
from domain.cases import ApprovalDecision
from domain.new_hire import NewHireInput
from domain.processes import NEW_HIRE
from workers.logging import configure_logging
from workflows.new_hire import NewHireWorkflow

SIZES = (1000, 5000, 10000)
BUDGET_MB = 1024
PLOT = Path("docs/scale.png")


class WorkerProcess:
    """`saksflyt worker` as a child process, so that its memory is its own."""

    def __init__(self, folder: Path, temporal: str, topdesk: str, task_queue: str) -> None:
        settings = {
            "TEMPORAL_ADDRESS": temporal,
            "TOPDESK_URL": topdesk,
            "TASK_QUEUE": task_queue,
            "DATA_DIR": str(folder),
        }
        self.process = saksflyt("worker", settings)
        self.pid = self.process.pid

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


async def count(client: Client, query: str) -> int:
    return (await client.count_workflows(query)).count


async def until(client: Client, query: str, wanted: int, timeout: float) -> float:
    """Seconds until visibility counts `wanted` cases for `query`."""
    began = time.perf_counter()
    while await count(client, query) < wanted:
        if time.perf_counter() - began > timeout:
            raise TimeoutError(f"{query}: fewer than {wanted} after {timeout:.0f} s")
        await asyncio.sleep(1)
    return time.perf_counter() - began


async def start_all(client: Client, task_queue: str, numbers: list[str], limit: int) -> None:
    gate = asyncio.Semaphore(limit)

    async def one(number: str) -> None:
        async with gate:
            await client.start_workflow(
                NewHireWorkflow.run,
                NewHireInput(case_number=number),
                id=NEW_HIRE.workflow_id(number),
                task_queue=task_queue,
            )

    await asyncio.gather(*(one(number) for number in numbers))


async def approve_all(client: Client, sap: SapStub, limit: int) -> None:
    """Each manager approves in SAP; the DFØ portal's word reaches the case."""
    gate = asyncio.Semaphore(limit)

    async def one(workflow_id: str, registration_id: str) -> None:
        async with gate:
            sap.decide(registration_id, approved=True)
            decision = ApprovalDecision(
                event_id=str(uuid.uuid4()), registration_id=registration_id, approved=True
            )
            await client.get_workflow_handle(workflow_id).signal(
                NewHireWorkflow.approval_decided, decision
            )

    await asyncio.gather(*(one(case, registration) for case, registration in registered(sap)))


def registered(sap: SapStub) -> list[tuple[str, str]]:
    """(workflow id, registration id) of every hire in SAP, from the stub's idempotency keys
    (`<workflow id>/register/<attempt>`): SAP itself does not know the case."""
    with sap.store.transaction() as db:
        rows = db.execute("select key, result from idempotency where key like '%/register/%'")
        return [
            (key.split("/")[0], Registration.model_validate_json(result).id)
            for key, result in rows.fetchall()
        ]


async def grow(sizes: tuple[int, ...], concurrency: int) -> dict[str, Any]:
    """One server, worker and TOPdesk; the open cases grow through `sizes`, then all complete."""
    scratch = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    env = await dev_server(scratch / "temporal.db")
    simulator = Simulator(scratch)
    task_queue = f"bench-scale-{uuid.uuid4()}"
    address = env.client.service_client.config.target_host
    worker = WorkerProcess(scratch, address, simulator.url, task_queue)
    try:
        await asyncio.sleep(3)  # its imports done, before it has any case
        idle = rss_mb(worker.pid)
        rows = []
        for size in sizes:
            rows.append(await open_up_to(env.client, simulator, task_queue, size, concurrency))
            rows[-1].update(worker_kb(worker, idle, size))
            print(line(rows[-1]), flush=True)
        done = await complete_all(env.client, SapStub(scratch / "sap-stub.db"), task_queue)
        done["worker_rss_after_mb"] = rss_mb(worker.pid)
        print(f"  all {done['cases']} approved: completed in {done['seconds']:.1f} s", flush=True)
        return {"idle_worker_rss_mb": idle, "sizes": rows, "complete_all": done}
    finally:
        worker.stop()
        simulator.stop()
        await env.shutdown()


async def open_up_to(
    client: Client, simulator: Simulator, task_queue: str, size: int, concurrency: int
) -> dict[str, Any]:
    """Start cases until `size` are open; timed until every one waits for the manager."""
    query = f"TaskQueue = '{task_queue}'"
    already = await count(client, query)
    topdesk = simulator.client()
    numbers = await asyncio.to_thread(submit_forms, topdesk, size - already, already)
    began = time.perf_counter()
    await start_all(client, task_queue, numbers, concurrency)
    calls = time.perf_counter() - began
    waiting = f"{query} AND WaitState = 'awaiting_approval'"
    await until(client, waiting, size, timeout=120 + size)
    seconds = time.perf_counter() - began
    return {
        "open_cases": size,
        "started": len(numbers),
        "start_calls_s": calls,
        "start_to_waiting_s": seconds,
        "cases_per_s": len(numbers) / seconds,
    }


def worker_kb(worker: WorkerProcess, idle_mb: float, size: int) -> dict[str, Any]:
    rss = rss_mb(worker.pid)
    return {
        "worker_rss_mb": rss,
        "worker_kb_per_case": (rss - idle_mb) * 1024 / size,
        "within_budget": rss <= BUDGET_MB,
    }


async def complete_all(client: Client, sap: SapStub, task_queue: str) -> dict[str, Any]:
    """Every manager approves; timed until no case is open."""
    query = f"TaskQueue = '{task_queue}'"
    began = time.perf_counter()
    await approve_all(client, sap, 50)
    while await count(client, f"{query} AND ExecutionStatus = 'Running'") > 0:
        await asyncio.sleep(1)
    seconds = time.perf_counter() - began
    completed = await count(client, f"{query} AND ExecutionStatus = 'Completed'")
    return {"cases": completed, "seconds": seconds, "cases_per_s": completed / seconds}


def measure(
    sizes: tuple[int, ...] = SIZES, concurrency: int = 50, plot: Path | None = PLOT
) -> dict[str, Any]:
    """Open cases grown through `sizes` on one worker, then all approved: times, worker memory
    and whether it stays within the budget; the curve drawn to `plot` (None: not drawn)."""
    result = asyncio.run(grow(tuple(sorted(sizes)), concurrency))
    result["budget_mb"] = BUDGET_MB
    if plot is not None:
        draw(result, plot)
        result["plot"] = str(plot)
    return result


def line(row: dict[str, Any]) -> str:
    return (
        f"  {row['open_cases']:>6} open: {row['started']} more started and waiting in "
        f"{row['start_to_waiting_s']:6.1f} s ({row['cases_per_s']:5.1f} cases/s), "
        f"worker RSS {row['worker_rss_mb']:6.0f} MB ({row['worker_kb_per_case']:4.0f} KB/case)"
    )


def report(result: dict[str, Any]) -> str:
    lines = [f"open new-hire cases on one worker (idle {result['idle_worker_rss_mb']:.0f} MB)"]
    lines += [line(row) for row in result["sizes"]]
    done = result["complete_all"]
    lines.append(
        f"  all {done['cases']} approved: completed in {done['seconds']:.1f} s "
        f"({done['cases_per_s']:.1f} cases/s); budget {result['budget_mb']} MB"
    )
    return "\n".join(lines)


def draw(result: dict[str, Any], path: Path) -> None:
    """Worker memory and the start rate against open cases, one picture."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    rows = result["sizes"]
    sizes = [row["open_cases"] for row in rows]
    figure, (memory, rate) = pyplot.subplots(1, 2, figsize=(10, 4))
    memory.plot(sizes, [row["worker_rss_mb"] for row in rows], marker="o", label="worker RSS")
    memory.axhline(BUDGET_MB, color="red", linestyle="--", label="budget 1 GB")
    memory.set(xlabel="open new-hire cases", ylabel="MB", title="Worker memory, cases waiting")
    memory.set_ylim(bottom=0)
    memory.legend()
    rate.plot(
        sizes, [row["cases_per_s"] for row in rows], marker="o", label="started until waiting"
    )
    done = result["complete_all"]
    rate.plot([sizes[-1]], [done["cases_per_s"]], marker="s", label="approved until done (all)")
    rate.set(xlabel="open new-hire cases", ylabel="cases/s", title="Rate, one worker, 2 cores")
    rate.set_ylim(0, 1.15 * max(done["cases_per_s"], *(row["cases_per_s"] for row in rows)))
    rate.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--plot", type=Path, default=PLOT)
    arguments = parser.parse_args()
    configure_logging("console", logging.WARNING)
    sizes = tuple(int(size) for size in arguments.sizes.split(","))
    print(report(measure(sizes, arguments.concurrency, arguments.plot)))
    sys.stdout.flush()
    os._exit(0)  # the SDK's bridge threads can abort an exiting interpreter (DESIGN.md)
