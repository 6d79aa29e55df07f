"""What the case benchmarks share: a TOPdesk simulator of its own, new-hire forms for distinct
people, an SAP stub that says when a hire is registered, and a dev server like `saksflyt dev`'s.

The simulator runs as a process of its own (as TOPdesk would), so that its CPU is not counted
as saksflyt's. The SAP stub lives in the worker, as it does in `saksflyt dev`.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from stdnum.no import fodselsnummer
from temporalio.testing import WorkflowEnvironment

from adapters.dfo.sap import NewHire, Registration, SapStub
from adapters.topdesk.client import TopdeskClient
from domain.processes import NEW_HIRE
from tests.harness import COMPLETE_FORM
from workers.demo import submit_form
from workers.temporal import binary, data_converter
from workers.worker import pooled_session
from workflows import search_attributes


async def dev_server(database: Path | None = None) -> WorkflowEnvironment:
    """The dev server with the case search attributes, as `saksflyt dev` starts it; SQLite in
    memory unless `database` names a file (WAL, no fsync: the figures are not the disk's)."""
    extra = ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=off"]
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        search_attributes=search_attributes.ALL,
        data_converter=data_converter(),
        dev_server_database_filename=str(database) if database else None,
        dev_server_extra_args=extra if database else [],
    )


class Simulator:
    """The TOPdesk simulator as a child process; `url` once it serves."""

    def __init__(self, folder: Path) -> None:
        command = [sys.executable, "-m", "adapters.topdesk.simulator", "--db", str(folder / "t.db")]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        if not self.url:
            raise RuntimeError("the TOPdesk simulator did not start")

    def client(self, connections: int = 10) -> TopdeskClient:
        """A client as the worker makes one: a kept connection for each activity thread."""
        session = pooled_session(connections)
        return TopdeskClient(self.url, "saksflyt", "sim-app-password", session=session)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


class Intake:
    """`saksflyt intake` as a child process, as it runs in production: its own event loop, its
    own TOPdesk threads, its own interpreter (a thread here would take the worker's GIL)."""

    def __init__(self, folder: Path, temporal: str, topdesk: str, task_queue: str, secret: str):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        settings = {
            "TEMPORAL_ADDRESS": temporal,
            "TOPDESK_URL": topdesk,
            "TASK_QUEUE": task_queue,
            "WEBHOOK_SECRET": secret,
            "INTAKE_PORT": str(port),
            "DATA_DIR": str(folder / "intake"),
        }
        self.process = saksflyt("intake", settings)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the intake did not become ready")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def saksflyt(command: str, settings: dict[str, str]) -> subprocess.Popen[bytes]:
    """`saksflyt COMMAND` as a child process, configured as a deployment is: by `SAKSFLYT_*`
    variables (`settings` names them without the prefix), logging JSON, no metrics endpoint."""
    given = {"LOG_FORMAT": "json", "METRICS_ADDRESS": "", **settings}
    env = {**os.environ, **{f"SAKSFLYT_{k}": v for k, v in given.items()}}
    program = str(Path(sys.executable).parent / "saksflyt")
    return subprocess.Popen(
        [program, command], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def person_form(person: int) -> str:
    """The complete new-hire form for the `person`-th of up to 300,000 people: SAP refuses to
    hire a person twice, so each case names another fødselsnummer."""
    day, rest = 1 + person % 28, person // 28
    month, rest = 1 + rest % 12, rest // 12
    year, individual = rest % 90, 100 + rest // 90
    base = f"{day:02d}{month:02d}{year:02d}{individual:03d}"
    while len(first := fodselsnummer.calc_check_digit1(base)) != 1 or (
        len(fodselsnummer.calc_check_digit2(base + first)) != 1
    ):
        base = f"{base[:6]}{int(base[6:]) + 1:03d}"
    national_id = base + first + fodselsnummer.calc_check_digit2(base + first)
    return "\n".join(
        f"Fødselsnummer: {national_id}" if line.startswith("Fødselsnummer") else line
        for line in COMPLETE_FORM.splitlines()
    )


def submit_forms(topdesk: TopdeskClient, count: int, first: int = 0) -> list[str]:
    """`count` new-hire cases in TOPdesk, as the units' HR would send them; their numbers."""
    return [submit_form(topdesk, NEW_HIRE.category, person_form(first + i)) for i in range(count)]


class Registered:
    """Futures that the worker's activity threads resolve: the driver approves a case once its
    hire is registered, as a manager would, without polling anything for it."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.waiting: dict[str, asyncio.Future[str]] = {}

    def expect(self, workflow_id: str) -> asyncio.Future[str]:
        future = self.waiting[workflow_id] = self.loop.create_future()
        return future

    def notify(self, workflow_id: str, registration_id: str) -> None:
        """From any thread."""
        future = self.waiting.get(workflow_id)
        if future is not None:
            self.loop.call_soon_threadsafe(_resolve, future, registration_id)


def _resolve(future: asyncio.Future[str], value: str) -> None:
    if not future.done():
        future.set_result(value)


class NotifyingSap(SapStub):
    """The SAP stub, telling `registered` of each new hire (by its workflow id, the first part
    of the idempotency key)."""

    def __init__(self, path: Path, registered: Callable[[str, str], None]) -> None:
        super().__init__(path)
        self.registered = registered

    def register_new_hire(self, hire: NewHire, idempotency_key: str) -> Registration:
        registration = super().register_new_hire(hire, idempotency_key)
        self.registered(idempotency_key.split("/")[0], registration.id)
        return registration


def figures(latencies: list[float], seconds: float) -> dict[str, float]:
    """Cases per second and latency percentiles (ms) of one kind of case."""
    ordered = sorted(latencies)

    def percentile(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000

    return {
        "cases": len(ordered),
        "cases_per_s": len(ordered) / seconds,
        "p50_ms": percentile(50),
        "p99_ms": percentile(99),
        "mean_ms": statistics.mean(ordered) * 1000,
    }


def rss_mb(pid: int | None = None) -> float:
    """Resident memory of a process (this one by default), from /proc."""
    status = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def machine() -> dict[str, Any]:
    """Cores, memory and CPU model, for the record of a run."""
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), "")
    meminfo = Path("/proc/meminfo").read_text().splitlines()[0]
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(int(meminfo.split()[1]) / 1024**2, 1),
        "cpu": model,
        "python": sys.version.split()[0],
        "today": date.today().isoformat(),
    }
