"""The SLA clock in a running case, and the stuck-case radar.

The clock and the case's answer to the radar run on the time-skipping server (days pass in
milliseconds). The radar's selection needs visibility, which only the dev server has, so it runs
there, looking ahead with `as_of` (time does not skip on the dev server)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import WorkflowHandle
from temporalio.common import SearchAttributeKey

from domain.cases import ESCALATION_LADDER, CaseProgress, OperatorAction, RadarFlag, WaitState
from domain.identifiers import employee_key
from domain.sla import SlaTarget, add_business_days, business_days_between
from tests.eventually import eventually
from tests.harness import Harness, form_for_person, form_without
from workers.settings import DEV_PSEUDONYM_KEY, Settings
from workflows import search_attributes as sa
from workflows.final_settlement import FinalSettlementWorkflow
from workflows.new_hire import NewHireWorkflow
from workflows.radar import RadarInput, RadarResult, StuckCaseRadar
from workflows.resignation import ResignationWorkflow

DAY = timedelta(days=1)
NO_BANK_ACCOUNT = form_without("Kontonummer")


async def attribute(h: Harness, handle: WorkflowHandle, key: SearchAttributeKey[Any]) -> Any:
    """A search attribute as the server holds it. Read raw: the time-skipping server keeps an
    unset attribute as a null, which the SDK's decoder refuses."""
    request = DescribeWorkflowExecutionRequest(
        namespace=h.client.namespace, execution=WorkflowExecution(workflow_id=handle.id)
    )
    response = await h.client.workflow_service.describe_workflow_execution(request)
    raw = response.workflow_execution_info.search_attributes
    payload = raw.indexed_fields.get(key.name)
    value = json.loads(payload.data) if payload is not None and payload.data else None
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, str) and key is sa.SLA_CLOCK_START:
        return datetime.fromisoformat(value)
    return value


async def flag(
    handle: WorkflowHandle,
    reason: str,
    limit_days: float,
    event_id: str = "",
    state: str | None = None,
) -> None:
    flagged = RadarFlag(
        event_id=event_id or str(uuid.uuid4()), reason=reason, limit_days=limit_days, state=state
    )
    await handle.signal(NewHireWorkflow.radar_flagged, flagged)


async def handled(h: Harness, handle: WorkflowHandle) -> CaseProgress:
    """The case's progress once every signal sent before has been handled: an operator action
    sent last is a barrier (signals are handled in order; a flag decides before it writes)."""
    barrier = OperatorAction(event_id=str(uuid.uuid4()), operator="test", action="note", reason="")
    await handle.signal(NewHireWorkflow.operator_action, barrier)
    return await h.wait_progress(
        handle, lambda p: any(a.event_id == barrier.event_id for a in p.operator_actions), "barrier"
    )


def escalation_notes(h: Harness, number: str) -> list[str]:
    return [note for note in h.notes(number) if note.startswith("Avvik, eskalert")]


def due_notes(h: Harness, number: str) -> list[str]:
    return [note for note in h.notes(number) if note.startswith("Frist for behandlingstid")]


async def test_the_sla_clock_stands_still_while_the_caller_is_asked_and_runs_after_the_reply(
    h: Harness,
):
    number = h.submit(NO_BANK_ACCOUNT)
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    asked = await handle.query(NewHireWorkflow.progress)
    assert asked.sla.paused
    assert await attribute(h, handle, sa.SLA_CLOCK_START) is None  # paused: the radar ignores it
    assert await attribute(h, handle, sa.SLA_ELAPSED) == pytest.approx(asked.sla.elapsed)

    await h.env_sleep(4 * DAY)  # the caller takes four days, at least two of them working days
    await h.reply(handle, number, "Kontonummer: 8601 11 17947")
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    resumed = await handle.query(NewHireWorkflow.progress)

    assert not resumed.sla.paused and resumed.sla.started is not None
    # the clock reads what it read when the caller was asked, not the four days since
    assert business_days_between(resumed.sla.started, resumed.since) == pytest.approx(
        asked.sla.elapsed, abs=0.01
    )
    assert resumed.sla.started > asked.since  # its virtual start moved on by the pause
    assert await attribute(h, handle, sa.SLA_CLOCK_START) == resumed.sla.started
    # the approval wait runs the clock
    await h.env_sleep(2 * DAY)
    later = await handle.query(NewHireWorkflow.progress)
    assert later.sla == resumed.sla  # nothing stored changes while the clock runs


