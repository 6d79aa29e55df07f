"""A case the caller withdraws (closes in the portal) takes back what saksflyt did in SAP, and an
extension whose end date moves while the manager decides is registered anew: new hire and
extension on the time-skipping test server, against the TOPdesk simulator and the SAP stub."""

from __future__ import annotations

from datetime import date, timedelta

from adapters.dfo.sap import ApprovalState, PayrollRejected
from domain.cases import CaseOutcome, WaitState
from domain.extension import NOTED_FOR_HANDLER
from tests import scenarios_new_hire_more as more
from tests.eventually import eventually
from tests.harness import EXTENSION_FORM, Harness, form_without
from workflows.new_hire import NewHireWorkflow

WITHDRAWN_NOTE = "Saken er trukket"


def withdrawn_notes(h: Harness, number: str) -> list[str]:
    return [note for note in h.notes(number) if note.startswith(WITHDRAWN_NOTE)]


# -- new hire -----------------------------------------------------------------------------------


async def test_a_new_hire_withdrawn_while_awaiting_approval_is_withdrawn_in_sap(h: Harness):
    handle = await more.withdrawn_after_registration(h)
    result = await handle.result()
    number = result.case_number

    assert result.outcome is CaseOutcome.WITHDRAWN
    [registration] = h.sap.registrations()
    assert registration.status is ApprovalState.WITHDRAWN
    [note] = withdrawn_notes(h, number)
    assert f"registreringen {registration.id} i SAP" in note
    assert h.status(number) == "Lukket"
    assert (await handle.query(NewHireWorkflow.progress)).state is WaitState.DONE


async def test_a_case_withdrawn_before_any_registration_has_nothing_to_undo(h: Harness):
    number = h.submit(form_without("Kontonummer"))
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    await more.withdraw(h, handle, number)

    assert (await handle.result()).outcome is CaseOutcome.WITHDRAWN
    assert h.sap.registrations() == []
    assert h.notes(number) == []


async def test_a_registration_the_manager_rejected_is_dead_and_not_withdrawn(h: Harness):
    number = h.submit()
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle, approved=False, reason="Feil enhet")
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    await more.withdraw(h, handle, number)

    assert (await handle.result()).outcome is CaseOutcome.WITHDRAWN
    [registration] = h.sap.registrations()
    assert registration.status is ApprovalState.REJECTED
    assert withdrawn_notes(h, number) == []
    assert h.status(number) == "Lukket"  # read before it is shown "I arbeid" again


async def test_an_extension_withdrawn_while_the_caller_corrects_it_stays_closed(h: Harness):
    number = h.submit_extension(EXTENSION_FORM.replace("30.06.2028", "30.06.2027"))
    handle = await h.start_extension(number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)  # not after the current end date
    await more.withdraw(h, handle, number)

    assert (await handle.result()).outcome is CaseOutcome.WITHDRAWN
    assert h.status(number) == "Lukket"
    assert h.sap.registrations() == [] and h.notes(number) == []


async def test_a_withdrawal_during_an_sap_outage_is_retried_until_sap_recovers(h: Harness):
    number = h.submit()
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    h.sap.inject_fault("unavailable", times=3)
    await more.withdraw(h, handle, number)
    await h.env_sleep(timedelta(minutes=5))  # the retries' back-off: 5 s, 10 s, 20 s

    assert (await handle.result()).outcome is CaseOutcome.WITHDRAWN
    [registration] = h.sap.registrations()
    assert registration.status is ApprovalState.WITHDRAWN


async def test_a_registration_approved_as_the_case_is_withdrawn_is_left_to_the_handler(
    h: Harness,
):
    number = h.submit()
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    [registration] = h.sap.registrations()
    h.sap.decide(registration.id, approved=True)  # the webhook has not come yet
    await more.withdraw(h, handle, number)

    assert (await handle.result()).outcome is CaseOutcome.WITHDRAWN
    assert h.sap.registrations()[0].status is ApprovalState.APPROVED
    [note] = withdrawn_notes(h, number)
    assert "må reverseres manuelt" in note and registration.id in note
    assert "tatt tilbake" not in note  # nothing was


# -- extension ----------------------------------------------------------------------------------


