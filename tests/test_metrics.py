"""The worker's Prometheus endpoint, scraped over HTTP as Prometheus would, on the dev server (the
gauges count from visibility, which the time-skipping server lacks)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from adapters.dfo.archive import ArchiveStub
from adapters.dfo.portal import PortalStub
from adapters.dfo.sap import SapStub
from adapters.dfo.spk import SpkStub
from adapters.topdesk.client import TopdeskClient
from adapters.topdesk.simulator import TopdeskSimulator
from domain import processes
from domain.cases import WaitState
from domain.sla import SlaTarget
from tests.eventually import eventually
from tests.harness import COMPLETE_FORM, Harness, form_without
from workers.case_index import list_cases, open_query
from workers.metrics import REASONS, CaseGauges, open_counts, prometheus_runtime
from workers.temporal import data_converter
from workers.worker import Systems, build_worker

# Tight targets, so that a month from now every running clock is past its mark; the extension
# is due long before it expires. The caller's wait (clock paused) has a short wait limit.
TARGETS = {
    "new_hire": SlaTarget(due_days=3, expires_days=5),
    "extension": SlaTarget(due_days=3, expires_days=1000),
}
LIMITS: dict[str, float] = {WaitState.AWAITING_CALLER: 9.0, WaitState.AWAITING_APPROVAL: 1000.0}
A_MONTH = timedelta(days=30)  # at least 17 working days, whatever the holidays
# SAP registers a person once: the second hire is another person (a D-nummer)
OTHER_HIRE = COMPLETE_FORM.replace("150385 10190", "55038510184")


class Scrape:
    """The endpoint as Prometheus reads it: `value(name, label=...)` of one series."""

    def __init__(self, url: str) -> None:
        response = requests.get(url, timeout=5)
        response.raise_for_status()
        self.text = response.text

    def series(self, name: str) -> dict[frozenset[tuple[str, str]], float]:
        found = {}
        for line in self.text.splitlines():
            match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
            if match:
                labels = frozenset(re.findall(r'(\w+)="([^"]*)"', match[1]))
                found[labels] = float(match[2])
        return found

    def value(self, name: str, **labels: str) -> float | None:
        """The series with exactly these labels."""
        for key, value in self.series(name).items():
            if dict(key) == labels:
                return value
        return None


@pytest.fixture
async def metered(
    dev_server: WorkflowEnvironment,
    topdesk: TopdeskClient,
    simulator: TopdeskSimulator,
    sap: SapStub,
    spk: SpkStub,
    archive: ArchiveStub,
    portal: PortalStub,
) -> AsyncIterator[tuple[Harness, CaseGauges, str]]:
    """A worker whose client carries a Prometheus runtime, as `saksflyt worker` builds it."""
    address = f"127.0.0.1:{_free_port()}"
    runtime = prometheus_runtime(address)
    client = await Client.connect(
        dev_server.client.service_client.config.target_host,
        namespace=dev_server.client.namespace,
        data_converter=data_converter(),
        runtime=runtime,
    )
    task_queue = f"metrics-{uuid.uuid4()}"
    systems = Systems(topdesk, sap, spk, archive, portal)
    async with build_worker(
        client, task_queue, systems, workflow_failure_exception_types=[Exception]
    ):
        harness = Harness(client, task_queue, topdesk, simulator, sap, dev_server, spk, archive)
        yield harness, CaseGauges(runtime.metric_meter), f"http://{address}/metrics"
        await harness.finish()


async def test_the_endpoint_serves_the_case_gauges_and_the_sdk_metrics(
    metered: tuple[Harness, CaseGauges, str],
):
    h, gauges, url = metered
    for form in (COMPLETE_FORM, OTHER_HIRE):
        await _started(h, h.submit(form), WaitState.AWAITING_APPROVAL)
    caller = await _started(h, h.submit(form_without("Kontonummer")), WaitState.AWAITING_CALLER)
    extension = await h.start_extension(h.submit_extension())
    await h.wait_state(extension, WaitState.AWAITING_APPROVAL)
    refused = await h.start(h.submit(form_without("Lønnsform", extra="Lønnsform: Timelønn")))
    await refused.result()  # a closed case is no open case
    expected = {
        ("new_hire", WaitState.AWAITING_APPROVAL): 2,
        ("new_hire", WaitState.AWAITING_CALLER): 1,
        ("extension", WaitState.AWAITING_APPROVAL): 1,
    }
    await _visible(h.client, expected)

    # a month on, every running clock is past its marks and the caller's wait past its limit
    later = datetime.now(UTC) + A_MONTH
    await gauges.refresh(h.client, TARGETS, LIMITS, later)
    scrape = Scrape(url)
    for (process, state), count in expected.items():
        assert scrape.value("saksflyt_open_cases", process=process, state=state) == count
    overdue = scrape.series("saksflyt_overdue_cases")
    assert {key: value for key, value in _sorted(overdue).items() if value} == {
        (("process", "new_hire"), ("reason", "sla_expired")): 2,  # the caller's clock is paused
        (("process", "new_hire"), ("reason", "wait_limit")): 1,  # the caller's wait
        (("process", "extension"), ("reason", "sla_due")): 1,  # due, far from expiry
    }
    # the SDK's own metrics, on the same endpoint: the worker runs on this runtime
    completed = scrape.series("temporal_workflow_completed")
    assert [value for key, value in completed.items() if ("workflow_type", "NewHire") in key] == [1]
    assert scrape.series("temporal_worker_task_slots_available")

    # the caller's case goes away: its series reads 0, not its last count
    await caller.terminate("test: the case is withdrawn")
    await _visible(h.client, {**expected, ("new_hire", WaitState.AWAITING_CALLER): 0})
    await gauges.refresh(h.client, TARGETS, LIMITS, later)
    scrape = Scrape(url)
    assert scrape.value("saksflyt_open_cases", process="new_hire", state="awaiting_caller") == 0
    assert scrape.value("saksflyt_overdue_cases", process="new_hire", reason="wait_limit") == 0

    # read now, nothing is overdue any more: every overdue series reads 0
    await gauges.refresh(h.client, TARGETS, LIMITS)
    scrape = Scrape(url)
    assert set(scrape.series("saksflyt_overdue_cases").values()) == {0}
    assert scrape.value("saksflyt_open_cases", process="new_hire", state="awaiting_approval") == 2


async def test_every_overdue_series_reads_0_when_no_case_is_overdue(
    metered: tuple[Harness, CaseGauges, str],
):
    h, gauges, url = metered
    await gauges.refresh(h.client, TARGETS, LIMITS)  # no case at all
    scrape = Scrape(url)
    for process in processes.NAMES:
        for reason in REASONS:
            assert scrape.value("saksflyt_overdue_cases", process=process, reason=reason) == 0
        for state in WaitState:
            assert scrape.value("saksflyt_open_cases", process=process, state=state) == 0


async def test_the_case_gauges_carry_no_service_name_label(
    metered: tuple[Harness, CaseGauges, str],
):
    h, gauges, url = metered
    await gauges.refresh(h.client, TARGETS, LIMITS)

    async def sdk_metrics_served() -> bool:  # once the worker has polled
        return bool(Scrape(url).series("temporal_worker_task_slots_available"))

    await eventually(sdk_metrics_served, "the SDK's slot metrics beside the case gauges")
    lines = [line for line in Scrape(url).text.splitlines() if line.startswith("saksflyt_")]
    assert lines
    assert not [line for line in lines if "service_name" in line]


async def test_saksflyt_worker_serves_the_sdk_metrics_at_the_metrics_address(
    dev_server: WorkflowEnvironment, tmp_path: Path
):
    address = f"127.0.0.1:{_free_port()}"
    task_queue = f"metrics-{uuid.uuid4()}"
    env = _worker_env(dev_server, tmp_path, address, task_queue)
    worker = subprocess.Popen([sys.executable, "-m", "workers.cli", "worker"], env=env)
    try:

        async def polling() -> bool:
            try:
                slots = Scrape(f"http://{address}/metrics").series(
                    "temporal_worker_task_slots_available"
                )
            except requests.ConnectionError:
                return False
            return any(("task_queue", task_queue) in key for key in slots)

        await eventually(polling, "the worker's slots on its metrics endpoint")
    finally:
        worker.terminate()
        worker.wait(10)


def test_saksflyt_worker_says_so_and_exits_1_when_the_metrics_address_is_taken(
    dev_server: WorkflowEnvironment, tmp_path: Path
):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        env = _worker_env(dev_server, tmp_path, address, "metrics-unused")
        run = subprocess.run(
            [sys.executable, "-m", "workers.cli", "worker"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode == 1
    assert f"SAKSFLYT_METRICS_ADDRESS={address}" in run.stderr


def _worker_env(
    dev_server: WorkflowEnvironment, tmp_path: Path, address: str, task_queue: str
) -> dict[str, str]:
    return {
        **os.environ,
        "SAKSFLYT_TEMPORAL_ADDRESS": dev_server.client.service_client.config.target_host,
        "SAKSFLYT_TASK_QUEUE": task_queue,
        "SAKSFLYT_DATA_DIR": str(tmp_path / "data"),
        "SAKSFLYT_METRICS_ADDRESS": address,
    }


async def _started(h: Harness, number: str, state: WaitState) -> WorkflowHandle:
    handle = await h.start(number)
    await h.wait_state(handle, state)
    return handle


async def _visible(client: Client, expected: dict[tuple[str, WaitState], int]) -> None:
    """Wait until visibility (which lags the workflows a little) shows the open cases."""
    wanted = {key: count for key, count in expected.items() if count}

    async def shown() -> bool:
        return dict(open_counts(await list_cases(client, open_query()))) == wanted

    await eventually(shown, f"visibility to show {wanted}")


def _sorted(
    series: dict[frozenset[tuple[str, str]], float],
) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(key)): value for key, value in series.items()}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
