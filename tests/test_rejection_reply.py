"""The caller's reply to the manager's rejection (issue 13 item 7): a reply that changes nothing
registered is asked again, quoting the manager, and never sent back to the manager; a changed
form is registered anew."""

from __future__ import annotations

from temporalio.client import WorkflowHandle

from domain.cases import CaseOutcome, WaitState
from tests.harness import Harness

REASON = "Feil stillingsprosent"


async def rejected(h: Harness, handle: WorkflowHandle, number: str) -> None:
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.decide(handle, approved=False, reason=REASON)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)


async def asked_again(h: Harness, handle: WorkflowHandle, number: str, replies: int) -> str:
    """The caller answers without changing the form: asked again, in `replies` replies."""
    await h.reply(handle, number, "Jeg har snakket med leder, det stemmer som det står.")
    await h.wait_replies(number, replies)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    return h.replies(number)[-1]


async def test_an_unchanged_reply_is_asked_again_and_a_changed_one_registered_anew(h: Harness):
    number = h.submit()
    handle = await h.start(number)
    await rejected(h, handle, number)

    again = await asked_again(h, handle, number, 3)  # receipt, the rejection, asked again

    assert "ikke endret" in again and f"Leder skrev: «{REASON}»" in again
    assert len(h.sap.registrations()) == 1  # not sent back to the manager
    again = await asked_again(h, handle, number, 4)  # and again, with the manager's words
    assert f"«{REASON}»" in again
    assert len(h.sap.registrations()) == 1

    await h.reply(handle, number, "Stillingsprosent: 80")
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    first, second = h.sap.registrations()
    assert second.id != first.id
    await h.decide(handle)
    assert (await handle.result()).outcome is CaseOutcome.REGISTERED


async def test_an_extension_rejected_and_answered_unchanged_is_not_registered_again(h: Harness):
    number = h.submit_extension()
    handle = await h.start_extension(number)
    await rejected(h, handle, number)

    again = await asked_again(h, handle, number, 3)

    assert f"«{REASON}»" in again
    assert len(h.sap.registrations()) == 1
    await h.reply(handle, number, "Ny sluttdato: 31.05.2028")
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    assert len(h.sap.registrations()) == 2
    await h.decide(handle)
    result = await handle.result()
    assert (result.outcome, str(result.new_end_date)) == (CaseOutcome.REGISTERED, "2028-05-31")


async def test_an_unanswered_second_ask_closes_the_case_as_any_wait_for_the_caller(h: Harness):
    number = h.submit()
    handle = await h.start(number)
    await rejected(h, handle, number)
    await asked_again(h, handle, number, 3)

    result = await handle.result()  # the reminder, the last day: time skips to the close

    assert result.outcome is CaseOutcome.CLOSED_WITHOUT_REPLY
    assert len(h.sap.registrations()) == 1
