"""The category a TOPdesk webhook may name: a created case is routed by it without reading
TOPdesk, and a workflow that finds its case is of another category hands it to its own process.
Whatever the webhook names, the case ends in its right process, once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowHandle

from adapters.topdesk.models import Incident
from domain.cases import CaseOutcome, WaitState
from tests.harness import Harness
from tests.test_intake import events, post, serve


class CountedTopdesk:
    """The simulator's client, counting the intake's case reads."""

    def __init__(self, topdesk: Any) -> None:
        self._topdesk = topdesk
        self.reads = 0

    def get_incident(self, number: str) -> Incident:
        self.reads += 1
        return self._topdesk.get_incident(number)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._topdesk, name)


@pytest.fixture
def counted(h: Harness) -> CountedTopdesk:
    return CountedTopdesk(h.topdesk)


@pytest.fixture
async def intake(h: Harness, counted: CountedTopdesk) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(h.client, h.task_queue, counted) as http:  # type: ignore[arg-type]
        yield http


async def webhook(http: httpx.AsyncClient, number: str, event: str, **extra: str) -> dict:
    response = await post(http, "/webhooks/topdesk", {"number": number, "event": event, **extra})
    assert response.status_code == 202, response.text
    return dict(response.json())


def handle(h: Harness, workflow_id: str) -> WorkflowHandle:
    found = h.client.get_workflow_handle(workflow_id)
    h.started.append(found)
    return found


async def runs(found: WorkflowHandle) -> int:
    return len(await events(found, "workflow_execution_started"))


@pytest.mark.parametrize(
    ("named", "reads"),
    [({"category": "Forlengelse"}, 0), ({}, 1), ({"category": "Annet"}, 1)],
    ids=[
        "its category needs no TOPdesk read",
        "no category: TOPdesk read",
        "a category no process has: TOPdesk read",
    ],
)
async def test_a_created_webhook_is_routed_by_the_category_it_names_or_by_topdesk(
    h: Harness,
    intake: httpx.AsyncClient,
    counted: CountedTopdesk,
    named: dict[str, str],
    reads: int,
):
    number = h.submit_extension()

    answer = await webhook(intake, number, "incident_created", **named)

    assert answer == {"workflow_id": f"extension-{number}", "action": "started"}
    assert counted.reads == reads
    await h.wait_state(handle(h, f"extension-{number}"), WaitState.AWAITING_APPROVAL)


async def test_a_reply_is_routed_by_topdesk_whatever_category_it_names(
    h: Harness, intake: httpx.AsyncClient, counted: CountedTopdesk
):
    number = h.submit_extension()
    await webhook(intake, number, "incident_created", category="Forlengelse")
    extension = handle(h, f"extension-{number}")
    await h.wait_state(extension, WaitState.AWAITING_APPROVAL)

    answer = await webhook(intake, number, "caller_replied", category="Nyansettelse")

    assert answer == {"workflow_id": f"extension-{number}", "action": "signalled"}
    assert counted.reads == 1


async def test_a_webhook_naming_the_wrong_category_ends_in_the_right_process_once(
    h: Harness, intake: httpx.AsyncClient
):
    number = h.submit_extension()

    answer = await webhook(intake, number, "incident_created", category="Nyansettelse")

    assert answer == {"workflow_id": f"new-hire-{number}", "action": "started"}
    wrong = handle(h, f"new-hire-{number}")
    assert (await wrong.result())["outcome"] == CaseOutcome.NOT_APPLICABLE.value
    extension = handle(h, f"extension-{number}")
    await h.wait_state(extension, WaitState.AWAITING_APPROVAL)
    # the same wrong webhook again: the new hire has ended, the extension is not started twice
    again = await webhook(intake, number, "incident_created", category="Nyansettelse")
    assert again == {"workflow_id": f"new-hire-{number}", "action": "case_finished"}
    await h.decide(extension)
    assert (await extension.result())["outcome"] == CaseOutcome.REGISTERED.value
    assert await runs(extension) == 1
    assert len(h.sap.registrations()) == 1
    assert len(h.replies(number)) == 2  # the extension's receipt and outcome; none from new hire


async def test_a_wrong_webhook_for_a_case_already_in_its_process_starts_nothing_more(
    h: Harness, intake: httpx.AsyncClient
):
    number = h.submit_extension()
    await webhook(intake, number, "incident_created", category="Forlengelse")
    extension = handle(h, f"extension-{number}")
    await h.wait_state(extension, WaitState.AWAITING_APPROVAL)

    await webhook(intake, number, "incident_created", category="Nyansettelse")

    wrong = handle(h, f"new-hire-{number}")
    assert (await wrong.result())["outcome"] == CaseOutcome.NOT_APPLICABLE.value
    assert await runs(extension) == 1
    await h.decide(extension)
    assert (await extension.result())["outcome"] == CaseOutcome.REGISTERED.value
    assert len(h.sap.registrations()) == 1


async def test_a_wrong_webhook_for_a_case_no_process_takes_leaves_a_note_for_the_handlers(
    h: Harness, intake: httpx.AsyncClient
):
    """What the intake would have quarantined, had it read TOPdesk, is not left unseen."""
    # a form of seed 001 that no process takes (the employee's own travel planner)
    number = h.submit("Skjema: Reiseplanlegger", category="Reiseplanlegger")

    await webhook(intake, number, "incident_created", category="Nyansettelse")

    wrong = handle(h, f"new-hire-{number}")
    assert (await wrong.result())["outcome"] == CaseOutcome.NOT_APPLICABLE.value
    [note] = h.notes(number)
    assert "«Nyansettelse»" in note and "«Reiseplanlegger»" in note
    assert "manuelt" in note
    assert h.replies(number) == []  # nothing to the caller


async def test_a_wrong_webhook_for_a_resignation_case_writes_nothing(
    h: Harness, intake: httpx.AsyncClient
):
    """A resignation's case is carried by the workflow the DFØ portal started."""
    number = h.submit("Skjema: Oppsigelse", category="Oppsigelse")

    await webhook(intake, number, "incident_created", category="Nyansettelse")

    wrong = handle(h, f"new-hire-{number}")
    assert (await wrong.result())["outcome"] == CaseOutcome.NOT_APPLICABLE.value
    assert h.notes(number) == [] and h.replies(number) == []
