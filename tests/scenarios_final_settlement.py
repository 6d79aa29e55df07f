"""Final-settlement paths of the replay corpus beyond the harness's own (`paid`, `paid_late`).
Each end date is months ahead of the test server's clock (`settlement_end_date`), which starts at
the real date, and each run comes from the payroll calendar: the paths are the same whatever day
they run on."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import WorkflowHandle

from adapters.dfo.sap import Employee
from domain.cases import CaseEvent, WaitState
from domain.forms import format_date
from domain.payroll_calendar import settlement_pay_day
from tests.eventually import eventually
from tests.harness import SETTLEMENT_FORM, Harness, settlement_end_date, settlement_form
from workflows.final_settlement import FinalSettlementWorkflow


async def end_date_moved(h: Harness) -> WorkflowHandle:
    end, moved = await settlement_end_date(h), await settlement_end_date(h, months_ahead=3)
    run = settlement_pay_day(moved)
    number = h.submit_settlement(settlement_form(end))
    handle = await h.start_settlement(number)
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)
    await h.reply(handle, number, f"Sluttdato: {format_date(moved)}")
    await eventually(lambda: format_date(run) in h.replies(number)[-1], "the move told")
    h.sap.run_payroll(run)
    await handle.result()
    return handle


async def withdrawn_on_death(h: Harness) -> WorkflowHandle:
    form = settlement_form(await settlement_end_date(h), SETTLEMENT_FORM)
    number = h.submit_settlement(form.replace("Midlertidig", "Dødsfall"))
    handle = await h.start_settlement(number)
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)
    h.topdesk.set_status(number, "Lukket")
    await handle.signal(FinalSettlementWorkflow.caller_replied, CaseEvent(event_id="closed"))
    await handle.result()
    return handle


async def escalated_unpaid(h: Harness) -> WorkflowHandle:
    end = await settlement_end_date(h)
    run = settlement_pay_day(end)
    number = h.submit_settlement(settlement_form(end))
    handle = await h.start_settlement(number)
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)
    await h.env_sleep(run + timedelta(days=2) - (await h.env.get_current_time()).date())
    await eventually(lambda: bool(h.notes(number)), "the first rung")
    await h.env_sleep(timedelta(days=6))
    await eventually(lambda: len(h.notes(number)) >= 2, "the second rung")
    h.sap.run_payroll(run + timedelta(days=9))
    await handle.result()
    return handle


async def asks_for_the_manager(h: Harness) -> WorkflowHandle:
    end = await settlement_end_date(h)
    form = settlement_form(end, SETTLEMENT_FORM.replace("Leder: Ola Leder", ""))
    number = h.submit_settlement(form)
    handle = await h.start_settlement(number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    await h.reply(handle, number, "Leder: Per Leder")
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)
    h.sap.run_payroll(settlement_pay_day(end))
    await handle.result()
    return handle


async def late_notice(h: Harness) -> WorkflowHandle:
    """A temporary post of over two years ended ten days ahead: the unit is warned, then paid."""
    today = (await h.env.get_current_time()).date()
    end = today + timedelta(days=10)
    h.sap.add_employee(
        Employee(ansattnummer="05001234", startdato=today - timedelta(days=800), sluttdato=end)
    )
    handle = await h.start_settlement(h.submit(settlement_form(end), "Fratredelse"))
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)
    h.sap.run_payroll(settlement_pay_day(end))
    await handle.result()
    return handle


SCENARIOS = {
    "final_settlement/end_date_moved": end_date_moved,
    "final_settlement/withdrawn_on_death": withdrawn_on_death,
    "final_settlement/escalated_unpaid": escalated_unpaid,
    "final_settlement/asks_for_the_manager": asks_for_the_manager,
    "final_settlement/late_notice": late_notice,
}
