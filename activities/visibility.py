"""Visibility activities: Temporal's own index of the cases, and the one place that queries the
search attributes.

The radar's workflow cannot list workflows itself (that is I/O), so this activity asks visibility.
`saksflyt radar`, the CLI, the metrics and the KPI report ask the same questions with the queries
here (through workers/case_index.py); a query here is one the stock CLI takes too
(`temporal workflow list --query "..."`). Overdue is computed from each case's SLA clock and the
targets of now, never read from a stored flag.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel
from temporalio import activity
from temporalio.client import Client, WorkflowExecution

from domain.cases import CaseTimings, rungs_due
from domain.sla import (
    COUNTED_FROM_DUE,
    SlaClock,
    SlaStanding,
    SlaTarget,
    add_business_days,
    standing,
    waited,
)
from workflows import search_attributes as sa

# Only case workflows carry a CaseNumber; the scheduled ones (the end-date watch and the
# quarterly follow-up show a Process and a WaitState too) do not.
CASES = "CaseNumber IS NOT NULL"
OPEN = "ExecutionStatus = 'Running'"


class CaseRow(BaseModel):
    """One case workflow as visibility has it (no history read)."""

    workflow_id: str
    run_id: str | None
    workflow_type: str
    status: str
    process: str
    case_number: str | None = None
    unit: str | None = None
    state: str | None = None
    waiting_since: datetime | None = None
    due: datetime | None = None
    escalation_level: int = 0
    employee_key: str | None = None
    sla: SlaClock | None = None
    start_time: datetime
    close_time: datetime | None = None

    @property
    def open(self) -> bool:
        return self.status == "RUNNING"

    def sla_standing(self, targets: dict[str, SlaTarget], now: datetime) -> SlaStanding | None:
        target = targets.get(self.process)
        if self.sla is None or target is None:
            return None
        return standing(self.sla, target, now)

    def age_in_state(self, now: datetime) -> float | None:
        """Working days in the current wait state, counted as the radar counts them."""
        if self.state is None or self.waiting_since is None:
            return None
        return waited(self.state, self.waiting_since, self.due, now)


def row_of(execution: WorkflowExecution) -> CaseRow:
    attributes = execution.typed_search_attributes
    return CaseRow(
        workflow_id=execution.id,
        run_id=execution.run_id,
        workflow_type=execution.workflow_type,
        status=execution.status.name if execution.status else "UNKNOWN",
        process=attributes.get(sa.PROCESS) or "",
        case_number=attributes.get(sa.CASE_NUMBER),
        unit=attributes.get(sa.UNIT),
        state=attributes.get(sa.WAIT_STATE),
        waiting_since=attributes.get(sa.WAITING_SINCE),
        due=attributes.get(sa.DUE_DATE),
        escalation_level=attributes.get(sa.ESCALATION_LEVEL) or 0,
        employee_key=attributes.get(sa.EMPLOYEE_KEY),
        sla=SlaClock.from_attributes(
            attributes.get(sa.SLA_CLOCK_START), attributes.get(sa.SLA_ELAPSED)
        ),
        start_time=execution.start_time,
        close_time=execution.close_time,
    )


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _when(moment: datetime) -> str:
    return _quoted(moment.astimezone(UTC).isoformat().replace("+00:00", "Z"))


def open_query(
    process: str | None = None,
    state: str | None = None,
    unit: str | None = None,
    employee_key: str | None = None,
    case_number: str | None = None,
    include_closed: bool = False,
) -> str:
    """Open cases (closed ones too with `include_closed`), narrowed by whatever is given."""
    parts = [] if include_closed else [OPEN]
    for name, value in (
        (sa.PROCESS.name, process),
        (sa.WAIT_STATE.name, state),
        (sa.UNIT.name, unit),
        (sa.EMPLOYEE_KEY.name, employee_key),
        (sa.CASE_NUMBER.name, case_number),
    ):
        if value:
            parts.append(f"{name} = {_quoted(value)}")
    return " AND ".join(parts) or CASES


async def list_cases(client: Client, query: str = "") -> list[CaseRow]:
    """Every case workflow matching `query` (visibility SQL, ANDed in), newest first."""
    full = f"{CASES} AND ({query})" if query else CASES
    rows = [row_of(execution) async for execution in client.list_workflows(full)]
    return sorted(rows, key=lambda row: row.start_time, reverse=True)


class StuckCase(BaseModel):
    workflow_id: str
    case_number: str | None
    process: str
    state: str | None
    reason: str  # "wait", "sla_due" or "sla_expired"
    limit_days: float


def stuck_queries(
    limits: dict[str, float], targets: dict[str, SlaTarget], now: datetime
) -> dict[tuple[str, str, float], str]:
    """(reason, state or process, limit) → the visibility query of open cases past that limit.

    A wait counts from `WaitingSince`, or from `DueDate` for the states that wait for a date; an
    SLA from the clock's virtual start (`SlaClockStart`, so paused clocks are left out: a case
    waiting for its caller is not the centre's delay)."""
    queries: dict[tuple[str, str, float], str] = {}
    for state, limit in sorted(limits.items()):
        cutoff = _when(add_business_days(now, -limit))
        since = f"{sa.WAITING_SINCE.name} < {cutoff}"
        if state in COUNTED_FROM_DUE:  # from its own date; from its start if it has none
            since = f"({sa.DUE_DATE.name} < {cutoff} OR ({sa.DUE_DATE.name} IS NULL AND {since}))"
        queries[("wait", state, limit)] = f"{open_query(state=state)} AND {since}"
    for process, target in sorted(targets.items()):
        for reason, days in (("sla_expired", target.expires_days), ("sla_due", target.due_days)):
            cutoff = _when(add_business_days(now, -days))
            query = f"{open_query(process=process)} AND {sa.SLA_CLOCK_START.name} < {cutoff}"
            if reason == "sla_due":  # the handler is told once
                query += f" AND {sa.SLA_NOTIFIED.name} IS NULL"
            queries[(reason, process, days)] = query
    return queries


