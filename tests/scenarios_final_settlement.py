"""Final-settlement paths of the replay corpus beyond the harness's own (`paid`, `paid_late`)."""

from __future__ import annotations

from datetime import date, timedelta

from temporalio.client import WorkflowHandle

from domain.cases import CaseEvent, WaitState
from tests.eventually import eventually
from tests.harness import SETTLEMENT_FORM, Harness
from workflows.final_settlement import FinalSettlementWorkflow


async def end_date_moved(h: Harness) -> WorkflowHandle:
    number = h.submit_settlement()
    handle = await h.start_settlement(number)
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)
    await h.reply(handle, number, "Sluttdato: 28.02.2027")
    await eventually(lambda: "12.03.2027" in h.replies(number)[-1], "the move told")
    h.sap.run_payroll(date(2027, 3, 12))
    await handle.result()
    return handle


async def withdrawn_on_death(h: Harness) -> WorkflowHandle:
    number = h.submit_settlement(SETTLEMENT_FORM.replace("Midlertidig", "Dødsfall"))
    handle = await h.start_settlement(number)
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)
    h.topdesk.set_status(number, "Lukket")
    await handle.signal(FinalSettlementWorkflow.caller_replied, CaseEvent(event_id="closed"))
    await handle.result()
    return handle


async def escalated_unpaid(h: Harness) -> WorkflowHandle:
    number = h.submit_settlement()
    handle = await h.start_settlement(number)
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)
    await h.env_sleep(date(2027, 2, 14) - (await h.env.get_current_time()).date())
    await eventually(lambda: bool(h.notes(number)), "the first rung")
    await h.env_sleep(timedelta(days=6))
    await eventually(lambda: len(h.notes(number)) >= 2, "the second rung")
    h.sap.run_payroll(date(2027, 2, 21))
    await handle.result()
    return handle


async def asks_for_the_manager(h: Harness) -> WorkflowHandle:
    number = h.submit_settlement(SETTLEMENT_FORM.replace("Leder: Ola Leder", ""))
    handle = await h.start_settlement(number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    await h.reply(handle, number, "Leder: Per Leder")
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)
    h.sap.run_payroll(date(2027, 2, 12))
    await handle.result()
    return handle


SCENARIOS = {
    "final_settlement/end_date_moved": end_date_moved,
    "final_settlement/withdrawn_on_death": withdrawn_on_death,
    "final_settlement/escalated_unpaid": escalated_unpaid,
    "final_settlement/asks_for_the_manager": asks_for_the_manager,
}
