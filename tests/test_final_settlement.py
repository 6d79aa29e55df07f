"""Final settlement (seed 001, "Annen fratredelse"): the form's rules, and the workflow on the
time-skipping test server, waiting on the payroll calendar for the run of the month after."""

from __future__ import annotations

from datetime import date, timedelta

from temporalio.client import WorkflowHandle

from adapters.dfo.archive import DocumentType, JournalPost
from adapters.dfo.sap import Employee
from adapters.dfo.spk import PensionStatus, PensionType
from domain.cases import ESCALATION_LADDER, CaseEvent, CaseOutcome, WaitState
from domain.employment import Employment
from domain.final_settlement import (
    FinalSettlementInput,
    SettlementOrder,
    TerminationReason,
    check_form,
    late_notice_warning,
)
from domain.forms import format_date
from domain.payroll_calendar import settlement_pay_day
from tests.eventually import eventually
from tests.harness import Harness
from tests.harness import settlement_end_date as end_date
from workflows.final_settlement import FinalSettlementWorkflow

FORM = """Skjema: Fratredelse
Navn: Kari Nordmann
Ansattnummer: 05001234
Sluttdato: 31.01.2027
Årsak: Midlertidig
Leder: Ola Leder"""


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
    """The form sent with the end date `end_date(h)` in place of the template's."""
    number = h.submit_settlement(text.replace("31.01.2027", format_date(await end_date(h))))
    return number, await h.start_settlement(number)


async def test_the_settlement_waits_on_hold_for_the_run_of_the_month_after_and_completes_paid(
    h: Harness,
):
    end = await end_date(h)
    run = settlement_pay_day(end)
    number, handle = await start(h)
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)

    assert h.status(number) == "På vent"
    hold = h.replies(number)[-1]
    assert format_date(run) in hold and format_date(end) in hold  # why, until when (seed 000)
    h.sap.run_payroll(run)
    result = await handle.result()

    assert result.outcome is CaseOutcome.PAID and result.paid_on == run
    assert h.topdesk.get_incident(number).completed
    assert "utbetalt" in h.replies(number)[-1]
    assert (await h.env.get_current_time()).date() > run  # a durable timer waited


async def test_an_unpaid_settlement_is_told_to_the_case_handler_and_asked_again_daily(h: Harness):
    run = settlement_pay_day(await end_date(h))
    number, handle = await start(h)
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)
    today = (await h.env.get_current_time()).date()
    await h.env_sleep(run + timedelta(days=3) - today)

    [note] = h.notes(number)
    assert "ikke bekreftet utbetalt" in note
    h.sap.run_payroll(run + timedelta(days=3))
    assert (await handle.result()).outcome is CaseOutcome.PAID


async def test_what_the_caller_writes_while_on_hold_goes_to_the_case_handler(h: Harness):
    number, handle = await start(h)
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)
    await h.reply(handle, number, "Hei, når kommer pengene?")
    await eventually(lambda: bool(h.notes(number)), "a note for the case handler")
    await eventually(lambda: h.status(number) == "På vent", "the case back on hold")

    assert (await handle.query(FinalSettlementWorkflow.progress)).due is not None


def temporary(start: date, end: date) -> Employment:
    return Employment(employee_number="05001234", start_date=start, end_date=end)


def test_ending_a_temporary_post_of_over_a_year_late_warns_the_unit():
    form = check_form([FORM.replace("31.01.2027", "30.06.2027")]).form
    assert form is not None
    long = temporary(date(2025, 1, 1), date(2027, 6, 30))
    assert late_notice_warning(form, long, date(2027, 5, 30)) is None  # a month before: in time
    warning = late_notice_warning(form, long, date(2027, 5, 31))
    assert warning is not None and "30.06.2027" in warning
    funding = form.model_copy(update={"reason": TerminationReason.NO_FUNDING})
    assert late_notice_warning(funding, long, date(2027, 6, 1)) is not None


