"""Retirement (seed 001, "Pensjon"): the form's rules and SPK's window (dfo-domain.md §3.4), and
the workflow on the time-skipping test server against the TOPdesk simulator and the SAP, SPK and
archive stubs, one test per rule."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from temporalio.client import WorkflowHandle

from adapters.dfo.archive import DocumentType
from adapters.dfo.sap import ApprovalState
from adapters.dfo.spk import PensionMessage, PensionStatus, PensionType
from domain.cases import CaseOutcome, WaitState
from domain.employment import Employment
from domain.forms import format_date
from domain.pension import (
    PensionForm,
    PensionKind,
    check_form,
    employment_problems,
    is_late,
    months_before,
    spk_on_time_by,
    spk_opens,
)
from tests import scenarios_pension as s
from tests.eventually import eventually
from tests.harness import Harness
from workflows.pension import PensionWorkflow

TODAY = date(2026, 12, 1)
FORM = s.pension_form(date(2027, 3, 1))


def partial_form(new_position: str, kind: str = "Alderspensjon") -> str:
    return s.pension_form(date(2027, 3, 1), 50, kind, new_position)


def employment(position: Decimal = Decimal(100)) -> Employment:
    return Employment(
        employee_number=s.EMPLOYEE,
        start_date=date(2001, 8, 1),
        end_date=None,
        position_percentage=position,
    )


def spk_statuses(h: Harness) -> list[tuple[date, str]]:
    """Every message SPK has had, oldest first, with the state it is in now."""
    with h.spk.store.transaction() as db:
        rows = db.execute("select fradato, status from messages order by id").fetchall()
    return [(date.fromisoformat(row[0]), row[1]) for row in rows]


async def activities_scheduled(handle: WorkflowHandle) -> list[str]:
    """The activity types the workflow scheduled, in order."""
    history = await handle.fetch_history()
    return [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in history.events
        if event.HasField("activity_task_scheduled_event_attributes")
    ]


# -- the form and SPK's window -------------------------------------------------------------


def test_the_form_reads_every_field_and_keeps_the_employee_numbers_leading_zero():
    assert check_form([FORM], TODAY).form == PensionForm(
        name="Kari Nordmann",
        employee_number="05001234",
        kind=PensionKind.RETIREMENT,
        percentage=100,
        from_date=date(2027, 3, 1),
        manager=s.MANAGER,
    )
    form = check_form([partial_form("40", "Delvis AFP")], TODAY).form
    assert form is not None and form.kind is PensionKind.AFP
    assert form.new_position == Decimal(40) and not form.full


def test_a_missing_field_is_named_for_the_caller():
    form = s.pension_form(date(2027, 3, 1), without=("Leder", "Uttaksgrad"))
    problems = check_form([form], TODAY).problems
    assert [problem.split(" mangler")[0] for problem in problems] == ["Uttaksgrad", "Leder"]
    assert "pensjonsbrevet i kopi" in problems[1]


def test_a_pension_date_not_on_the_first_of_a_month_is_invalid():
    [problem] = check_form([s.pension_form(date(2027, 3, 15))], TODAY).problems
    assert problem.startswith("Fra dato er ugyldig") and "01.04.2027" in problem


def test_a_pension_date_that_has_passed_is_invalid():
    [problem] = check_form([s.pension_form(date(2026, 11, 1))], TODAY).problems
    assert "01.11.2026 har allerede passert" in problem
    assert check_form([s.pension_form(TODAY)], TODAY).form is not None


def test_a_partial_pension_needs_the_new_position_percentage_and_a_full_one_ignores_it():
    [problem] = check_form([s.pension_form(date(2027, 3, 1), 50)], TODAY).problems
    assert problem.startswith("Ny stillingsprosent mangler")
    full = check_form([s.pension_form(date(2027, 3, 1), 100, new_position="40")], TODAY).form
    assert full is not None and full.new_position is None


def test_the_uttaksgrad_is_a_whole_percentage_and_the_type_alderspensjon_or_afp():
    form = s.pension_form(date(2027, 3, 1), kind="Uførepensjon").replace("100 %", "37,5")
    problems = check_form([form], TODAY).problems
    assert [problem.split(" er ugyldig")[0] for problem in problems] == [
        "Pensjonstype",
        "Uttaksgrad",
    ]


def test_the_new_position_must_be_lower_than_today_and_partial_afp_ten_points_lower():
    form = check_form([partial_form("80")], TODAY).form
    assert form is not None
    assert employment_problems(form, employment(Decimal(100))) == []
    [problem] = employment_problems(form, employment(Decimal(80)))
    assert "lavere enn stillingsprosenten du har i dag (80 %)" in problem
    afp = check_form([partial_form("85", "AFP")], TODAY).form
    assert afp is not None
    [problem] = employment_problems(afp, employment(Decimal(90)))
    assert "minst 10 prosentpoeng" in problem
    assert employment_problems(afp, employment(Decimal(95))) == []


def test_spk_takes_the_message_four_months_before_and_on_time_until_two_months_before():
    assert spk_opens(date(2027, 5, 1)) == date(2027, 1, 1)
    assert spk_on_time_by(date(2027, 5, 1)) == date(2027, 3, 1)
    assert not is_late(date(2027, 5, 1), date(2027, 3, 1))
    assert is_late(date(2027, 5, 1), date(2027, 3, 2))
    assert months_before(date(2027, 7, 31), 4) == date(2027, 3, 31)
    assert months_before(date(2027, 6, 30), 4) == date(2027, 2, 28)
    assert months_before(date(2027, 1, 1), -1) == date(2027, 2, 1)


# -- the workflow ----------------------------------------------------------------------------


async def test_a_partial_pension_registers_the_reduced_position_and_completes_when_approved(
    h: Harness,
):
    handle = await s.partial(h)
    result = await handle.result()
    number = result.case_number

    assert result.outcome is CaseOutcome.REGISTERED
    [registration] = h.sap.registrations()
    assert registration.type == "stillingsendring" and registration.status is ApprovalState.APPROVED
    assert registration.stillingsprosent == Decimal(50)
    assert registration.gjelder_fra == result.from_date
    assert h.sap.employee(s.EMPLOYEE).stillingsprosent == Decimal(50)
    [message] = h.spk.messages()
    assert message.uttaksgrad == 50 and message.sluttdato is None
    assert h.topdesk.get_incident(number).completed
    assert "Ny stillingsprosent 50" in h.replies(number)[-1]
    assert (await handle.query(PensionWorkflow.progress)).state is WaitState.DONE


async def test_a_full_pension_sends_spk_once_files_everything_and_ends_with_a_paid_settlement(
    h: Harness,
):
    handle = await s.full(h)
    result = await handle.result()
    number = result.case_number
    assert result.from_date is not None

    assert result.outcome is CaseOutcome.PAID
    [message] = h.spk.messages()
    assert message.pensjonstype is PensionType.RETIREMENT and message.uttaksgrad == 100
    assert message.fradato == result.from_date
    assert message.sluttdato == result.from_date - timedelta(days=1)
    assert result.archive_case is not None
    letter, spk_message, confirmation = h.archive.documents(result.archive_case)
    assert letter.dokumenttype is DocumentType.OUTGOING
    assert (letter.mottaker, letter.kopi_til) == ("Kari Nordmann", s.MANAGER)
    assert result.receipt_id is not None
    assert result.receipt_id in h.archive.document_text(spk_message.journalpostnummer)
    assert number in h.archive.document_text(confirmation.journalpostnummer)
    [settlement] = h.sap.settlements()
    assert settlement.sluttdato == result.from_date - timedelta(days=1)
    assert settlement.utbetales == s.settlement_run(result.from_date) and settlement.utbetalt
    assert result.settlement_id == settlement.id
    assert (await s.today(h)) > settlement.utbetales  # the child waited for the run
    assert h.topdesk.get_incident(number).completed
    assert "utbetalt" in h.replies(number)[-1]


async def test_a_rejected_position_change_goes_back_to_the_caller_and_is_registered_anew(
    h: Harness,
):
    from_date = await s.first_of_month_in(h, 3)
    number = s.submit_pension(h, s.pension_form(from_date, 50, new_position="50"))
    handle = await s.start_pension(h, number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle, approved=False, reason="Vi trenger deg i 60 prosent")
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    assert "Vi trenger deg i 60 prosent" in h.replies(number)[-1]

    await h.reply(handle, number, "Ny stillingsprosent: 60")
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    rejected, again = h.sap.registrations()
    assert rejected.status is ApprovalState.REJECTED
    assert again.stillingsprosent == Decimal(60)
    assert len(h.spk.messages()) == 1  # the SPK message does not hang on the percentage
    await h.decide(handle)
    assert (await handle.result()).outcome is CaseOutcome.REGISTERED


async def test_a_pension_date_less_than_two_months_away_is_sent_with_a_warning(h: Harness):
    handle = await s.late_warning(h)
    result = await handle.result()
    number = result.case_number

    warnings = [reply for reply in h.replies(number) if reply.startswith("Merk")]
    assert len(warnings) == 1 and "rekker kanskje ikke" in warnings[0]
    assert any("mindre enn to måneder" in note for note in h.notes(number))
    assert len(h.spk.messages()) == 1


async def test_a_pension_date_two_to_four_months_away_is_sent_at_once_without_warning(
    h: Harness,
):
    handle = await s.partial(h)
    number = (await handle.result()).case_number
    assert not [reply for reply in h.replies(number) if reply.startswith("Merk")]
    assert h.notes(number) == []


async def test_a_pension_date_more_than_four_months_away_waits_on_hold_until_four_months_before(
    h: Harness,
):
    from_date = await s.first_of_month_in(h, 6)
    number = s.submit_pension(h, s.pension_form(from_date))
    handle = await s.start_pension(h, number)
    await h.wait_state(handle, WaitState.ON_HOLD)

    assert h.status(number) == "På vent"
    hold = h.replies(number)[-1]
    opens = spk_opens(from_date)
    assert format_date(opens) in hold and "fire måneder" in hold  # why, and until when
    assert (await handle.query(PensionWorkflow.progress)).due == s.take_up(from_date)
    assert h.spk.messages() == []

    await s.sleep_until(h, s.take_up(from_date) - timedelta(hours=1))
    assert h.spk.messages() == []  # not a day early
    await s.sleep_until(h, s.take_up(from_date))
    await s.wait_settlement(h, number, WaitState.AWAITING_PAYROLL)
    [message] = h.spk.messages()
    assert message.fradato == from_date
    assert (await s.today(h)) == opens  # the timer fired on the day SPK takes the message


async def test_an_operator_override_sends_at_once_and_notes_who_and_why(h: Harness):
    from_date = await s.first_of_month_in(h, 6)
    number = s.submit_pension(h, s.pension_form(from_date, 50, new_position="50"))
    handle = await s.start_pension(h, number)
    await h.wait_state(handle, WaitState.ON_HOLD)
    started = await s.today(h)
    await s.send_now(h, handle)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)

    [(sent_for, _)] = spk_statuses(h)
    assert sent_for == from_date and (await s.today(h)) == started
    [note] = [note for note in h.notes(number) if "overstyring" in note]
    assert "Siri Saksbehandler" in note and "Avtalt med SPK" in note

    # The same order again (a repeated signal) is spent: a date moved far waits on hold again.
    await s.send_now(h, handle)
    moved = await s.first_of_month_in(h, 7)
    await h.reply(handle, number, f"Fra dato: {format_date(moved)}")
    await h.wait_state(handle, WaitState.ON_HOLD)
    assert spk_statuses(h) == [(from_date, PensionStatus.WITHDRAWN)]
    assert format_date(spk_opens(moved)) in h.replies(number)[-1]


async def test_an_override_sent_when_nothing_is_on_hold_does_not_skip_a_later_hold(h: Harness):
    from_date = await s.first_of_month_in(h, 3)
    number = s.submit_pension(h, s.pension_form(from_date, 50, new_position="50"))
    handle = await s.start_pension(h, number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await s.send_now(h, handle, event_id="too-early")
    moved = await s.first_of_month_in(h, 7)
    await h.reply(handle, number, f"Fra dato: {format_date(moved)}")
    await h.wait_state(handle, WaitState.ON_HOLD)

    assert spk_statuses(h) == [(from_date, PensionStatus.WITHDRAWN)]
    assert not [note for note in h.notes(number) if "overstyring" in note]


async def test_a_pension_date_moved_while_on_hold_rearms_the_timer_to_the_new_date(h: Harness):
    started = await s.today(h)
    handle = await s.moved_while_on_hold(h)
    result = await handle.result()
    number = result.case_number
    assert result.from_date is not None

    [message] = h.spk.messages()  # nothing was sent for the old date
    assert message.fradato == result.from_date
    assert result.from_date == months_before(started.replace(day=1), -7)
    moved_hold = next(reply for reply in h.replies(number) if "ny pensjonsdato" in reply)
    assert format_date(spk_opens(result.from_date)) in moved_hold
    [registration] = h.sap.registrations()
    assert registration.gjelder_fra == result.from_date
    spk_message = h.archive.document_text(result.journal_posts[1])
    assert f"Sendt: {format_date(spk_opens(result.from_date))}" in spk_message  # not a month early


async def test_a_pension_date_moved_while_awaiting_approval_withdraws_and_resends_to_spk(
    h: Harness,
):
    from_date = await s.first_of_month_in(h, 3)
    number = s.submit_pension(h, s.pension_form(from_date, 50, new_position="50"))
    handle = await s.start_pension(h, number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    moved = await s.first_of_month_in(h, 4)
    await h.reply(handle, number, f"Fra dato: {format_date(moved)}")
    await eventually(lambda: len(h.sap.registrations()) == 2, "the position change anew")
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)

    assert spk_statuses(h) == [
        (from_date, PensionStatus.WITHDRAWN),
        (moved, PensionStatus.RECEIVED),
    ]
    old, new = h.sap.registrations()
    assert old.status is ApprovalState.WITHDRAWN
    assert new.gjelder_fra == moved and new.status is ApprovalState.PENDING
    assert any("ny pensjonsdato" in reply for reply in h.replies(number))
    await h.decide(handle)
    result = await handle.result()
    assert result.from_date == moved and len(result.journal_posts) == 6  # a new letter and files


async def test_a_pension_date_moved_far_while_awaiting_approval_waits_on_hold_again(h: Harness):
    handle = await s.date_moved(h)
    result = await handle.result()
    assert result.from_date is not None

    first, second = spk_statuses(h)
    assert first[1] == PensionStatus.WITHDRAWN and second == (
        result.from_date,
        PensionStatus.RECEIVED,
    )
    old, new = h.sap.registrations()
    assert old.status is ApprovalState.WITHDRAWN and new.status is ApprovalState.APPROVED
    assert (await s.today(h)) >= spk_opens(result.from_date)


async def test_a_withdrawn_case_undoes_the_position_change_then_the_spk_message(h: Harness):
    handle = await s.withdrawn(h)
    result = await handle.result()
    number = result.case_number

    assert result.outcome is CaseOutcome.WITHDRAWN
    [registration] = h.sap.registrations()
    assert registration.status is ApprovalState.WITHDRAWN
    [(_, status)] = spk_statuses(h)
    assert status == PensionStatus.WITHDRAWN
    [note] = [note for note in h.notes(number) if note.startswith("Saken er trukket")]
    assert note.index("stillingsendringen i SAP") < note.index("pensjonsmeldingen til SPK")
    done = await activities_scheduled(handle)
    assert done.index("sap.cancel_registration") < done.index("spk.withdraw_pension_message")
    [stays] = [note for note in h.notes(number) if "blir stående" in note]
    assert all(post in stays for post in result.journal_posts)
    assert (await handle.query(PensionWorkflow.progress)).state is WaitState.DONE


async def test_a_full_pension_withdrawn_while_the_settlement_waits_undoes_both(h: Harness):
    from_date = await s.first_of_month_in(h, 3)
    number = s.submit_pension(h, s.pension_form(from_date))
    handle = await s.start_pension(h, number)
    await s.wait_settlement(h, number, WaitState.AWAITING_PAYROLL)
    await s.withdraw(h, handle, number)
    result = await handle.result()

    assert result.outcome is CaseOutcome.WITHDRAWN
    [settlement] = h.sap.settlements()
    assert settlement.kansellert
    [(_, status)] = spk_statuses(h)
    assert status == PensionStatus.WITHDRAWN


async def test_a_missing_field_puts_the_case_awaiting_the_caller_naming_it(h: Harness):
    from_date = await s.first_of_month_in(h, 3)
    form = s.pension_form(from_date, 50, without=("Leder",))
    number = s.submit_pension(h, form)
    handle = await s.start_pension(h, number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)

    asked = h.replies(number)[-1]
    assert "Leder mangler" in asked and "Ny stillingsprosent mangler" in asked
    assert h.status(number) == "Venter på bruker"
    assert h.spk.messages() == [] and h.sap.registrations() == []


async def test_a_pension_date_not_on_the_first_of_a_month_is_asked_of_the_caller(h: Harness):
    handle = await s.missing_field_then_reply(h)
    result = await handle.result()
    number = result.case_number

    asked = next(reply for reply in h.replies(number) if "Vi trenger mer informasjon" in reply)
    assert "Fra dato er ugyldig" in asked and "den første i en måned" in asked
    [message] = h.spk.messages()
    assert message.fradato.day == 1 and result.outcome is CaseOutcome.REGISTERED


async def test_an_unknown_employee_is_asked_of_the_caller(h: Harness):
    from_date = await s.first_of_month_in(h, 3)
    number = h.submit(s.pension_form(from_date), "Pensjon")  # SAP does not know the employee
    handle = await s.start_pension(h, number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)

    assert f"{s.EMPLOYEE} finnes ikke i SAP" in h.replies(number)[-1]
    assert h.spk.messages() == []


async def test_spks_refusal_goes_to_the_caller_and_the_corrected_form_is_sent(h: Harness):
    from_date = await s.first_of_month_in(h, 3)
    number = s.submit_pension(h, s.pension_form(from_date, 50, new_position="50"))
    other = h.spk.send_pension_message(
        PensionMessage(
            ansattnummer=s.EMPLOYEE,
            pensjonstype=PensionType.RETIREMENT,
            uttaksgrad=100,
            fradato=from_date,
        ),
        "another-employer",
    )
    handle = await s.start_pension(h, number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    assert "SPK avviste pensjonsmeldingen" in h.replies(number)[-1]

    h.spk.withdraw_pension_message(other.id, "another-employer/withdraw")
    await h.reply(handle, number, "Den andre meldingen er trukket.")
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    assert spk_statuses(h)[-1] == (from_date, PensionStatus.RECEIVED)


async def test_an_spk_outage_recovers_and_the_message_is_sent_once(h: Harness):
    handle = await s.spk_outage_recovers(h)
    result = await handle.result()

    assert result.outcome is CaseOutcome.REGISTERED
    assert len(h.spk.messages()) == 1


async def test_an_archive_outage_recovers_and_every_document_is_filed_once(h: Harness):
    h.archive.inject_fault("unavailable", times=3)
    from_date = await s.first_of_month_in(h, 3)
    number = s.submit_pension(h, s.pension_form(from_date, 50, new_position="50"))
    handle = await s.start_pension(h, number)
    await h.env_sleep(timedelta(minutes=5))
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle)
    result = await handle.result()

    assert result.archive_case is not None
    assert len(h.archive.documents(result.archive_case)) == 3


async def test_another_category_is_not_a_pension(h: Harness):
    number = h.submit()  # a new-hire form
    handle = await s.start_pension(h, number)
    assert (await handle.result()).outcome is CaseOutcome.NOT_APPLICABLE
    assert h.topdesk.progress_trail(number) == []


async def test_a_rejection_never_answered_closes_the_case_and_tells_the_handler_spk_stands(
    h: Harness,
):
    from_date = await s.first_of_month_in(h, 3)
    number = s.submit_pension(h, s.pension_form(from_date, 50, new_position="50"))
    handle = await s.start_pension(h, number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle, approved=False, reason="Ikke avklart")
    result = await handle.result()

    assert result.outcome is CaseOutcome.CLOSED_WITHOUT_REPLY
    assert h.topdesk.get_incident(number).completed
    assert any(result.receipt_id in note and "står fortsatt" in note for note in h.notes(number))
