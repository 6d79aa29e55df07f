"""A case that reached the wrong process goes on to its own.

The intake routes a created case by the category its webhook names, without reading TOPdesk
(`workers/intake/delivery.py`), and the name is only what an administrator templated. So the
workflow's first read of the case is the check: a case of another category is handed to the
process its category has, before anything is written to it, and this workflow ends as "not
applicable". The hand-off starts that process's workflow under its business key, as the intake
would have (a child left running: ABANDON), or, when it runs already, passes on the caller's
events this workflow received. A finished one is left alone, as the intake leaves it. A case
whose category no process takes gets an internal note for the case handlers (the intake would
have quarantined its webhook), so it is not left unseen.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import FailureError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from domain import processes
    from domain.cases import CaseEvent, CaseTimings, case_summary


async def hand_off(
    category: str | None, case_number: str, timings: CaseTimings, events: list[CaseEvent]
) -> str | None:
    """Start (or feed) the workflow of the process `category` names; its id, or None when no
    process a form starts has that category (the case is then left as it is)."""
    process = processes.started_by_form(category)
    if process is None:
        return None
    workflow_id = process.workflow_id(case_number)
    try:
        await workflow.start_child_workflow(
            process.workflow,
            {"case_number": case_number, "timings": timings},
            id=workflow_id,
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            static_summary=case_summary(process.category, case_number),
        )
    except WorkflowAlreadyStartedError:
        await _pass_on(workflow_id, events)
    return workflow_id


async def _pass_on(workflow_id: str, events: list[CaseEvent]) -> None:
    """The caller's events to the case's running workflow; it counts a repeat once."""
    handle = workflow.get_external_workflow_handle(workflow_id)
    for event in events:
        try:
            await handle.signal("caller_replied", event)
        except FailureError:  # it has ended: as the intake answers such an event, case finished
            workflow.logger.info("%s ended before the event was passed on", workflow_id)
            return


def left_unseen(category: str | None) -> bool:
    """Whether no process carries a case of this category: none a form starts, and not the
    resignation, whose case the workflow the DFØ portal started carries."""
    return processes.of_category(category) is None


def unrouted_note(claimed: str, category: str | None) -> str:
    """For the case handlers, when the webhook named a process the case is not for and its own
    category has none: nothing of saksflyt will handle it, so a person must."""
    return (
        f"Saken ble meldt til saksflyt som «{claimed}», men kategorien er "
        f"«{category or 'ingen'}», som saksflyt ikke behandler. Saken må behandles manuelt."
    )
