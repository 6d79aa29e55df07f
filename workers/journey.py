"""One case's journey for `saksflyt case`: every workflow run of the case, told from its history.

Each run's history is read event by event into steps (`journey_steps.py`: state changes,
activities, timers, signals with their sender, children, the end), and the running workflow is
asked where it waits now.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from pydantic import BaseModel
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table
from temporalio.client import Client

from domain import processes
from domain.cases import STATE_TEXT, CaseProgress, WaitState
from workers.case_index import CaseRow, list_cases
from workers.cases import CaseLine, line_of, local, standing_text, state_text
from workers.journey_steps import Step, journey_steps, run_summary
from workers.settings import Settings

QUERY_TIMEOUT = timedelta(seconds=5)
CASE_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


class RunJourney(BaseModel):
    """One workflow run of the case (a case may have several: a resignation and its final
    settlement, or a run started again by `saksflyt bulk retry`)."""

    case: CaseLine
    workflow_type: str
    summary: str | None
    steps: list[Step]
    progress: CaseProgress | None  # the running workflow's own answer; None when closed
    progress_error: str | None = None


class Journey(BaseModel):
    case_number: str
    runs: list[RunJourney]


def case_number_query(case_number: str) -> str:
    """The visibility query of one case; the number is checked so that it cannot change the
    query's meaning."""
    if CASE_NUMBER.fullmatch(case_number) is None:
        raise ValueError(f"not a case number: {case_number!r}")
    return f"CaseNumber='{case_number}'"


async def case_journey(
    client: Client, settings: Settings, case_number: str, now: datetime
) -> Journey:
    """Every workflow of the case, oldest first, each with its steps and where it waits now."""
    rows = await list_cases(client, case_number_query(case_number))
    runs = [await _run_journey(client, settings, row, now) for row in reversed(rows)]
    return Journey(case_number=case_number, runs=runs)


async def _run_journey(
    client: Client, settings: Settings, row: CaseRow, now: datetime
) -> RunJourney:
    handle = client.get_workflow_handle(row.workflow_id, run_id=row.run_id)
    history = await handle.fetch_history()
    summary = await run_summary(history, client.data_converter)
    progress, error = None, None
    if row.status == "RUNNING":
        try:
            progress = _shown(
                await handle.query("progress", result_type=CaseProgress, rpc_timeout=QUERY_TIMEOUT)
            )
        except Exception as failure:  # no worker, or an old workflow without the query
            error = str(failure) or type(failure).__name__
    return RunJourney(
        case=line_of(row, settings, now),
        workflow_type=row.workflow_type,
        summary=summary,
        steps=await journey_steps(history, client.data_converter),
        progress=progress,
        progress_error=error,
    )


def print_journey(console: Console, journey: Journey) -> None:
    if not journey.runs:
        console.print(f"No workflow knows case {journey.case_number}.")
        return
    for run in journey.runs:
        line = run.case
        title = run.summary or f"{processes.label(line.process)} {line.case_number}"
        console.print(f"[bold]{escape(title)}[/]  {line.workflow_id} ({line.status.lower()})")
        # 80 columns hold the time and the kind whole; a step's text wraps, and a word too long
        # for what is left (a workflow id, a host name) is folded, never cut.
        table = Table(
            Column("time", no_wrap=True),
            Column("what", no_wrap=True),
            Column("step", overflow="fold"),
            box=box.SIMPLE_HEAD,
            show_edge=False,
        )
        for step in run.steps:
            table.add_row(local(step.time, seconds=True), step.kind, escape(_step_text(step)))
        console.print(table)
        console.print(_now_line(run))
        console.print()


def _step_text(step: Step) -> str:
    """The step with who sent it, unless its text already names them (an operator action)."""
    if step.identity and step.identity not in step.text:
        return f"{step.text} by {step.identity}"
    return step.text


def _shown(progress: CaseProgress) -> CaseProgress:
    """The progress as the journey shows it, in the table and in JSON alike: what the caller was
    asked may quote what they wrote (an employee number, say); the case in TOPdesk shows it."""
    if progress.state is WaitState.AWAITING_CALLER:
        return progress.model_copy(update={"detail": ""})
    return progress


def _now_line(run: RunJourney) -> str:
    line = run.case
    if line.status != "RUNNING":
        return f"Closed: {line.status.lower()}."
    if run.progress is not None:
        wait = f"Now: {STATE_TEXT[run.progress.state]} since {local(run.progress.since)}"
        if run.progress.detail:
            wait += f" ({run.progress.detail})"
    else:
        wait = f"Now: {state_text(line.state)} since {local(line.since)}"
        wait += f" (query failed: {run.progress_error})"
    deadlines = [f"due {local(line.due)}"] if line.due else []
    if line.sla_due:
        deadlines.append(f"SLA due {local(line.sla_due)}")
    if line.sla_expires:
        deadlines.append(f"SLA expires {local(line.sla_expires)}")
    nexts = "; ".join(deadlines) or "no deadline"
    return f"{escape(wait)}.\nNext: {nexts}. SLA: {standing_text(line.sla_standing) or 'paused'}."
