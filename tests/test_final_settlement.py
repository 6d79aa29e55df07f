"""Final settlement (seed 001, "Annen fratredelse"): the form's rules, and the workflow on the
time-skipping test server, waiting on the payroll calendar for the run of the month after."""

from __future__ import annotations

from datetime import date

from temporalio.client import WorkflowHandle

from adapters.dfo.sap import Employee
from domain.cases import CaseOutcome, WaitState
from domain.final_settlement import (
    TerminationReason,
    check_form,
)
from tests.harness import Harness
from workflows.final_settlement import FinalSettlementWorkflow

FORM = """Skjema: Fratredelse
Navn: Kari Nordmann
Ansattnummer: 05001234
Sluttdato: 31.01.2027
Årsak: Midlertidig"""


def test_the_form_reads_every_reason_of_seed_001():
    for word, reason in [
        ("Midlertidig", TerminationReason.TEMPORARY_POST_ENDS),
        ("manglende finansiering", TerminationReason.NO_FUNDING),
        ("Hovedstilling utenfor NTNU", TerminationReason.MAIN_POSITION_ELSEWHERE),
        ("Dødsfall", TerminationReason.DEATH),
        ("Oppsigelse", TerminationReason.RESIGNATION),
    ]:
        form = check_form([FORM.replace("Midlertidig", word)]).form
        assert form is not None and form.reason is reason


def test_an_unknown_reason_names_the_choices():
    [problem] = check_form([FORM.replace("Midlertidig", "Lei av det")]).problems
    assert problem.startswith("Årsak er ugyldig") and "Dødsfall" in problem


async def start(h: Harness, text: str = FORM) -> tuple[str, WorkflowHandle]:
    number = h.submit_settlement(text)
    return number, await h.start_settlement(number)


async def test_the_settlement_waits_on_hold_for_the_run_of_the_month_after_and_completes_paid(
    h: Harness,
):
    number, handle = await start(h)
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)

    assert h.status(number) == "På vent"
    hold = h.replies(number)[-1]
    assert "12.02.2027" in hold and "31.01.2027" in hold  # why, and until when (seed 000)
    h.sap.run_payroll(date(2027, 2, 12))
    result = await handle.result()

    assert result.outcome is CaseOutcome.PAID and result.paid_on == date(2027, 2, 12)
    assert h.topdesk.get_incident(number).completed
    assert "utbetalt" in h.replies(number)[-1]
    assert (await h.env.get_current_time()).date() >= date(2027, 2, 13)  # a durable timer waited


async def test_an_unpaid_settlement_is_told_to_the_case_handler_and_asked_again_daily(h: Harness):
    number, handle = await start(h)
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)
    today = (await h.env.get_current_time()).date()
    await h.env_sleep(date(2027, 2, 15) - today)

    [note] = h.notes(number)
    assert "ikke bekreftet utbetalt" in note
    h.sap.run_payroll(date(2027, 2, 15))
    assert (await handle.result()).outcome is CaseOutcome.PAID


async def test_what_the_caller_writes_while_on_hold_goes_to_the_case_handler(h: Harness):
    number, handle = await start(h)
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)
    await h.reply(handle, number, "Hei, når kommer pengene?")
    await h.wait_until(lambda: bool(h.notes(number)), "a note for the case handler")
    await h.wait_until(lambda: h.status(number) == "På vent", "the case back on hold")

    assert (await handle.query(FinalSettlementWorkflow.progress)).due is not None


async def test_an_unknown_employee_is_asked_of_the_caller(h: Harness):
    number, handle = await start(h, FORM.replace("05001234", "05009999"))
    await h.wait_state(handle, WaitState.AWAITING_CALLER)

    assert "05009999 finnes ikke i SAP" in h.replies(number)[-1]
    assert h.status(number) == "Venter på bruker"
    history = await handle.fetch_history()
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert "sap.register_final_settlement" not in scheduled


def test_a_settlement_paid_twice_is_impossible(tmp_path):
    from adapters.dfo.sap import SapStub

    sap = SapStub(tmp_path / "sap.db")
    sap.add_employee(Employee(ansattnummer="05001234", startdato=date(2025, 1, 1)))
    first = sap.register_final_settlement("05001234", date(2027, 1, 31), date(2027, 2, 12), "k")
    again = sap.register_final_settlement("05001234", date(2027, 1, 31), date(2027, 2, 12), "k")
    assert again == first
    sap.run_payroll(date(2027, 2, 11))
    assert not sap.settlement_status(first.id).utbetalt
    sap.run_payroll(date(2027, 2, 12))
    assert sap.settlement_status(first.id).utbetalt