async def test_a_case_flagged_as_stuck_climbs_one_rung_and_a_repeat_flag_changes_nothing(
    h: Harness,
):
    number = h.submit()
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    progress = await handle.query(NewHireWorkflow.progress)
    # jump to four working days into the manager's wait (the approval's own ladder starts at 7
    # calendar days, so what climbs here is the radar's doing)
    await h.env_sleep(add_business_days(progress.since, 4) - progress.since)

    await flag(handle, "wait", limit_days=10)  # not past this limit: the case does nothing
    await flag(handle, "wait", limit_days=3, state="awaiting_caller")  # a wait that is over
    assert (await handled(h, handle)).escalation_level == 0
    await flag(handle, "wait", limit_days=3, event_id="radar-1/wait", state="awaiting_approval")
    await eventually(lambda: len(escalation_notes(h, number)) == 1, "one escalation")
    await flag(handle, "wait", limit_days=3, event_id="radar-1/wait")  # the same signal again
    await flag(handle, "wait", limit_days=3)  # the next hour's run, same wait
    await flag(handle, "sla_due", limit_days=1)
    await eventually(lambda: len(due_notes(h, number)) == 1, "the SLA due notice")
    await flag(handle, "sla_due", limit_days=1)  # told once only
    await handle.signal(
        NewHireWorkflow.operator_action,
        OperatorAction(event_id="op-1", operator="kari@ts", action="note", reason="sjekk"),
    )
    done = await h.wait_progress(
        handle, lambda p: any(a.event_id == "op-1" for a in p.operator_actions), "the action"
    )

    [note] = escalation_notes(h, number)
    assert "trinn 1" in note and "venter på leders godkjenning" in note and "grensen er 3,0" in note
    assert h.topdesk.get_incident(number).operator_group.name == ESCALATION_LADDER[0]  # type: ignore[union-attr]
    assert done.escalation_level == 1
    assert len(due_notes(h, number)) == 1 and done.sla_notified
    assert [a.operator for a in done.operator_actions if a.event_id == "op-1"] == ["kari@ts"]


async def test_an_expired_sla_escalates_also_while_paused_but_not_before_its_mark(h: Harness):
    number = h.submit(NO_BANK_ACCOUNT)
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    await flag(handle, "sla_expired", limit_days=0.0)  # paused at its reading, which is > 0
    await eventually(lambda: len(escalation_notes(h, number)) == 1, "the SLA escalation")
    [note] = escalation_notes(h, number)
    assert "behandlingstiden er" in note and "holdt utenfor" in note

    await flag(handle, "sla_expired", limit_days=50)  # far from it: nothing
    await flag(handle, "wait", limit_days=50)
    assert (await handled(h, handle)).escalation_level == 1
    assert len(escalation_notes(h, number)) == 1


# -- the radar's selection, on the dev server ---------------------------------------------------


