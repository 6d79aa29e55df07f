"""Custom search attributes: how case handlers find cases with the stock Temporal tools.

`temporal workflow list --query "WaitState='awaiting_caller' AND WaitingSince < '2026-11-20'"`
works once these are registered (`saksflyt dev` does it; on a cluster, the README lists the
`temporal operator search-attribute create` commands). They are indexed in clear text, so no
personal data ever goes into one: the employee is found by `EmployeeKey`, a keyed hash of the
employee number (`domain.identifiers.employee_key`). Every state change upserts them in one
command, so a workflow's history holds the case's timeline (the KPI report reads it there).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from domain.cases import CaseProgress

PROCESS = SearchAttributeKey.for_keyword("Process")
CASE_NUMBER = SearchAttributeKey.for_keyword("CaseNumber")
WAIT_STATE = SearchAttributeKey.for_keyword("WaitState")
WAITING_SINCE = SearchAttributeKey.for_datetime("WaitingSince")
DUE_DATE = SearchAttributeKey.for_datetime("DueDate")
ESCALATION_LEVEL = SearchAttributeKey.for_int("EscalationLevel")
UNIT = SearchAttributeKey.for_keyword("Unit")
EMPLOYEE_KEY = SearchAttributeKey.for_keyword("EmployeeKey")
# The SLA clock (domain/sla.py): its virtual start while it runs (unset while paused), and its
# reading at the last state change.
SLA_CLOCK_START = SearchAttributeKey.for_datetime("SlaClockStart")
SLA_ELAPSED = SearchAttributeKey.for_float("SlaElapsed")
# The case handler has been told the SLA is due (once; the radar looks no further).
SLA_NOTIFIED = SearchAttributeKey.for_bool("SlaNotified")

# Temporal's own: the moment a schedule meant a run for.
SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


def scheduled_start() -> datetime:
    """The moment the schedule meant this run for; the run's start when started by hand. Never
    the wall clock: a replay must plan the same run."""
    return workflow.info().typed_search_attributes.get(SCHEDULED_START) or workflow.now()


ALL = (
    PROCESS,
    CASE_NUMBER,
    UNIT,
    WAIT_STATE,
    WAITING_SINCE,
    DUE_DATE,
    ESCALATION_LEVEL,
    EMPLOYEE_KEY,
    SLA_CLOCK_START,
    SLA_ELAPSED,
    SLA_NOTIFIED,
)


def case_attributes(progress: CaseProgress, had_due: bool) -> list[SearchAttributeUpdate[Any]]:
    """Every attribute of the case, in the one upsert of a state change; `had_due`: a due date
    was set before, and is unset now unless the case has one."""
    updates: list[SearchAttributeUpdate[Any]] = [
        PROCESS.value_set(progress.process),
        CASE_NUMBER.value_set(progress.case_number),
        WAIT_STATE.value_set(progress.state.value),
        WAITING_SINCE.value_set(progress.since),
        SLA_ELAPSED.value_set(progress.sla.elapsed),
        # Set from the start, so `EscalationLevel < 2` also finds the cases never escalated.
        ESCALATION_LEVEL.value_set(progress.escalation_level),
    ]
    if progress.due is not None:
        updates.append(DUE_DATE.value_set(progress.due))
    elif had_due:
        updates.append(DUE_DATE.value_unset())
    if progress.sla.started is not None:
        updates.append(SLA_CLOCK_START.value_set(progress.sla.started))
    else:
        updates.append(SLA_CLOCK_START.value_unset())
    if progress.unit:
        updates.append(UNIT.value_set(progress.unit))
    if progress.employee_key:
        updates.append(EMPLOYEE_KEY.value_set(progress.employee_key))
    return updates
