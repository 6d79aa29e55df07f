"""What the case handlers' lists read: the open cases and the radar's (one case's journey is
`workers.journey`).

Everything comes from Temporal's visibility, through the case index (`workers.case_index`).
Overdue and age are derived from the SLA clock at the moment of asking (`domain.sla`), never
stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel
from rich import box
from rich.table import Column, Table
from temporalio.client import Client

from domain import processes, sla
from domain.cases import OSLO, STATE_TEXT, WaitState
from domain.identifiers import employee_key
from workers.case_index import CaseRow, StuckCase, find_stuck, list_cases, open_query
from workers.settings import Settings
from workflows.case_workflow import CaseWorkflow

OPERATOR_ACTION = CaseWorkflow.operator_action.__name__


class CaseFilter(BaseModel):
    """The filters of `saksflyt cases`; the first four go to the server as a visibility query."""

    process: str | None = None
    state: str | None = None
    unit: str | None = None
    employee_number: str | None = None  # hashed before it leaves this process
    older_than: float | None = None  # business days in the current state
    overdue: bool = False  # past the SLA's due (or expiry) now
    include_closed: bool = False


class CaseLine(BaseModel):
    """One case as the list shows it, with what is derived at the moment of asking."""

    workflow_id: str
    run_id: str | None
    status: str
    process: str
    case_number: str | None
    state: str | None
    since: datetime | None
    age_in_state: float | None  # business days
    due: datetime | None
    sla_standing: str | None
    sla_due: datetime | None
    sla_expires: datetime | None
    escalation_level: int
    unit: str | None


async def select_cases(
    client: Client, settings: Settings, filters: CaseFilter, now: datetime
) -> list[CaseLine]:
    """The cases the filters select, newest first. Age and overdue need the clock, so they are
    filtered here; the rest is the server's."""
    key = None
    if filters.employee_number:
        key = employee_key(filters.employee_number, settings.pseudonym_key_for_use())
    query = open_query(
        filters.process, filters.state, filters.unit, key, include_closed=filters.include_closed
    )
    lines = [line_of(row, settings, now) for row in await list_cases(client, query)]
    if filters.older_than is not None:
        limit = filters.older_than
        lines = [line for line in lines if (line.age_in_state or 0.0) > limit]
    if filters.overdue:
        overdue = (sla.SlaStanding.DUE, sla.SlaStanding.EXPIRED)
        lines = [line for line in lines if line.sla_standing in overdue]
    return lines


def line_of(row: CaseRow, settings: Settings, now: datetime) -> CaseLine:
    target = settings.sla_targets.get(row.process)
    standing = row.sla_standing(settings.sla_targets, now)
    clock = row.sla
    open_ = row.open
    return CaseLine(
        workflow_id=row.workflow_id,
        run_id=row.run_id,
        status=row.status,
        process=row.process,
        case_number=row.case_number,
        state=row.state,
        since=row.waiting_since,
        age_in_state=row.age_in_state(now) if open_ and row.waiting_since else None,
        due=row.due,
        sla_standing=standing.value if standing is not None and open_ else None,
        sla_due=sla.due_at(clock, target) if clock and target and open_ else None,
        sla_expires=sla.expires_at(clock, target) if clock and target and open_ else None,
        escalation_level=row.escalation_level or 0,
        unit=row.unit,
    )


def cases_table(lines: Sequence[CaseLine], title: str) -> Table:
    """The list at 80 columns, every word whole: a state in its words, which wrap, rather than
    `awaiting_approval` cut to `awai…`. The age in the state stands for its start, and the unit
    is left to `--unit`, `--json` and `saksflyt case`: with them no table fits."""
    table = _narrow_table(
        Column("case", no_wrap=True, min_width=10),
        "process",
        "state",
        Column("age (bd)", justify="right"),
        "due",
        "SLA",
        Column("esc.", justify="right"),
        title=title,
    )
    for line in lines:
        state = state_text(line.state)
        if line.status != "RUNNING":
            state = f"{state} ({line.status.lower()})"
        age = f"{line.age_in_state:.1f}" if line.age_in_state is not None else ""
        table.add_row(
            line.case_number or "",
            processes.label(line.process),
            state,
            age,
            day(line.due),
            standing_text(line.sla_standing),
            str(line.escalation_level),
        )
    return table


def _narrow_table(*columns: Column | str, title: str) -> Table:
    """A table drawn as `saksflyt` shows it (`workers.cli.common.show`): no box around it, no
    padding at its edges, so that its width is all columns."""
    return Table(*columns, title=title, box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)


def state_text(state: str | None) -> str:
    """A wait state in the words TOPdesk and the Temporal UI use too (`domain.cases.STATE_TEXT`);
    a value no state has any more is shown as it is."""
    if state is None:
        return "?"
    try:
        return STATE_TEXT[WaitState(state)]
    except ValueError:
        return state


def standing_text(standing: str | None) -> str:
    colour = {"on_time": "green", "due": "yellow", "expired": "red"}.get(standing or "")
    return f"[{colour}]{standing}[/]" if colour else ""


# -- the radar --------------------------------------------------------------------------------


async def stuck_cases(client: Client, settings: Settings, now: datetime) -> list[StuckCase]:
    """What the scheduled radar finds now, by the very same function."""
    return await find_stuck(client, settings.wait_limits, settings.sla_targets, now)


def radar_table(cases: Sequence[StuckCase]) -> Table:
    """The radar's list at 80 columns, as the case list (a case without a number by its
    workflow id)."""
    table = _narrow_table(
        Column("case", no_wrap=True, min_width=10),
        "process",
        "state",
        "reason",
        Column("limit (bd)", justify="right"),
        title="Radar",
    )
    for case in cases:
        table.add_row(
            case.case_number or case.workflow_id,
            processes.label(case.process),
            state_text(case.state),
            case.reason,
            f"{case.limit_days:g}",
        )
    table.caption = f"{len(cases)} cases past their limit"
    return table


def day(moment: datetime | None) -> str:
    """A due date as the case's details in the Temporal UI give it ("frist 19.11")."""
    return moment.astimezone(OSLO).strftime("%d.%m") if moment else ""


def local(moment: datetime | None, seconds: bool = False) -> str:
    if moment is None:
        return ""
    return moment.astimezone(OSLO).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