async def test_an_extension_withdrawn_while_awaiting_approval_is_withdrawn_in_sap(h: Harness):
    number = h.submit_extension()
    handle = await h.start_extension(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await more.withdraw(h, handle, number)

    assert (await handle.result()).outcome is CaseOutcome.WITHDRAWN
    [registration] = h.sap.registrations()
    assert registration.status is ApprovalState.WITHDRAWN
    [note] = withdrawn_notes(h, number)
    assert registration.id in note
    assert h.sap.employee("05001234").sluttdato == date(2027, 6, 30)  # SAP's end date unchanged


async def test_an_end_date_moved_while_approving_is_registered_anew_and_the_new_one_decided(
    h: Harness,
):
    handle = await more.end_date_moved_while_approving(h)
    result = await handle.result()
    number = result.case_number

    old, new = h.sap.registrations()
    assert old.status is ApprovalState.WITHDRAWN and old.sluttdato == date(2028, 6, 30)
    assert new.status is ApprovalState.APPROVED and new.sluttdato == date(2028, 12, 31)
    assert result.outcome is CaseOutcome.REGISTERED
    assert result.registration_id == new.id and result.new_end_date == date(2028, 12, 31)
    assert h.sap.employee("05001234").sluttdato == date(2028, 12, 31)
    _receipt, moved, completed = h.replies(number)
    assert "31.12.2028" in moved and "leder" in moved
    assert "31.12.2028" in completed


async def test_the_moved_end_date_waits_for_the_manager_until_decided(h: Harness):
    number = h.submit_extension()
    handle = await h.start_extension(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.reply(handle, number, "Ny sluttdato: 31.12.2028")
    await h.wait_replies(number, 2)

    old, new = h.sap.registrations()
    assert old.status is ApprovalState.WITHDRAWN
    assert new.status is ApprovalState.PENDING and new.sluttdato == date(2028, 12, 31)
    progress = await h.wait_progress(
        handle, lambda p: "sluttdatoen er endret" in p.detail, "the new wait shown"
    )
    assert progress.registration_id == new.id
    assert not h.topdesk.get_incident(number).completed


async def test_an_extension_moved_then_withdrawn_withdraws_only_the_live_registration(
    h: Harness,
):
    number = h.submit_extension()
    handle = await h.start_extension(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.reply(handle, number, "Ny sluttdato: 31.12.2028")
    await h.wait_replies(number, 2)
    # Closed once the case shows "I arbeid" again: TOPdesk has no conditional update, so a close
    # in the very instant saksflyt writes a status would be undone by that write.
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await more.withdraw(h, handle, number)

    assert (await handle.result()).outcome is CaseOutcome.WITHDRAWN
    old, new = h.sap.registrations()
    assert {old.status, new.status} == {ApprovalState.WITHDRAWN}
    [note] = withdrawn_notes(h, number)
    assert new.id in note and old.id not in note


async def test_an_unchanged_extension_form_is_only_noted_for_the_case_handler(h: Harness):
    number = h.submit_extension()
    handle = await h.start_extension(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.reply(handle, number, "Når godkjenner leder?")
    await eventually(lambda: bool(h.notes(number)), "a note for the case handler")

    assert h.notes(number) == [NOTED_FOR_HANDLER]
    [registration] = h.sap.registrations()
    assert registration.status is ApprovalState.PENDING
    assert len(h.replies(number)) == 1  # only the receipt


async def test_a_moved_end_date_not_after_the_current_one_is_refused_and_the_first_stays(
    h: Harness,
):
    number = h.submit_extension()
    handle = await h.start_extension(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.reply(handle, number, "Ny sluttdato: 31.12.2026")
    await h.wait_replies(number, 2)

    assert "Endringen kunne ikke brukes" in h.replies(number)[-1]
    assert "30.06.2027" in h.replies(number)[-1]  # the current end date, told to the caller
    [registration] = h.sap.registrations()
    assert registration.status is ApprovalState.PENDING
    assert registration.sluttdato == date(2028, 6, 30)


async def test_an_end_date_moved_after_the_manager_approved_tells_the_caller_to_send_a_new_form(
    h: Harness,
):
    number = h.submit_extension()
    handle = await h.start_extension(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    [registration] = h.sap.registrations()
    h.sap.decide(registration.id, approved=True)  # the webhook has not come yet
    await h.reply(handle, number, "Ny sluttdato: 31.12.2028")
    result = await handle.result()

    assert result.outcome is CaseOutcome.REGISTERED and result.new_end_date == date(2028, 6, 30)
    assert [r.id for r in h.sap.registrations()] == [registration.id]
    assert any("nytt skjema Forlengelse" in reply for reply in h.replies(number))


# -- a case closed while saksflyt was not looking -------------------------------------------------


async def test_a_case_closed_unseen_is_never_reopened_by_a_status_change(h: Harness):
    """The caller closes the case and no webhook comes; the manager then rejects, and asking
    the caller again would move the case to "Venter på bruker", reopening it."""
    number = h.submit()
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    h.topdesk.set_status(number, "Lukket")
    await h.decide(handle, approved=False, reason="Feil stilling")

    assert (await handle.result()).outcome is CaseOutcome.WITHDRAWN
    assert h.topdesk.get_incident(number).closed
    assert h.status(number) == "Lukket"


async def test_a_routine_that_ends_on_a_case_closed_unseen_tells_the_handler_the_outcome(
    h: Harness,
):
    number = h.submit()
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    h.topdesk.set_status(number, "Lukket")
    await h.decide(handle)

    assert (await handle.result()).outcome is CaseOutcome.REGISTERED
    assert h.topdesk.get_incident(number).closed
    [note] = [note for note in h.notes(number) if note.startswith("Saken var lukket")]
    assert "registrert" in note


async def test_a_moved_end_date_sap_refuses_goes_back_to_the_caller_with_nothing_pending(
    h: Harness,
):
    number = h.submit_extension()
    handle = await h.start_extension(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)

    def refuse(*args: object) -> None:
        raise PayrollRejected("Arbeidsforholdet er sperret for endringer.")

    h.sap.register_extension = refuse  # type: ignore[method-assign]
    await h.reply(handle, number, "Ny sluttdato: 31.12.2028")
    await h.wait_state(handle, WaitState.AWAITING_CALLER)

    assert any("sperret for endringer" in reply for reply in h.replies(number))
    [old] = h.sap.registrations()
    assert old.status is ApprovalState.WITHDRAWN  # nothing waits for the manager in SAP
