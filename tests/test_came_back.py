"""A case that comes back (issue 13 item 4): the caller writes in, or reopens, a case whose
routine has finished. Through the intake (in-process over ASGI), the time-skipping server, the
TOPdesk simulator and the SAP stub: the event reaches SAP through the routine, or a case handler
with a note; once per event, however often its webhook comes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowHandle

from adapters.topdesk.models import NewIncident, Ref
from domain.came_back import CameBackInput, came_back_id, not_carried, other_answers
from domain.cases import CaseOutcome, TopdeskStatus, WaitState
from tests import scenarios_resignation as resigned
from tests.eventually import eventually
from tests.harness import Harness
from tests.scenarios_came_back import NEW_START, registered_new_hire
from tests.test_intake import activities, dfo, events, post, serve
from workers.intake.came_back import waiting_for_approval
from workflows.came_back import CameBackWorkflow

MOVED = date(2027, 3, 15)


@pytest.fixture
async def intake(h: Harness) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(h.client, h.task_queue, h.topdesk) as http:
        yield http


def caller_writes(h: Harness, number: str, text: str) -> dict[str, str]:
    """The caller writes in the case; returns TOPdesk's webhook for it, as the action sequence
    templates it (the event TOPdesk names, the case's modification date)."""
    incident = h.simulator.caller_reply(number, text)
    event = "reopened" if incident["processingStatus"]["name"] == "Gjenåpnet av bruker" else ""
    return {
        "number": number,
        "event": event or "caller_replied",
        "modificationDate": incident["modificationDate"],
    }


async def deliver(intake: httpx.AsyncClient, body: dict[str, str]) -> dict[str, Any]:
    response = await post(intake, "/webhooks/topdesk", body)
    assert response.status_code == 202, response.text
    return dict(response.json())


async def written(h: Harness, intake: httpx.AsyncClient, number: str, text: str) -> str:
    """The caller writes, TOPdesk's webhook comes once: the came-back workflow's id."""
    answer = await deliver(intake, caller_writes(h, number, text))
    assert answer["action"] == "came_back", answer
    return str(answer["workflow_id"])


def came_back(h: Harness, workflow_id: str) -> WorkflowHandle:
    handle = h.client.get_workflow_handle_for(CameBackWorkflow.run, workflow_id)
    h.started.append(handle)
    return handle


def sap_start_date(h: Harness, registration_id: str | None) -> date:
    [registration] = [r for r in h.sap.registrations() if r.id == registration_id]
    return registration.startdato


async def test_a_start_date_changed_after_done_reaches_sap_once_and_the_caller(
    h: Harness, intake: httpx.AsyncClient
):
    number, finished = await registered_new_hire(h)
    replies_before = len(h.replies(number))

    webhook = caller_writes(h, number, f"Startdato: {NEW_START}")
    answers = [await deliver(intake, webhook) for _ in range(3)]  # the intake may see it thrice

    [workflow_id] = {a["workflow_id"] for a in answers}
    assert [a["action"] for a in answers] == ["came_back"] * 3
    handle = came_back(h, workflow_id)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    assert sap_start_date(h, finished.registration_id) == MOVED
    await h.decide(handle)
    result = await handle.result()
    assert result.carried and result.start_date == MOVED
    # the webhook once more, after the work is done: nothing more
    assert await deliver(intake, webhook) == {"workflow_id": workflow_id, "action": "came_back"}
    assert len(await events(handle, "workflow_execution_started")) == 1
    assert await activities(handle, "sap.update_start_date") == 1
    assert len(h.sap.registrations()) == 1
    new_replies = h.replies(number)[replies_before:]
    assert len(new_replies) == 2  # the move, then the manager's approval
    assert "15.03.2027" in new_replies[0] and "ny godkjenning" in new_replies[0]
    assert "15.03.2027" in new_replies[1] and "fullført" in new_replies[1]
    assert h.status(number) == TopdeskStatus.COMPLETED.value
    # the new hire's own workflow was neither started again nor signalled
    new_hire = h.client.get_workflow_handle(f"new-hire-{number}")
    assert len(await events(new_hire, "workflow_execution_started")) == 1
    signals = await events(new_hire, "workflow_execution_signaled")
    names = [e.workflow_execution_signaled_event_attributes.signal_name for e in signals]
    assert names == ["approval_decided"]  # the manager's, before it finished


async def test_a_reply_that_changes_nothing_goes_to_the_case_handler_with_a_note(
    h: Harness, intake: httpx.AsyncClient
):
    number, finished = await registered_new_hire(h)
    replies_before = h.replies(number)

    workflow_id = await written(h, intake, number, "Takk for hjelpen! Startdato: 01.02.2027")

    result = await came_back(h, workflow_id).result()
    assert not result.carried and "endrer ikke startdatoen" in (result.reason or "")
    [note] = h.notes(number)
    assert "etter at saken var avsluttet" in note and "ikke gjort noe" in note
    assert h.status(number) == TopdeskStatus.ASSIGNED.value
    group = h.topdesk.get_incident(number).operator_group
    assert group is not None and group.name == "Saksbehandling lønn og HR"
    assert h.replies(number) == replies_before  # the caller is not answered by saksflyt
    assert sap_start_date(h, finished.registration_id) == date(2027, 2, 1)


async def test_other_changes_with_the_new_start_date_are_left_to_the_case_handler(
    h: Harness, intake: httpx.AsyncClient
):
    number, finished = await registered_new_hire(h)

    text = f"Startdato: {NEW_START}\nKontonummer: 1503 00 12345\nStillingsprosent: 80"
    handle = came_back(h, await written(h, intake, number, text))

    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    [note] = h.notes(number)
    assert "Kontonummer, Stillingsprosent" in note and "manuelt" in note
    assert sap_start_date(h, finished.registration_id) == MOVED


async def test_a_new_start_date_the_manager_rejects_goes_to_the_case_handler(
    h: Harness, intake: httpx.AsyncClient
):
    number, _ = await registered_new_hire(h)
    handle = came_back(h, await written(h, intake, number, f"Startdato: {NEW_START}"))
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)

    await h.decide(handle, approved=False, reason="Kontrakten gjelder fra 1. februar")

    result = await handle.result()
    assert not result.carried and "avviste" in (result.reason or "")
    assert "Kontrakten gjelder fra 1. februar" in h.notes(number)[-1]
    assert h.status(number) == TopdeskStatus.ASSIGNED.value