def test_no_late_notice_warning_for_a_resignation_a_death_a_short_or_a_permanent_post():
    form = check_form([FORM.replace("31.01.2027", "30.06.2027")]).form
    assert form is not None
    late = date(2027, 6, 20)
    long = temporary(date(2025, 1, 1), date(2027, 6, 30))
    for reason in (TerminationReason.RESIGNATION, TerminationReason.DEATH):
        assert late_notice_warning(form.model_copy(update={"reason": reason}), long, late) is None
    assert late_notice_warning(form, temporary(date(2026, 7, 1), date(2027, 6, 30)), late) is None
    permanent = Employment(employee_number="05001234", start_date=date(2020, 1, 1), end_date=None)
    assert late_notice_warning(form, permanent, late) is None


async def test_a_settlement_that_ends_a_long_temporary_post_late_warns_the_unit_once(h: Harness):
    """The form comes ten days before the end of a temporary post of over two years: the unit
    is told the notice is late, once, and the settlement is registered all the same."""
    today = (await h.env.get_current_time()).date()
    end = today + timedelta(days=10)
    h.sap.add_employee(
        Employee(ansattnummer="05001234", startdato=today - timedelta(days=800), sluttdato=end)
    )
    number = h.submit(FORM.replace("31.01.2027", format_date(end)), "Fratredelse")
    handle = await h.start_settlement(number)
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)

    warnings = [reply for reply in h.replies(number) if reply.startswith("Merk")]
    assert len(warnings) == 1 and format_date(end) in warnings[0]
    assert len(h.sap.settlements()) == 1


async def test_a_settlement_with_a_month_to_spare_warns_nobody(h: Harness):
    today = (await h.env.get_current_time()).date()
    end = await end_date(h)  # the end of the month two months ahead
    h.sap.add_employee(
        Employee(ansattnummer="05001234", startdato=today - timedelta(days=800), sluttdato=end)
    )
    number = h.submit(FORM.replace("31.01.2027", format_date(end)), "Fratredelse")
    handle = await h.start_settlement(number)
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)

    assert [reply for reply in h.replies(number) if reply.startswith("Merk")] == []


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


def filed(h: Harness, employee_number: str = "05001234") -> list[JournalPost]:
    """What the employee's personnel file holds (found the way the workflow finds it)."""
    personnel_file = h.archive.find_or_create_personnel_file(employee_number, "-", 2026, "probe")
    return h.archive.documents(personnel_file.saksnummer)


async def test_the_termination_letter_goes_to_the_employee_with_the_manager_in_copy_and_is_filed(
    h: Harness,
):
    end = await end_date(h)
    number, handle = await start(h)
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)

    [letter] = filed(h)
    assert letter.dokumenttype is DocumentType.OUTGOING
    assert (letter.mottaker, letter.kopi_til) == ("Kari Nordmann", "Ola Leder")
    text = h.archive.document_text(letter.journalpostnummer)
    assert format_date(end) in text and "Sjekkliste ved fratreden" in text and number in text


async def test_a_form_without_the_manager_is_asked_for_it_before_anything_is_sent(h: Harness):
    number, handle = await start(h, FORM.replace("Leder: Ola Leder", ""))
    await h.wait_state(handle, WaitState.AWAITING_CALLER)

    assert "Leder mangler" in h.replies(number)[-1]
    assert h.sap.settlements() == []
    await h.reply(handle, number, "Leder: Per Leder")
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)
    assert filed(h)[0].kopi_til == "Per Leder"


async def test_on_death_spk_gets_a_pension_message_and_no_termination_letter_is_sent(h: Harness):
    end = await end_date(h)
    number, handle = await start(h, FORM.replace("Midlertidig", "Dødsfall"))
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)

    [message] = h.spk.messages()
    assert message.pensjonstype is PensionType.DEATH and message.fradato == end
    assert filed(h) == []
    assert any("Statens pensjonskasse" in note for note in h.notes(number))


