"""Prometheus metrics of the worker: the Temporal SDK's own, and what the centre's dashboards need.

One endpoint, `http://<metrics_address>/metrics`, serves both. The SDK's metrics (task slots,
schedule-to-start latencies, completed and failed workflows: temporal-practices §Worker tuning)
come from a `Runtime` with a Prometheus exporter; the case gauges are made on that runtime's own
metric meter, so they need no second HTTP server:

    saksflyt_open_cases{process, state}       open cases per process and wait state
    saksflyt_overdue_cases{process, reason}   open cases past a mark, by reason:
        sla_due      the SLA clock is past the due mark (the handler is told), not yet expired
        sla_expired  the SLA clock is past the expiry mark (the case escalates)
        wait_limit   the case has stayed in its wait state past the state's limit (the radar's)

Every series (each process with each state, each process with each reason) is there from the
first count on, 0 where no case is: a dashboard's "none overdue" is a 0, not a missing series.
The runtime attaches no `service_name` label: the SDK's would be one constant on every series,
the case gauges' included, and Prometheus names the scraped job itself.

A case past both an SLA mark and its wait limit counts under both reasons. The gauges are counted
from visibility (`workers.case_index`) every `metrics_every_seconds`; overdue is derived from the
clock read at that moment (`domain.sla`), never stored, so a changed target shows at once.

The runtime must be made before any other Temporal object: a client made without it would make
the SDK's default runtime, whose metrics no one scrapes.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

import structlog
from temporalio.client import Client
from temporalio.common import MetricGauge, MetricMeter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from domain import processes
from domain.cases import WaitState
from domain.sla import SlaStanding, SlaTarget
from workers.case_index import CaseRow, list_cases, open_query
from workers.settings import Settings

log = structlog.get_logger(__name__)

OPEN_CASES = "saksflyt_open_cases"
OVERDUE_CASES = "saksflyt_overdue_cases"

Labels = tuple[str, str]

# The overdue reasons, so that every series of the gauges is shown, also at 0 (as is every
# process, the `Process` search attribute's values, `domain/processes.py`).
REASONS = ("sla_due", "sla_expired", "wait_limit")


class MetricsUnavailable(RuntimeError):
    """The endpoint could not be served (the address is taken or invalid)."""


def prometheus_runtime(bind_address: str) -> Runtime:
    """A runtime whose metrics Prometheus scrapes at `bind_address` ("127.0.0.1:9464")."""
    metrics = PrometheusConfig(bind_address=bind_address)
    try:
        return Runtime(telemetry=TelemetryConfig(metrics=metrics, attach_service_name=False))
    except ValueError as error:  # the SDK's "Failed starting Prometheus exporter: ..."
        raise MetricsUnavailable(f"{error} (SAKSFLYT_METRICS_ADDRESS={bind_address})") from error


def open_counts(rows: Iterable[CaseRow]) -> Counter[Labels]:
    """Open cases by (process, state)."""
    return Counter((row.process, row.state or "unknown") for row in rows)


def overdue_counts(
    rows: Iterable[CaseRow],
    targets: dict[str, SlaTarget],
    limits: dict[str, float],
    now: datetime,
) -> Counter[Labels]:
    """Open cases past a mark by (process, reason); see the module's docstring for the reasons."""
    counts: Counter[Labels] = Counter()
    for row in rows:
        standing = row.sla_standing(targets, now)
        if standing is SlaStanding.DUE:
            counts[row.process, "sla_due"] += 1
        elif standing is SlaStanding.EXPIRED:
            counts[row.process, "sla_expired"] += 1
        limit = limits.get(row.state or "")
        age = row.age_in_state(now)
        if limit is not None and age is not None and age > limit:
            counts[row.process, "wait_limit"] += 1
    return counts


class _Gauge:
    """A gauge over two labels that reads 0 once a pair has no case left: Prometheus keeps a
    series' last value, so a state that emptied would otherwise go on showing its old count."""

    def __init__(
        self, gauge: MetricGauge, labels: tuple[str, str], every: Iterable[Labels]
    ) -> None:
        self.gauge = gauge
        self.labels = labels
        self.shown: set[Labels] = set(every)  # shown from the first count on, 0 if no case

    def show(self, counts: Mapping[Labels, int]) -> None:
        for pair in self.shown | counts.keys():
            self.gauge.set(counts.get(pair, 0), dict(zip(self.labels, pair, strict=True)))
        self.shown |= counts.keys()


class CaseGauges:
    """The two case gauges, on the meter of the runtime that serves the SDK's metrics."""

    def __init__(self, meter: MetricMeter) -> None:
        self.open = _Gauge(
            meter.create_gauge(OPEN_CASES, "Open cases by process and wait state"),
            ("process", "state"),
            [(process, state.value) for process in processes.NAMES for state in WaitState],
        )
        self.overdue = _Gauge(
            meter.create_gauge(OVERDUE_CASES, "Open cases past an SLA mark or wait limit"),
            ("process", "reason"),
            [(process, reason) for process in processes.NAMES for reason in REASONS],
        )

    async def refresh(
        self,
        client: Client,
        targets: dict[str, SlaTarget],
        limits: dict[str, float],
        now: datetime | None = None,
    ) -> None:
        """Count the open cases now (or at `now`) and set both gauges."""
        rows = await list_cases(client, open_query())
        moment = now or datetime.now(UTC)
        self.open.show(open_counts(rows))
        self.overdue.show(overdue_counts(rows, targets, limits, moment))


async def refresh_every(gauges: CaseGauges, client: Client, settings: Settings) -> None:
    """Refresh the gauges until cancelled. A failed round (visibility away) is logged and the
    gauges keep their last values until the next round succeeds."""
    while True:
        try:
            await gauges.refresh(client, settings.sla_targets, settings.wait_limits)
        except Exception as error:  # the worker goes on; visibility may be back next round
            log.warning("case gauges not refreshed", error=str(error))
        await asyncio.sleep(settings.metrics_every_seconds)
