"""The new-hire routine (seed 001, "Nyansettelse") on the time-skipping Temporal test server,
against the TOPdesk simulator over HTTP and the SAP stub: one test per rule of the routine."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError

from adapters.dfo.sap import ApprovalState
from adapters.topdesk.models import NewIncident, Ref
from domain.cases import OSLO, ApprovalDecision, CaseEvent, CaseOutcome, WaitState, answer_deadline
from tests import harness as scenarios
from tests.eventually import eventually
from tests.harness import Harness, form_without
from tests.test_intake import signals_handled
from workflows.new_hire import NewHireWorkflow


async def test_a_complete_form_is_registered_once_approved_and_the_case_completed(h: Harness):
    handle = await scenarios.complete_form(h)
    result = await handle.result()
    number = result.case_number

    assert result.outcome is CaseOutcome.REGISTERED
    [registration] = h.sap.registrations()
    assert registration.status is ApprovalState.APPROVED
    assert registration.startdato == date(2027, 2, 1)
    assert result.employee_number == registration.ansattnummer
    incident = h.topdesk.get_incident(number)
    assert incident.completed and h.status(number) == "Fullført"
    assert registration.ansattnummer in h.replies(number)[-1]
    assert (await handle.query(NewHireWorkflow.progress)).state is WaitState.DONE


async def test_the_case_shows_i_arbeid_while_waiting_for_the_managers_approval(h: Harness):
    number = h.submit()
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)

    assert h.status(number) == "I arbeid"
    progress = await handle.query(NewHireWorkflow.progress)
    assert progress.case_number == number and "godkjenning" in progress.detail
    await h.decide(handle)
    await handle.result()


async def test_missing_fields_are_asked_of_the_caller_by_name_and_each_reply_is_rechecked(
    h: Harness,
):
    handle = await scenarios.missing_data_then_reply(h)
    result = await handle.result()

    receipt, first_ask, second_ask = h.replies(result.case_number)[:3]
    assert "mottatt" in receipt  # seed 000: the caller is told the case was received
    assert "Kontonummer mangler" in first_ask and "Startdato mangler" in first_ask
    assert "uten kontonummer" in first_ask  # the routine's reason, told to the caller
    assert "Kontonummer mangler" not in second_ask and "Startdato mangler" in second_ask
    assert result.outcome is CaseOutcome.REGISTERED
    assert h.sap.registrations()[0].startdato == date(2027, 3, 1)


async def test_awaiting_caller_shows_venter_paa_bruker_with_the_deadline(h: Harness):
    number = h.submit(form_without("Kontonummer"))
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)

    progress = await handle.query(NewHireWorkflow.progress)
    assert h.status(number) == "Venter på bruker"
    assert progress.due == answer_deadline(progress.since, timedelta(days=9))
    assert f"{progress.due.astimezone(OSLO):%d.%m.%Y}" in h.replies(number)[-1]
    assert h.sap.registrations() == []


async def test_invalid_identifiers_are_named_without_echoing_them(h: Harness):
    bad = form_without(
        "Kontonummer",
        "Fødselsnummer",
        "ePhorte-nummer",
        extra="Kontonummer: 8601 11 17949\nFødselsnummer: 15038510191\nePhorte-nummer: 12345",
    )
    number = h.submit(bad)
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)

    _receipt, ask = h.replies(number)
    assert "Kontonummer er ugyldig" in ask and "Fødselsnummer er ugyldig" in ask
    assert "ePhorte-nummer er ugyldig" in ask
    assert "86011117949" not in ask.replace(" ", "") and "15038510191" not in ask


async def test_no_reply_gets_a_reminder_on_day_7_and_a_clean_close_on_day_10(h: Harness):
    handle = await scenarios.no_reply(h)
    result = await handle.result()
    number = result.case_number

    assert result.outcome is CaseOutcome.CLOSED_WITHOUT_REPLY
    _receipt, ask, reminder, closing = h.replies(number)
    assert "ePhorte-nummer mangler" in ask
    assert "Påminnelse" in reminder and "lukker" in closing
    assert h.topdesk.get_incident(number).completed
    assert h.sap.registrations() == []
    history = await handle.fetch_history()
    timers = [e for e in history.events if e.HasField("timer_started_event_attributes")]
    fired = [t.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta() for t in timers]
    assert fired[0] == timedelta(days=7)  # the reminder
    # closed at the end of the last day named to the caller, before TOPdesk's ten days
    assert timedelta(days=9) <= sum(fired, timedelta()) < timedelta(days=10)


async def test_a_toa_position_is_refused_with_the_route_to_the_toa_form(h: Harness):
    handle = await scenarios.refused_toa(h)
    result = await handle.result()

    assert result.outcome is CaseOutcome.REFUSED
    assert "Tilsetting og arbeidskontrakt" in h.replies(result.case_number)[-1]
    assert h.topdesk.get_incident(result.case_number).completed
    assert h.sap.registrations() == []


async def test_a_short_monthly_contract_from_recruitment_is_registered(h: Harness):
    number = h.submit(form_without("Sluttdato", extra="Sluttdato: 30.06.2027"))
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)

    [registration] = h.sap.registrations()
    assert registration.startdato == date(2027, 2, 1)


async def test_a_rejection_goes_back_to_the_caller_and_the_corrected_form_is_registered_anew(
    h: Harness,
):
    handle = await scenarios.manager_rejects_then_approves(h)
    result = await handle.result()

    rejected, approved = h.sap.registrations()
    assert rejected.status is ApprovalState.REJECTED
    assert approved.status is ApprovalState.APPROVED
    assert result.registration_id == approved.id
    assert any("Feil stillingsprosent" in reply for reply in h.replies(result.case_number))


async def test_a_start_date_change_while_waiting_updates_the_registration(h: Harness):
    handle = await scenarios.start_date_changed(h)
    result = await handle.result()

    [registration] = h.sap.registrations()
    assert registration.startdato == date(2027, 3, 15)
    replies = h.replies(result.case_number)
    assert any("endret til 15.03.2027" in reply for reply in replies)
    assert "15.03.2027" in replies[-1]


async def test_changes_sap_cannot_take_automatically_are_noted_for_the_case_handler(h: Harness):
    number = h.submit()
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.reply(handle, number, "Kontonummer: 1503 85 10190")
    await eventually(lambda: bool(h.notes(number)), "a note for the case handler")

    [note] = h.notes(number)
    assert "Kontonummer" in note and "manuelt" in note


async def test_an_sap_outage_is_retried_until_it_recovers_and_registers_once(h: Harness):
    handle = await scenarios.sap_outage_recovers(h)
    result = await handle.result()

    assert result.outcome is CaseOutcome.REGISTERED
    assert len(h.sap.registrations()) == 1
    history = await handle.fetch_history()
    attempts = [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
    ]
    assert max(attempts) == 4  # three failures, then success


async def test_sap_refusing_the_registration_asks_the_caller(h: Harness):
    first = h.submit()
    await (await scenarios.complete_form_for(h, first)).result()
    number = h.submit()  # the same person again, while the first registration lives
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)

    assert "allerede registrert" in h.replies(number)[-1]


async def test_a_lost_approval_webhook_is_caught_by_polling_sap(h: Harness):
    handle = await scenarios.approval_found_by_polling(h)
    result = await handle.result()

    assert result.outcome is CaseOutcome.REGISTERED


async def test_the_case_handler_is_told_when_the_manager_has_not_approved_in_7_days(h: Harness):
    number = h.submit()
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.env_sleep(timedelta(days=8))

    assert any("Purr på leder" in note for note in h.notes(number))
    await h.decide(handle)
    await handle.result()


async def test_a_repeated_signal_is_handled_once(h: Harness):
    number = h.submit(form_without("Kontonummer"))
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    event = CaseEvent(event_id=str(uuid.uuid4()))
    h.simulator.caller_reply(number, "Jeg ser på det.")
    for _ in range(3):
        await handle.signal(NewHireWorkflow.caller_replied, event)
    await h.wait_replies(number, 3)  # receipt, ask, and the ask again after the reply
    await signals_handled(handle)  # the repeats too: a re-read for them would now be in history

    history = await handle.fetch_history()
    reads = [
        e
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == "topdesk.read_case"
    ]
    assert len(reads) == 3  # the opening read, the form read, and one re-read for the one event


async def test_a_case_that_does_not_exist_fails_the_workflow_with_a_clear_error(h: Harness):
    handle = await h.start("I9999-9999")
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()

    cause = failure.value.cause.cause
    assert isinstance(cause, ApplicationError) and cause.type == "TopdeskNotFound"


async def test_an_approval_webhook_is_only_a_hint_sap_decides(h: Harness):
    number = h.submit()
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    progress = await handle.query(NewHireWorkflow.progress)
    await handle.signal(  # the portal says "approved", but SAP still has the form pending
        NewHireWorkflow.approval_decided,
        ApprovalDecision(
            event_id="forged", registration_id=progress.registration_id, approved=True
        ),
    )
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    history = await handle.fetch_history()
    assert _activities(history).count("sap.approval_status") == 1  # SAP was asked at once …
    assert not h.topdesk.get_incident(number).completed  # … and the case waits on
    await h.decide(handle)
    assert (await handle.result()).outcome is CaseOutcome.REGISTERED


async def test_a_new_start_date_arriving_with_the_approval_is_applied_before_it_counts(
    h: Harness,
):
    number = h.submit()
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    h.simulator.caller_reply(number, "Startdato: 15.03.2027")
    await handle.signal(NewHireWorkflow.caller_replied, CaseEvent(event_id="reply"))
    await h.decide(handle)  # the manager approved the old date, in the same moment
    await h.wait_replies(number, 2)  # the move is confirmed …
    assert not h.topdesk.get_incident(number).completed  # … and goes back to the manager
    await h.decide(handle)
    result = await handle.result()

    assert h.sap.registrations()[0].startdato == date(2027, 3, 15)
    assert "15.03.2027" in h.replies(result.case_number)[-1]


async def test_moving_the_start_date_back_and_forth_always_reaches_sap(h: Harness):
    number = h.submit()
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    for count, moved_to in enumerate(["15.03.2027", "01.02.2027", "15.03.2027"], start=2):
        await h.reply(handle, number, f"Startdato: {moved_to}")
        await h.wait_replies(number, count)
    await h.decide(handle)
    await handle.result()

    assert h.sap.registrations()[0].startdato == date(2027, 3, 15)


async def test_a_case_of_another_category_is_left_untouched(h: Harness):
    incident = h.topdesk.create_incident(
        NewIncident(
            brief_description="Spørsmål om lønn", request="Hei", category=Ref(name="Pensjon")
        )
    )
    result = await (await h.start(incident.number)).result()

    assert result.outcome is CaseOutcome.NOT_APPLICABLE
    assert h.topdesk.progress_trail(incident.number) == []
    assert h.status(incident.number) == "Registrert"


async def test_a_case_the_caller_closed_is_not_registered(h: Harness):
    number = h.submit(form_without("Kontonummer"))
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    h.topdesk.set_status(number, "Lukket")
    await handle.signal(NewHireWorkflow.caller_replied, CaseEvent(event_id="closed"))

    assert (await handle.result()).outcome is CaseOutcome.WITHDRAWN
    assert h.sap.registrations() == []


def _activities(history) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
