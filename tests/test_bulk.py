"""`saksflyt bulk signal|cancel|retry` on real case workflows, on the Temporal dev server: a dry run
changes nothing, every action is recorded in the case's history before it is done, and a retry
starts a failed case again with its own input or makes a running one's failed activity try again
at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle

from domain.cases import CaseProgress, OperatorAction, WaitState
from tests import scenarios_resignation as resignation
from tests.eventually import eventually
from tests.harness import COMPLETE_FORM, Harness, form_for_person, form_without
from tests.test_cases_cli import in_states, listed, run_cli, settings, started_in
from workers import cli
from workers.bulk import Action, Request, run_bulk
from workers.settings import Settings
from workers.temporal import data_converter

__all__ = ["settings"]  # the fixture, test_cases_cli's: pytest finds it by its name here

OPERATOR = "ola@saksbehandling"
CANCEL_REQUESTED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED


def bulk_args(*argv: str) -> list[str]:
    return ["bulk", *argv, "--operator", OPERATOR, "--json"]


async def bulk(
    settings: Settings, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, list[dict[str, Any]]]:
    code, out = await run_cli(settings, capsys, *bulk_args(*argv))
    return code, json.loads(out)


async def events(handle: WorkflowHandle) -> list[Any]:
    return list((await handle.fetch_history()).events)


async def settled_length(handle: WorkflowHandle) -> int:
    """The length of the history once the workflow waits with nothing in flight (no workflow
    task, no activity): from then on only an outside event can lengthen it."""

    async def settled() -> int:
        described = (await handle.describe()).raw_description
        assert not described.pending_activities, "an activity is in flight"
        assert not described.HasField("pending_workflow_task"), "a workflow task is in flight"
        return len(await events(handle))

    return await eventually(settled, "the workflow to settle")


async def events_until(handle: WorkflowHandle, event_type: int) -> list[Any]:
    """The history once it holds an event of `event_type`: the server buffers events that come
    while a workflow task runs (the one the operator_action signal started)."""

    async def history() -> list[Any]:
        history = await events(handle)
        return history if any(event.event_type == event_type for event in history) else []

    return await eventually(history, f"an event of type {event_type} in the history")


def signalled(history: list[Any], name: str) -> list[Any]:
    return [
        event
        for event in history
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        and event.workflow_execution_signaled_event_attributes.signal_name == name
    ]


async def operator_action(event: Any) -> OperatorAction:
    [payload] = event.workflow_execution_signaled_event_attributes.input.payloads
    [action] = await data_converter().decode([payload], [OperatorAction])
    return action


def test_a_bulk_action_without_a_reason_is_refused(tmp_path: Path):
    settings = Settings(data_dir=tmp_path)  # no Temporal: refused before it is asked
    for reason in ([], ["--reason", ""], ["--reason", "   "]):
        argv = ["bulk", "signal", "--name", "send_now", "--query", "x", *reason]
        assert cli.run(argv, settings) == 2
    assert cli.run(["bulk", "cancel", "--reason", "r"], settings) == 2  # nor without a query


async def test_run_bulk_refuses_a_blank_reason_before_touching_any_case():
    request = Request(action=Action.CANCEL, reason=" ", operator=OPERATOR)
    with pytest.raises(ValueError, match="reason"):
        await run_bulk(None, [], request, dry_run=False)  # type: ignore[arg-type]


async def test_dry_run_lists_the_selected_cases_and_changes_nothing_then_cancel_records_first(
    dev_h: Harness, settings: Settings, capsys: pytest.CaptureFixture[str]
):
    h = dev_h
    first, first_handle = await started_in(h, form_for_person(0), WaitState.AWAITING_APPROVAL)
    second, second_handle = await started_in(h, form_for_person(1), WaitState.AWAITING_APPROVAL)
    asked, asked_handle = await started_in(
        h, form_without("Kontonummer"), WaitState.AWAITING_CALLER
    )
    states = {first: "awaiting_approval", second: "awaiting_approval", asked: "awaiting_caller"}
    await listed(h.client, "", in_states(states), "the three cases")
    handles = (first_handle, second_handle, asked_handle)
    before = [await settled_length(handle) for handle in handles]
    query = "WaitState='awaiting_approval'"

    code, planned = await bulk(
        settings, capsys, "cancel", "--query", query, "--reason", "feilregistrert", "--dry-run"
    )

    assert code == 0
    assert {(o["case_number"], o["result"]) for o in planned} == {
        (first, "planned"),
        (second, "planned"),
    }
    assert [len(await events(handle)) for handle in handles] == before
    for handle, state in zip(handles, states.values(), strict=True):
        assert (await handle.query("progress", result_type=CaseProgress)).state == state
        assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING

    code, done = await bulk(settings, capsys, "cancel", "--query", query, "--reason", "dublett")

    assert code == 0
    assert {(o["case_number"], o["result"], o["detail"]) for o in done} == {
        (first, "ok", "cancel requested"),
        (second, "ok", "cancel requested"),
    }
    for handle in (first_handle, second_handle):
        history = await events_until(handle, CANCEL_REQUESTED)
        [signal] = signalled(history, "operator_action")
        [cancel] = [event for event in history if event.event_type == CANCEL_REQUESTED]
        assert signal.event_id < cancel.event_id
        assert signal.workflow_execution_signaled_event_attributes.identity == OPERATOR
        assert cancel.workflow_execution_cancel_requested_event_attributes.identity == OPERATOR
        action = await operator_action(signal)
        assert (action.operator, action.action, action.reason) == (OPERATOR, "cancel", "dublett")
    assert not signalled(await events(asked_handle), "operator_action")


async def test_retry_starts_a_terminated_case_again_with_the_same_input(
    dev_h: Harness, settings: Settings, capsys: pytest.CaptureFixture[str]
):
    h = dev_h
    number, handle = await started_in(h, COMPLETE_FORM, WaitState.AWAITING_APPROVAL)
    old_run = (await handle.describe()).run_id
    await handle.terminate("SAP-feil under migrering")
    query = f"CaseNumber='{number}'"
    await listed(h.client, query, lambda rows: rows[0].status == "TERMINATED", "terminated")

    code, [outcome] = await bulk(
        settings, capsys, "retry", "--query", query, "--reason", "SAP er oppe igjen"
    )

    assert code == 0 and outcome["result"] == "ok", outcome["detail"]
    latest = h.client.get_workflow_handle(handle.id)
    described = await latest.describe()
    assert described.run_id != old_run and described.status is WorkflowExecutionStatus.RUNNING
    assert outcome["detail"] == f"started again as run {described.run_id}"
    old = (await events(h.client.get_workflow_handle(handle.id, run_id=old_run)))[0]
    new_history = await events(latest)
    new = new_history[0]
    old_start = old.workflow_execution_started_event_attributes
    new_start = new.workflow_execution_started_event_attributes
    codec = h.client.data_converter.payload_codec
    assert codec is not None
    # the same input, sealed anew (a fresh nonce): the same once opened, never sealed twice
    assert new_start.input != old_start.input
    assert await codec.decode(new_start.input.payloads) == await codec.decode(
        old_start.input.payloads
    )
    assert new_start.workflow_type.name == old_start.workflow_type.name == "NewHire"
    assert new_start.task_queue.name == h.task_queue
    first_signal = next(
        e for e in new_history if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    )
    assert first_signal.workflow_execution_signaled_event_attributes.signal_name == (
        "operator_action"
    )
    action = await operator_action(first_signal)
    assert (action.action, action.reason) == ("retry", "SAP er oppe igjen")
    await h.wait_state(latest, WaitState.AWAITING_APPROVAL)  # the new run works the case

    # the old run is no longer the case's latest: retrying it again does nothing
    old_row = f"{query} AND RunId='{old_run}'"
    code, [again] = await bulk(settings, capsys, "retry", "--query", old_row, "--reason", "igjen")
    assert (again["result"], again["detail"]) == ("skipped", "a later run exists (RUNNING)")


async def test_retry_of_a_running_case_makes_its_failed_activity_try_again_now(
    dev_h: Harness, settings: Settings, capsys: pytest.CaptureFixture[str]
):
    h = dev_h
    h.sap.inject_fault("unavailable", times=1)  # SAP's first answer; the retry is 5 s later
    number = h.submit()
    handle = await h.start(number)

    async def retrying() -> list[Any]:
        return [a for a in await pending(handle) if a.attempt > 1]

    await eventually(retrying, "SAP's failure (an activity on its second attempt)")
    query = f"CaseNumber='{number}'"
    await listed(h.client, query, lambda rows: len(rows) == 1, "the case")

    code, [outcome] = await bulk(settings, capsys, "retry", "--query", query, "--reason", "nå")

    assert code == 0 and outcome["result"] == "ok", outcome["detail"]
    assert outcome["detail"].startswith("retry now: ")
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    history = await events(handle)
    [signal] = signalled(history, "operator_action")
    # the activity ran again as attempt 1 (reset), not as the retry policy's attempt 2
    started = [e for e in history if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED]
    failed_one = next(e for e in started if e.event_id > signal.event_id)
    assert failed_one.activity_task_started_event_attributes.attempt == 1

    # nothing waits for a retry now
    code, [idle] = await bulk(settings, capsys, "retry", "--query", query, "--reason", "igjen")
    assert (idle["result"], idle["detail"]) == ("skipped", "nothing to retry")


async def pending(handle: WorkflowHandle) -> list[Any]:
    return list((await handle.describe()).raw_description.pending_activities)


async def test_cancel_of_a_resignation_reaches_its_settlement_which_is_skipped_itself(
    dev_h: Harness, settings: Settings, capsys: pytest.CaptureFixture[str]
):
    """A query that selects the parent and its child cancels only the parent: the child,
    cancelled alone, would fail its parent; the parent's cancel reaches it."""
    h = dev_h
    resignation.employee(h)
    handle = await resignation.start(h, await resignation.submit(h))
    number, child = await resignation.on_hold(h, handle)
    query = f"CaseNumber='{number}'"
    await listed(h.client, query, lambda rows: len(rows) == 2, "the resignation and its child")

    code, outcomes = await bulk(settings, capsys, "cancel", "--query", query, "--reason", "trukket")

    assert code == 0
    assert {(o["workflow_id"], o["result"], o["detail"]) for o in outcomes} == {
        (handle.id, "ok", "cancel requested"),
        (child.id, "skipped", f"a child workflow: cancel its parent {handle.id}"),
    }
    for workflow in (handle, child):
        with pytest.raises(WorkflowFailureError):
            await workflow.result()
        assert (await workflow.describe()).status is WorkflowExecutionStatus.CANCELED
    assert len(signalled(await events(handle), "operator_action")) == 1
    assert not signalled(await events(child), "operator_action")