def rung_due(row: CaseRow, reason: str, limit: float, now: datetime) -> bool:
    """Whether a case past a limit has a rung of the escalation ladder due that it has not
    climbed yet: only then is it flagged, so a case at its rung is not signalled every hour (its
    history would grow for nothing). The case itself decides again when flagged."""
    if reason == "sla_due":
        return True
    if reason == "wait":
        days = row.age_in_state(now) or 0.0
    else:
        days = row.sla.elapsed_at(now) if row.sla else 0.0
    due = rungs_due(timedelta(days=days), timedelta(days=limit), CaseTimings().escalation_every)
    return due > row.escalation_level


async def find_stuck(
    client: Client, limits: dict[str, float], targets: dict[str, SlaTarget], now: datetime
) -> list[StuckCase]:
    """Every open case past a limit with something left to do there, once per reason; an
    expired SLA hides the due notice of the same case (it escalates, which says more)."""
    found: dict[tuple[str, str], StuckCase] = {}
    for (reason, _, limit), query in stuck_queries(limits, targets, now).items():
        for row in await list_cases(client, query):
            if reason == "sla_due" and (row.workflow_id, "sla_expired") in found:
                continue
            if not rung_due(row, reason, limit, now):
                continue
            found[(row.workflow_id, reason)] = StuckCase(
                workflow_id=row.workflow_id,
                case_number=row.case_number,
                process=row.process,
                state=row.state,
                reason=reason,
                limit_days=limit,
            )
    return sorted(found.values(), key=lambda case: (case.workflow_id, case.reason))


class FindStuck(BaseModel):
    now: datetime
    wait_limits: dict[str, float]
    sla_targets: dict[str, SlaTarget]


class StuckCases(BaseModel):
    cases: list[StuckCase]


class VisibilityActivities:
    def __init__(self, client: Client) -> None:
        self.client = client

    @activity.defn
    async def find_stuck_cases(self, request: FindStuck) -> StuckCases:
        found = await find_stuck(self.client, request.wait_limits, request.sla_targets, request.now)
        return StuckCases(cases=found)
