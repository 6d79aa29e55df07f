"""What case handlers and process owners ask of Temporal: open cases, one case's journey, the
radar, the KPI report."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from domain.cases import WaitState
from domain.processes import NAMES as PROCESSES
from workers.cli.common import (
    BAD_INPUT,
    Failure,
    choice,
    days,
    on_temporal,
    print_json,
    settings_of,
    show,
)

if TYPE_CHECKING:
    from workers.cases import CaseLine, StuckCase
    from workers.journey import Journey

AS_JSON = Annotated[bool, typer.Option("--json", help="as JSON, for scripts")]

STATES = [state.value for state in WaitState]


def cases(
    ctx: typer.Context,
    process: Annotated[
        str | None, typer.Option(parser=choice(PROCESSES), metavar="|".join(PROCESSES))
    ] = None,
    state: Annotated[
        str | None, typer.Option(parser=choice(STATES), metavar="|".join(STATES))
    ] = None,
    unit: Annotated[str | None, typer.Option(help="the employee's unit")] = None,
    older_than: Annotated[
        float | None,
        typer.Option(parser=days, metavar="N", help="more than N working days in its state"),
    ] = None,
    overdue: Annotated[bool, typer.Option(help="past its SLA's due mark")] = False,
    employee: Annotated[
        str | None,
        typer.Option(metavar="NUMBER", help="an employee number (looked up by its pseudonym)"),
    ] = None,
    include_closed: Annotated[bool, typer.Option("--all", help="closed cases too")] = False,
    as_json: AS_JSON = False,
) -> int:
    """Open cases, filtered: state, since, age, due, SLA, escalation."""
    from workers.cases import CaseFilter, cases_table, select_cases
    from workers.temporal import connect

    settings = settings_of(ctx)
    filters = CaseFilter(
        process=process,
        state=state,
        unit=unit,
        employee_number=employee,
        older_than=older_than,
        overdue=overdue,
        include_closed=include_closed,
    )

    async def run() -> list[CaseLine]:
        return await select_cases(await connect(settings), settings, filters, datetime.now(UTC))

    try:
        lines = on_temporal(settings, run)
    except ValueError as error:  # the dev pseudonym key off this machine
        raise Failure(str(error), BAD_INPUT) from None
    if as_json:
        print_json(lines)
        return 0
    what = "cases" if include_closed else "open cases"
    show(cases_table(lines, f"{len(lines)} {what}"))
    return 0


def case(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="the TOPdesk case number, e.g. I2411-0042")],
    as_json: AS_JSON = False,
) -> int:
    """One case's journey: steps, who signalled what, the next deadline; exit 1 if no workflow
    knows the case."""
    from workers.journey import case_journey, print_journey
    from workers.temporal import connect

    settings = settings_of(ctx)

    async def run() -> Journey:
        return await case_journey(await connect(settings), settings, number, datetime.now(UTC))

    try:
        journey = on_temporal(settings, run)
    except ValueError as error:  # not a case number
        raise Failure(str(error), BAD_INPUT) from None
    if as_json:
        print(journey.model_dump_json(indent=2))
    else:
        print_journey(Console(), journey)
    return 0 if journey.runs else 1


def radar(ctx: typer.Context, as_json: AS_JSON = False) -> int:
    """The cases past a limit, as the stuck-case radar sees them now."""
    from workers.cases import radar_table, stuck_cases
    from workers.temporal import connect

    settings = settings_of(ctx)

    async def run() -> list[StuckCase]:
        return await stuck_cases(await connect(settings), settings, datetime.now(UTC))

    found = on_temporal(settings, run)
    if as_json:
        print_json(found)
    else:
        show(radar_table(found))
    return 0


def report(
    ctx: typer.Context,
    start: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"], metavar="YYYY-MM-DD")],
    end: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"], metavar="YYYY-MM-DD")],
    out: Annotated[
        Path | None, typer.Option(file_okay=False, help="folder (default: <data dir>/report)")
    ] = None,
) -> int:
    """The KPI report for the days FROM to TO (both included), as HTML with plots."""
    from workers.report import write_report  # another module; imported only when asked for
    from workers.temporal import connect

    if end < start:
        raise typer.BadParameter(
            f"{end:%Y-%m-%d} is before --from {start:%Y-%m-%d}", ctx, param_hint="'--to'"
        )
    settings = settings_of(ctx)
    out_dir = out or settings.data_dir / "report"
    _writable(out_dir)  # before asking Temporal for anything

    async def run() -> Path:
        return await write_report(
            await connect(settings), start.date(), end.date(), out_dir, settings
        )

    try:
        print(on_temporal(settings, run))
    except OSError as error:
        raise Failure(f"cannot write the report to {out_dir}: {error.strerror or error}") from None
    return 0


def _writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise Failure(f"cannot write the report to {folder}: {error.strerror or error}") from None