async def test_a_reopened_case_of_another_process_goes_to_the_case_handler(
    h: Harness, intake: httpx.AsyncClient
):
    number = h.submit_extension()
    extension = await h.start_extension(number)
    await h.wait_state(extension, WaitState.AWAITING_APPROVAL)
    await h.decide(extension)
    await extension.result()
    registrations = h.sap.registrations()

    workflow_id = await written(h, intake, number, "Ny sluttdato: 31.12.2028")

    result = await came_back(h, workflow_id).result()
    assert not result.carried and "Forlengelse" in (result.reason or "")
    assert any("Saksflyt har ikke gjort noe" in note for note in h.notes(number))
    assert h.sap.registrations() == registrations


async def test_a_reply_to_a_refused_new_hire_goes_to_the_case_handler(
    h: Harness, intake: httpx.AsyncClient
):
    number = h.submit("Lønnsform: Timelønn\nStartdato: 01.02.2027")
    refused = await h.start(number)
    assert (await refused.result()).outcome is CaseOutcome.REFUSED

    workflow_id = await written(h, intake, number, "Lønnsform: Månedslønn")

    result = await came_back(h, workflow_id).result()
    assert "ble ikke registrert" in (result.reason or "") and "refused" in (result.reason or "")
    assert h.sap.registrations() == []


async def test_a_reply_in_a_case_saksflyt_opened_itself_goes_to_the_case_handler_once_done(
    h: Harness, intake: httpx.AsyncClient
):
    """The resignation's case, which the DFØ portal's form opened: no TOPdesk event starts its
    workflow, and a finished one takes no signal."""
    resigned.employee(h, toa=True)
    handle = await resigned.start(h, await resigned.submit(h))
    number = await resigned.case_of(h, handle)
    assert (await handle.result()).outcome is CaseOutcome.REFUSED

    webhook = caller_writes(h, number, "Men jeg har ingen TOA-kontrakt")
    answers = [await deliver(intake, webhook) for _ in range(2)]

    [workflow_id] = {a["workflow_id"] for a in answers}
    assert [a["action"] for a in answers] == ["came_back", "came_back"]
    result = await came_back(h, workflow_id).result()
    assert not result.carried and "Oppsigelse" in (result.reason or "")
    assert [n for n in h.notes(number) if "ikke gjort noe" in n] != []
    assert h.status(number) == TopdeskStatus.ASSIGNED.value