async def test_a_moved_end_date_moves_the_settlement_to_its_run_and_re_arms_the_timer(h: Harness):
    end, moved = await end_date(h), await end_date(h, months_ahead=3)
    run = settlement_pay_day(moved)
    number, handle = await start(h)
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)
    await h.reply(handle, number, f"Sluttdatoen er utsatt.\nSluttdato: {format_date(moved)}")
    await eventually(lambda: format_date(run) in h.replies(number)[-1], "the caller told")

    [settlement] = h.sap.settlements()
    assert (settlement.sluttdato, settlement.utbetales) == (moved, run)
    _first, second = filed(h)  # a new letter for the new end date
    assert format_date(moved) in h.archive.document_text(second.journalpostnummer)
    progress = await handle.query(FinalSettlementWorkflow.progress)
    assert progress.due is not None and progress.due.date() == run + timedelta(days=1)
    h.sap.run_payroll(settlement_pay_day(end))  # the old run pays nothing now
    h.sap.run_payroll(run)
    result = await handle.result()
    assert result.paid_on == run
    assert (await h.env.get_current_time()).date() > run


async def test_a_withdrawn_case_cancels_the_settlement_and_the_spk_message_newest_first(
    h: Harness,
):
    number, handle = await start(h, FORM.replace("Midlertidig", "Dødsfall"))
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)
    h.topdesk.set_status(number, "Lukket")
    await handle.signal(FinalSettlementWorkflow.caller_replied, CaseEvent(event_id="closed"))

    assert (await handle.result()).outcome is CaseOutcome.WITHDRAWN
    [settlement] = h.sap.settlements()
    assert settlement.kansellert
    assert h.spk.message_status("SPK-000001").status is PensionStatus.WITHDRAWN
    note = h.notes(number)[-1]
    assert note.index("sluttoppgjøret") < note.index("pensjonsmeldingen")


async def test_a_settlement_unpaid_after_its_run_climbs_the_escalation_ladder_one_rung_at_a_time(
    h: Harness,
):
    run = settlement_pay_day(await end_date(h))
    number, handle = await start(h)
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)
    await h.env_sleep(run + timedelta(days=2) - (await h.env.get_current_time()).date())
    await eventually(lambda: _group(h, number) == ESCALATION_LADDER[0], "the first rung")
    await h.env_sleep(timedelta(days=5))
    await eventually(lambda: _group(h, number) == ESCALATION_LADDER[1], "the second rung")

    escalations = [note for note in h.notes(number) if note.startswith("Avvik")]
    assert len(escalations) == 2 and "ikke bekreftet utbetalt" in escalations[0]
    assert (await handle.query(FinalSettlementWorkflow.progress)).escalation_level == 2
    h.sap.run_payroll(run + timedelta(days=8))
    assert (await handle.result()).outcome is CaseOutcome.PAID


async def test_an_archive_outage_delays_the_letter_and_loses_nothing(h: Harness):
    h.archive.inject_fault("unavailable", times=3)
    _number, handle = await start(h)
    await h.env_sleep(timedelta(minutes=5))
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)

    assert len(filed(h)) == 1 and len(h.sap.settlements()) == 1


async def test_as_a_child_the_settlement_works_on_the_parents_case_from_its_order(h: Harness):
    end = await end_date(h)
    h.sap.add_employee(Employee(ansattnummer="05001234", startdato=date(2025, 1, 1)))
    number = h.submit("Oppsigelse fra Kari Nordmann", "Oppsigelse")
    order = SettlementOrder(
        name="Kari Nordmann",
        employee_number="05001234",
        end_date=end,
        reason=TerminationReason.RESIGNATION,
        manager="Ola Leder",
    )
    handle = await h.start_process(
        FinalSettlementWorkflow.run,
        FinalSettlementInput,
        "final-settlement",
        number,
        order=order,
        category="Oppsigelse",
    )
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)

    assert not any("mottatt skjemaet" in reply for reply in h.replies(number))  # parent's job
    assert len(filed(h)) == 1
    h.sap.run_payroll(settlement_pay_day(end))
    assert (await handle.result()).outcome is CaseOutcome.PAID
    assert h.topdesk.get_incident(number).completed


def _group(h: Harness, number: str) -> str | None:
    group = h.topdesk.get_incident(number).operator_group
    return group.name if group else None
