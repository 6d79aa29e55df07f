"""A business refusal in the middle of a case (issue 13 item 9): SAP refusing a move, TOPdesk's
403 on a write. The case waits in `needs_operator` with a note to the case handler, instead of
failing with no word; `saksflyt bulk retry` runs the refused step again, `bulk cancel` ends the
case."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle

from domain.cases import CaseOutcome, WaitState
from domain.payroll_calendar import settlement_pay_day
from tests.eventually import eventually
from tests.harness import Harness, settlement_end_date
from tests.scenarios_operator import approved_write_refused, letter_refused, move_refused, operator
from tests.test_bulk import bulk_args, events, signalled
from tests.test_cases_cli import listed, run_cli, settings
from tests.test_final_settlement import filed
from workers.settings import Settings
from workflows.new_hire import NewHireWorkflow

__all__ = ["settings"]  # the fixture, test_cases_cli's: pytest finds it by its name here

NEEDS_OPERATOR = "WaitState='needs_operator'"


async def bulk(
    settings: Settings, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, list[dict[str, Any]]]:
    """`saksflyt bulk ... --json`; the worker in this process may log meanwhile (the case acts
    at once on the operator's signal), so the JSON is what starts at a line's "["."""
    code, out = await run_cli(settings, capsys, *bulk_args(*argv))
    return code, json.loads(out if out.startswith("[") else out[out.index("\n[") + 1 :])


async def test_sap_refusing_a_move_waits_for_an_operator_and_bulk_retry_carries_it_on(
    dev_h: Harness, settings: Settings, capsys: pytest.CaptureFixture[str]
):
    h = dev_h
    number, handle = await move_refused(h)
    progress = await handle.query(NewHireWorkflow.progress)
    assert progress.detail == "SAP: update_start_date avvist"
    [note] = [n for n in h.notes(number) if "avvist" in n]
    assert "SAP avviste forespørselen" in note and "saksflyt bulk retry" in note
    assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
    await listed(h.client, NEEDS_OPERATOR, lambda rows: len(rows) == 1, "the case needs_operator")

    h.sap.store.clear_faults()  # the handler has the registration unlocked in SAP
    code, [outcome] = await bulk(
        settings, capsys, "retry", "--query", NEEDS_OPERATOR, "--reason", "låst opp i SAP"
    )

    assert code == 0 and (outcome["result"], outcome["detail"]) == (
        "ok",
        "run the refused step again",
    )
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    [registration] = h.sap.registrations()
    assert registration.startdato == date(2027, 3, 15)
    await h.decide(handle)
    result = await handle.result()
    assert result.outcome is CaseOutcome.REGISTERED


async def test_bulk_cancel_ends_a_case_that_waits_for_an_operator(
    dev_h: Harness, settings: Settings, capsys: pytest.CaptureFixture[str]
):
    h = dev_h
    number, handle = await move_refused(h)
    await listed(h.client, NEEDS_OPERATOR, lambda rows: len(rows) == 1, "the case needs_operator")

    code, [outcome] = await bulk(
        settings, capsys, "cancel", "--query", NEEDS_OPERATOR, "--reason", "føres manuelt"
    )

    assert code == 0 and (outcome["result"], outcome["detail"]) == ("ok", "end the case")
    result = await handle.result()
    assert result.outcome is CaseOutcome.ENDED_BY_OPERATOR
    assert (await handle.describe()).status is WorkflowExecutionStatus.COMPLETED
    assert (await handle.query(NewHireWorkflow.progress)).state is WaitState.DONE
    assert any("avsluttet i saksflyt" in n and "føres manuelt" in n for n in h.notes(number))
    assert len(h.sap.registrations()) == 1  # nothing registered after the refusal


async def test_topdesk_refusing_a_write_waits_for_an_operator_without_a_note(h: Harness):
    number, handle = await approved_write_refused(h)

    assert not [n for n in h.notes(number) if "avvist" in n]  # refused too: the state says it
    assert h.status(number) != "Fullført"
    h.simulator.clear_faults()
    await operator(handle, "retry")
    assert (await handle.result()).outcome is CaseOutcome.REGISTERED
    assert h.status(number) == "Fullført"


async def test_another_signal_does_not_end_the_wait(h: Harness):
    """Only retry and cancel decide: the wait goes on after any other operator action."""
    number, handle = await approved_write_refused(h)

    await operator(handle, "signal")
    await eventually(lambda: handled_signals(handle, 1), "the signal handled")

    assert (await handle.query(NewHireWorkflow.progress)).state is WaitState.NEEDS_OPERATOR
    h.simulator.clear_faults()
    await operator(handle, "cancel")
    assert (await handle.result()).outcome is CaseOutcome.REGISTERED  # done but for the reply
    assert any("avsluttet i saksflyt" in n for n in h.notes(number))


async def test_the_archive_refusing_a_letter_waits_for_an_operator_and_retry_completes_it(
    h: Harness,
):
    """Issue 13 item 9, the DFØ calls no routine acts on: the final settlement's termination
    letter refused by the archive waits in needs_operator, and the operator's retry sends it."""
    number, handle = await letter_refused(h)

    progress = await handle.query(NewHireWorkflow.progress)
    assert progress.detail == "ePhorte: send_letter avvist"
    [note] = [n for n in h.notes(number) if "avvist" in n]
    assert "Arkivet avviste forespørselen" in note and "saksflyt bulk retry" in note
    assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
    assert h.sap.settlements() == []  # nothing registered after the refusal

    h.archive.store.clear_faults()  # the handler has the personnel file put right
    await operator(handle, "retry", "arkivet rettet")
    await h.wait_state(handle, WaitState.AWAITING_PAYROLL)
    [letter] = filed(h)
    assert number in h.archive.document_text(letter.journalpostnummer)
    h.sap.run_payroll(settlement_pay_day(await settlement_end_date(h)))
    assert (await handle.result()).outcome is CaseOutcome.PAID


async def handled_signals(handle: WorkflowHandle, count: int) -> bool:
    """The workflow has `count` operator actions and has run a workflow task since the last."""
    history = await events(handle)
    last = signalled(history, "operator_action")[count - 1 :]
    done = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    return bool(last) and any(
        e.event_type == done and e.event_id > last[0].event_id for e in history
    )
