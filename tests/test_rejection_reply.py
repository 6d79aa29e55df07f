"""The caller's reply to the manager's rejection (issue 13 item 7): a reply that changes nothing
registered is asked again, quoting the manager, and never sent back to the manager; a changed
form is registered anew."""

from __future__ import annotations

from domain.cases import CaseOutcome, WaitState
from tests.harness import Harness
from tests.scenarios_operator import (
    REASON,
    asked_again,
    extension_rejected_reply_unchanged_then_changed,
    rejected,
)


async def test_an_unchanged_reply_is_asked_again_and_a_changed_one_registered_anew(h: Harness):
    number = h.submit()
    handle = await h.start(number)
    await rejected(h, handle)

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


async def test_an_extension_answered_unchanged_is_asked_again_then_registered_when_changed(
    h: Harness,
):
    handle = await extension_rejected_reply_unchanged_then_changed(h)

    result = await handle.result()
    assert (result.outcome, str(result.new_end_date)) == (CaseOutcome.REGISTERED, "2028-05-31")
    assert len(h.sap.registrations()) == 2  # the unchanged answer registered nothing
    number = result.case_number
    assert sum(f"«{REASON}»" in reply for reply in h.replies(number)) == 1  # the ask again


async def test_an_unanswered_second_ask_closes_the_case_as_any_wait_for_the_caller(h: Harness):
    number = h.submit()
    handle = await h.start(number)
    await rejected(h, handle)
    await asked_again(h, handle, number, 3)

    result = await handle.result()  # the reminder, the last day: time skips to the close

    assert result.outcome is CaseOutcome.CLOSED_WITHOUT_REPLY
    assert len(h.sap.registrations()) == 1