async def test_the_dfo_decision_on_a_moved_start_date_reaches_the_came_back_workflow(
    dev_h: Harness,
):
    """The manager approves the moved start date in the DFØ portal; its webhook names the case,
    whose new-hire workflow has finished: the intake finds the case's came-back workflow that
    waits for that approval (visibility, so the dev server) and signals it."""
    h = dev_h
    number, finished = await registered_new_hire(h)
    async with serve(h.client, h.task_queue, h.topdesk) as intake:
        workflow_id = await written(h, intake, number, f"Startdato: {NEW_START}")
        handle = came_back(h, workflow_id)
        await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
        await eventually(lambda: waiting_for_approval(h.client, number), "visibility to show it")
        assert finished.registration_id is not None
        h.sap.decide(finished.registration_id, approved=True)

        response = await dfo(intake, number, finished.registration_id, "approved")

        assert response.status_code == 202, response.text
        assert response.json() == {"workflow_id": workflow_id, "action": "signalled"}
        result = await handle.result()
    assert result.carried and result.start_date == MOVED
    assert h.status(number) == TopdeskStatus.COMPLETED.value
    signals = await events(handle, "workflow_execution_signaled")
    assert [e.workflow_execution_signaled_event_attributes.signal_name for e in signals] == [
        "approval_decided"
    ]


async def test_a_dfo_decision_for_a_finished_case_with_nothing_waiting_is_a_404(
    dev_h: Harness,
):
    """Visibility asked, no came-back workflow waits: the sender hears 404, as before."""
    h = dev_h
    number, finished = await registered_new_hire(h)
    assert finished.registration_id is not None
    async with serve(h.client, h.task_queue, h.topdesk) as intake:
        response = await dfo(intake, number, finished.registration_id, "approved")
    assert response.status_code == 404, response.text


async def test_a_reply_for_a_case_whose_workflow_never_ran_is_still_a_404(
    h: Harness, intake: httpx.AsyncClient
):
    """A resignation case no workflow ever ran for: nothing came back, the sender hears 404."""
    number = h.topdesk.create_incident(
        NewIncident(
            caller_lookup={"email": "hr@ntnu.no"},
            brief_description="Oppsigelse",
            request="Skjema: Oppsigelse",
            category=Ref(name="Oppsigelse"),
            external_number="OPP-999999",
        )
    ).number

    response = await post(intake, "/webhooks/topdesk", caller_writes(h, number, "Hallo?"))

    assert response.status_code == 404, response.text
    assert h.notes(number) == []


async def test_a_case_the_caller_closed_again_is_left_as_it_is(h: Harness):
    number, finished = await registered_new_hire(h)
    h.simulator.caller_reply(number, f"Startdato: {NEW_START}")
    h.topdesk.set_status(number, "Lukket")
    came = CameBackInput(
        case_number=number,
        process="new_hire",
        category="Nyansettelse",
        outcome=finished.outcome.value,
        registration_id=finished.registration_id,
    )
    handle = await h.start_workflow(CameBackWorkflow.run, came, came_back_id(number, "x"))
    result = await handle.result()
    assert result.reason == CaseOutcome.WITHDRAWN.value
    assert sap_start_date(h, finished.registration_id) == date(2027, 2, 1)


# -- the rules ------------------------------------------------------------------------------


def test_one_workflow_id_per_event_and_case():
    assert came_back_id("I1", "k") == came_back_id("I1", "k")
    assert came_back_id("I1", "k") != came_back_id("I1", "l")
    assert came_back_id("I1", "k") != came_back_id("I2", "k")
    assert came_back_id("I1", "x" * 100).startswith("came-back-I1-")
    assert len(came_back_id("I1", "x" * 100)) < 40


@pytest.mark.parametrize(
    ("process", "outcome", "registration", "carried"),
    [
        ("new_hire", "registered", "NY-1", True),
        ("new_hire", "refused", None, False),
        ("new_hire", "closed_without_reply", None, False),
        ("new_hire", "registered", None, False),
        ("extension", "registered", "FL-1", False),
        ("resignation", None, None, False),
    ],
)
def test_only_a_registered_new_hire_is_carried(
    process: str, outcome: str | None, registration: str | None, carried: bool
):
    came = CameBackInput(
        case_number="I1",
        process=process,
        category="X",
        outcome=outcome,
        registration_id=registration,
    )
    assert (not_carried(came) is None) is carried


def test_other_answers_name_every_field_but_the_start_date():
    assert other_answers("Startdato: 01.03.2027") == []
    assert other_answers("Takk!\nStartdato: 01.03.2027\nKontonr: 1") == ["Kontonummer"]
    assert other_answers("Tiltredelsesdato: 01.03.2027") == []
