"""The intake's `/metrics`: its durable state and what it did with events, for Prometheus.

Read from the files at each scrape, so they hold across restarts and intakes sharing a file:

    saksflyt_quarantine_events                 distinct events in the quarantine (rows)
    saksflyt_quarantine_deliveries             the deliveries those rows stand for (repeats)
    saksflyt_quarantine_max_events             the cap; at it, a new event is answered 503
    saksflyt_outbox_events{waiting_for}        events in the outbox: "temporal" (routed) or
                                               "topdesk" (a DFØ decision not yet routed)

Counted by this process since it started:

    saksflyt_quarantine_deliveries_total{source}   deliveries it put in the quarantine
    saksflyt_quarantine_full_total                 events it could not keep: the quarantine full

Text format 0.0.4, written by hand: a handful of lines needs no client library (the worker's
metrics come from the Temporal SDK's own exporter, `workers/metrics.py`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class Counts:
    """What this process counted; the intake adds to it as it goes."""

    quarantined: Counter[str] = field(default_factory=Counter)  # by source
    quarantine_full: int = 0


@dataclass(frozen=True)
class State:
    """The files' state at the scrape."""

    quarantine_events: int
    quarantine_deliveries: int
    quarantine_max_events: int
    outbox_waiting: dict[str, int]


def exposition(state: State, counts: Counts) -> str:
    lines: list[str] = []

    def metric(name: str, kind: str, help: str, samples: dict[str, int]) -> None:
        lines.extend([f"# HELP {name} {help}", f"# TYPE {name} {kind}"])
        lines.extend(f"{name}{labels} {value}" for labels, value in samples.items())

    metric(
        "saksflyt_quarantine_events",
        "gauge",
        "Distinct events in the intake's quarantine.",
        {"": state.quarantine_events},
    )
    metric(
        "saksflyt_quarantine_deliveries",
        "gauge",
        "Deliveries the quarantine's events stand for, repeats included.",
        {"": state.quarantine_deliveries},
    )
    metric(
        "saksflyt_quarantine_max_events",
        "gauge",
        "The quarantine's cap of distinct events.",
        {"": state.quarantine_max_events},
    )
    metric(
        "saksflyt_outbox_events",
        "gauge",
        "Events in the intake's outbox, by what they wait for.",
        {f'{{waiting_for="{what}"}}': n for what, n in sorted(state.outbox_waiting.items())},
    )
    metric(
        "saksflyt_quarantine_deliveries_total",
        "counter",
        "Deliveries this intake put in the quarantine since it started.",
        {f'{{source="{source}"}}': counts.quarantined[source] for source in ("dfo", "topdesk")},
    )
    metric(
        "saksflyt_quarantine_full_total",
        "counter",
        "Events this intake could not keep since it started: the quarantine was full.",
        {"": counts.quarantine_full},
    )
    return "\n".join(lines) + "\n"
