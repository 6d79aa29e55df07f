"""Paths of issue 13 items 7 and 9 for the replay corpus: a reply to the manager's rejection that
changes nothing is asked again (then a changed one registered anew), and a system's refusal in
the middle of a case waits for an operator, who retries the step or ends the case."""

from __future__ import annotations

import uuid

from temporalio.client import WorkflowHandle

from adapters.topdesk.simulator.config import FaultRule
from domain.cases import CaseProgress, OperatorAction, WaitState
from domain.payroll_calendar import settlement_pay_day
from tests.harness import Harness, settlement_end_date, settlement_form
from workflows.new_hire import NewHireWorkflow

REASON = "Feil stillingsprosent"
NO_CHANGE = "Jeg har snakket med leder, det stemmer som det står."
TOPDESK_REFUSES_WRITES = FaultRule(kind="status", method="PATCH", status=403, times=None)


async def rejected(h: Harness, handle: WorkflowHandle) -> None:
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle, approved=False, reason=REASON)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)


async def asked_again(h: Harness, handle: WorkflowHandle, number: str, replies: int) -> str:
    """The caller answers without changing the form: asked again, the `replies`-th reply."""
    await h.reply(handle, number, NO_CHANGE)
    await h.wait_replies(number, replies)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    return h.replies(number)[-1]


async def rejected_reply_unchanged_then_changed(h: Harness) -> WorkflowHandle:
    number = h.submit()
    handle = await h.start(number)
    await rejected(h, handle)
    await asked_again(h, handle, number, 3)  # receipt, the rejection, asked again
    await h.reply(handle, number, "Stillingsprosent: 80")
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle)
    await handle.result()
    return handle


async def extension_rejected_reply_unchanged_then_changed(h: Harness) -> WorkflowHandle:
    number = h.submit_extension()
    handle = await h.start_extension(number)
    await rejected(h, handle)
    await asked_again(h, handle, number, 3)
    await h.reply(handle, number, "Ny sluttdato: 31.05.2028")
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle)
    await handle.result()
    return handle


def needs_operator(progress: CaseProgress) -> bool:
    return progress.state is WaitState.NEEDS_OPERATOR


async def operator(handle: WorkflowHandle, action: str, reason: str = "testen") -> None:
    """What `saksflyt bulk retry|cancel` sends a case waiting for an operator."""
    await handle.signal(
        NewHireWorkflow.operator_action,
        OperatorAction(event_id=str(uuid.uuid4()), operator="ola", action=action, reason=reason),
    )


async def move_refused(h: Harness) -> tuple[str, WorkflowHandle]:
    """A new hire waits for the manager; the caller moves the start date, and SAP refuses the
    move for good (until the fault is cleared): the case waits for an operator."""
    number = h.submit()
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    h.sap.inject_fault("refused", times=1000)
    await h.reply(handle, number, "Startdato: 15.03.2027")
    await h.wait_progress(handle, needs_operator, "the case waiting for an operator")
    return number, handle


async def sap_move_refused_then_ended(h: Harness) -> WorkflowHandle:
    _, handle = await move_refused(h)
    await operator(handle, "cancel", "føres manuelt")
    await handle.result()
    return handle


async def approved_write_refused(h: Harness) -> tuple[str, WorkflowHandle]:
    """Approved, the case would be completed, but TOPdesk refuses every write (403, the case
    archived): the case waits for an operator, and the note to the handler is refused too."""
    number = h.submit()
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    h.simulator.inject_fault(TOPDESK_REFUSES_WRITES)
    await h.decide(handle)
    await h.wait_progress(handle, needs_operator, "the case waiting for an operator")
    return number, handle


async def topdesk_refused_then_retried(h: Harness) -> WorkflowHandle:
    _, handle = await approved_write_refused(h)
    h.simulator.clear_faults()
    await operator(handle, "retry")
    await handle.result()
    return handle


async def letter_refused(h: Harness) -> tuple[str, WorkflowHandle]:
    """A final settlement whose termination letter the archive refuses for good (until the
    fault is cleared): the case waits for an operator before anything is registered in SAP."""
    h.archive.inject_fault("refused", times=1000)
    number = h.submit_settlement(settlement_form(await settlement_end_date(h)))
    handle = await h.start_settlement(number)
    await h.wait_progress(handle, needs_operator, "the case waiting for an operator")
    return number, handle


async def archive_refused_letter_then_retried(h: Harness) -> WorkflowHandle:
    _, handle = await letter_refused(h)
    h.archive.store.clear_faults()
    await operator(handle, "retry", "arkivet rettet")
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)
    h.sap.run_payroll(settlement_pay_day(await settlement_end_date(h)))
    await handle.result()
    return handle


SCENARIOS = {
    "new_hire/rejected_reply_unchanged_then_changed": rejected_reply_unchanged_then_changed,
    "extension/rejected_reply_unchanged_then_changed": (
        extension_rejected_reply_unchanged_then_changed
    ),
    "new_hire/sap_move_refused_then_ended": sap_move_refused_then_ended,
    "new_hire/topdesk_refused_then_retried": topdesk_refused_then_retried,
    "final_settlement/archive_refused_letter_then_retried": archive_refused_letter_then_retried,
}