async def test_the_radar_flags_exactly_the_cases_past_their_limit(dev_h: Harness):
    h = dev_h
    waiting = [await h.start(h.submit(form_for_person(i))) for i in range(2)]
    asked = [await h.start(h.submit(form_for_person(i, "Kontonummer"))) for i in range(2, 4)]
    for handle in waiting:
        await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    for handle in asked:
        await h.wait_state(handle, WaitState.AWAITING_CALLER)
    # Two weeks on (at least nine working days, holidays or not): the manager's wait (limit 2)
    # is past its limit and so is the SLA due mark of the running clocks; the callers' wait
    # (limit 30) is not, and their clocks are paused.
    as_of = (await waiting[0].describe()).start_time + timedelta(days=14)
    radar = RadarInput(
        wait_limits={"awaiting_approval": 2, "awaiting_caller": 30},
        sla_targets={"new_hire": SlaTarget(due_days=2, expires_days=30)},
        as_of=as_of,
    )
    ids = sorted(handle.id for handle in waiting)

    async def run() -> RadarResult:
        result = await h.client.execute_workflow(
            StuckCaseRadar.run,
            radar,
            id=f"radar-{uuid.uuid4()}",
            task_queue=h.task_queue,
            result_type=RadarResult,
        )
        assert sorted(result.flagged.get("wait", [])) == ids, f"the radar flagged {result.flagged}"
        return result

    # visibility is eventually consistent: a fresh case may be missing from the first run
    result = await eventually(run, "a radar run that sees every waiting case", interval=0.2)
    assert sorted(result.flagged) == ["sla_due", "wait"]
    assert sorted(result.flagged["wait"]) == ids
    assert sorted(result.flagged["sla_due"]) == ids
    for handle in waiting:
        assert "radar_flagged" in await signals(handle)
    for handle in asked:
        assert "radar_flagged" not in await signals(handle)


async def signals(handle: WorkflowHandle) -> list[str]:
    history = await handle.fetch_history()
    return [
        event.workflow_execution_signaled_event_attributes.signal_name
        for event in history.events
        if event.HasField("workflow_execution_signaled_event_attributes")
    ]


async def test_a_resignation_whose_settlement_carries_the_case_leaves_the_radar_to_the_child(
    h: Harness,
):
    from tests.scenarios_resignation import employee, on_hold, start, submit

    employee(h)
    parent = await start(h, await submit(h))
    number, child = await on_hold(h, parent)
    handed = await parent.query(ResignationWorkflow.progress)
    assert handed.state is WaitState.HANDED_OVER and handed.sla.paused

    await flag(parent, "wait", limit_days=0)  # "working" limits no longer reach the parent
    await flag(child, "wait", limit_days=0)  # the child's own wait (on hold) is past its limit
    await eventually(lambda: len(escalation_notes(h, number)) == 1, "the child's escalation")
    assert (await handled(h, parent)).escalation_level == 0
    assert len(escalation_notes(h, number)) == 1
    assert (await child.query(FinalSettlementWorkflow.progress)).escalation_level == 1


async def test_a_case_shows_its_unit_and_the_employees_pseudonym_never_the_number(h: Harness):
    number = h.submit()
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    registration_id = (await handle.query(NewHireWorkflow.progress)).registration_id
    [registration] = [r for r in h.sap.registrations() if r.id == registration_id]
    key = employee_key(registration.ansattnummer, DEV_PSEUDONYM_KEY)

    assert await attribute(h, handle, sa.UNIT) == "Institutt for datateknologi og informatikk"
    assert await attribute(h, handle, sa.EMPLOYEE_KEY) == key
    assert registration.ansattnummer not in key and len(key) == 32
    raw = (
        await h.client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=h.client.namespace, execution=WorkflowExecution(workflow_id=handle.id)
            )
        )
    ).workflow_execution_info.search_attributes
    assert registration.ansattnummer.encode() not in raw.SerializeToString()
    assert b"15038510190" not in raw.SerializeToString()  # nor the fødselsnummer


def test_a_worker_off_this_machine_refuses_the_public_dev_pseudonym_key():
    assert Settings().pseudonym_key_for_use() == DEV_PSEUDONYM_KEY  # saksflyt dev
    remote = Settings(temporal_address="temporal.ntnu.no:7233")
    with pytest.raises(ValueError, match="SAKSFLYT_PSEUDONYM_KEY"):
        remote.pseudonym_key_for_use()
    own = Settings(temporal_address="temporal.ntnu.no:7233", pseudonym_key="s3cret")  # type: ignore[arg-type]
    assert own.pseudonym_key_for_use() == "s3cret"
