"""More paths of the new-hire and extension routines for the replay corpus: the escalation ladder,
a withdrawal that undoes the registration in SAP, an end date moved while the manager decides, and
the stuck-case radar and an operator acting on a case, and a case of another category handed on
to its own process.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import WorkflowHandle

from domain.cases import CaseEvent, OperatorAction, RadarFlag, WaitState
from tests.eventually import eventually
from tests.harness import Harness
from workflows.new_hire import NewHireWorkflow

ESCALATED = "Avvik, eskalert"
MOVED_END_DATE = "31.12.2028"  # the form says 30.06.2028


def escalations(h: Harness, number: str) -> list[str]:
    """The notes the escalation ladder has left on the case, oldest first."""
    return [note for note in h.notes(number) if note.startswith(ESCALATED)]


async def withdraw(h: Harness, handle: WorkflowHandle, number: str) -> None:
    """The caller closes the case in the portal; TOPdesk's webhook becomes this signal."""
    h.topdesk.set_status(number, "Lukket")
    await handle.signal(NewHireWorkflow.caller_replied, CaseEvent(event_id=f"closed-{number}"))


async def escalated_then_approved(h: Harness) -> WorkflowHandle:
    """The manager decides only after the case has climbed two rungs."""
    number = h.submit()
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.env_sleep(timedelta(days=13))  # rung 1 after 7 days, rung 2 after 12
    await eventually(lambda: len(escalations(h, number)) >= 2, "two rungs")
    await h.decide(handle)
    await handle.result()
    return handle


async def flagged_by_the_radar_then_approved(h: Harness) -> WorkflowHandle:
    """The radar finds the manager's wait past its limit and the SLA due; an operator notes
    the case; then the manager approves."""
    number = h.submit()
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.env_sleep(timedelta(days=6))
    for reason in ("wait", "sla_due"):
        flag = RadarFlag(event_id=f"radar-1/{reason}", reason=reason, limit_days=3)
        await handle.signal(NewHireWorkflow.radar_flagged, flag)
    action = OperatorAction(event_id="op-1", operator="kari@ntnu", action="note", reason="purret")
    await handle.signal(NewHireWorkflow.operator_action, action)
    await eventually(lambda: len(escalations(h, number)) == 1, "the radar's rung")
    await h.wait_progress(handle, lambda p: p.sla_notified and bool(p.operator_actions), "noted")
    await h.decide(handle)
    await handle.result()
    return handle


async def withdrawn_after_registration(h: Harness) -> WorkflowHandle:
    number = h.submit()
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await withdraw(h, handle, number)
    await handle.result()
    return handle


async def end_date_moved_while_approving(h: Harness) -> WorkflowHandle:
    number = h.submit_extension()
    handle = await h.start_extension(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.reply(handle, number, f"Ny sluttdato: {MOVED_END_DATE}")
    await eventually(
        lambda: any(MOVED_END_DATE in reply for reply in h.replies(number)), "the move confirmed"
    )
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle)
    await handle.result()
    return handle


async def hands_a_case_of_another_category_on(h: Harness) -> WorkflowHandle:
    """A "created" webhook named the wrong category: the new hire finds an extension's form,
    starts the extension's workflow for the case, and ends; the extension runs to its end."""
    number = h.submit_extension()
    handle = await h.start(number)
    await handle.result()
    extension = h.client.get_workflow_handle(f"extension-{number}")
    h.started.append(extension)
    await h.wait_state(extension, WaitState.AWAITING_APPROVAL)
    await h.decide(extension)
    await extension.result()
    return handle


SCENARIOS = {
    "new_hire/hands_a_case_of_another_category_on": hands_a_case_of_another_category_on,
    "new_hire/escalated_then_approved": escalated_then_approved,
    "new_hire/withdrawn_after_registration": withdrawn_after_registration,
    "new_hire/flagged_by_the_radar_then_approved": flagged_by_the_radar_then_approved,
    "extension/end_date_moved_while_approving": end_date_moved_while_approving,
}
