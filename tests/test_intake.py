"""The webhook intake (workers/intake/) in-process over ASGI, with a worker on the time-skipping
test server, the TOPdesk simulator and the SAP stub behind it: one test per rule of the intake."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflow.v1 import WorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from adapters.topdesk.port import TopdeskPort
from domain.cases import CaseOutcome, WaitState
from tests import scenarios_resignation as resigned
from tests.eventually import eventually
from tests.harness import (
    EXTENSION_FORM,
    SETTLEMENT_FORM,
    Harness,
    form_without,
    start_test_server,
)
from workers.intake import create_app
from workers.quarantine import Quarantine
from workers.settings import Settings
from workers.temporal import INTAKE_RETRY, connect
from workflows.new_hire import NewHireWorkflow

SECRET = "intake-test-secret"
HEADER = "X-Saksflyt-Secret"
TOA_FORM = form_without("Lønnsform", extra="Lønnsform: Timelønn")
SIGNALLED = "workflow_execution_signaled_event_attributes"


# -- the app ---------------------------------------------------------------------------------------


@asynccontextmanager
async def serve(
    client: Client | None,
    task_queue: str,
    topdesk: TopdeskPort | None = None,
    quarantine: Quarantine | None = None,
) -> AsyncIterator[httpx.AsyncClient]:
    """The intake app on `client`, its lifespan entered. Without a client the lifespan is skipped:
    a request that gets as far as Temporal then fails the test. Without a TOPdesk, a request
    that gets as far as routing fails too (nothing listens where it would look)."""

    async def connect() -> Client:
        assert client is not None
        return client

    settings = Settings(
        task_queue=task_queue,
        webhook_secret=SecretStr(SECRET),
        webhook_secret_header=HEADER,
        topdesk_url="http://127.0.0.1:9",
    )
    if quarantine is None:
        quarantine = Quarantine(Path(tempfile.mkdtemp()) / "quarantine.db")
    app = create_app(settings, connect, topdesk, quarantine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
        if client is None:
            yield http
        else:
            async with app.router.lifespan_context(app):
                yield http


@pytest.fixture
def quarantine(tmp_path: Path) -> Quarantine:
    return Quarantine(tmp_path / "quarantine.db")


@pytest.fixture
async def intake(h: Harness, quarantine: Quarantine) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(h.client, h.task_queue, h.topdesk, quarantine) as http:
        yield http


@pytest.fixture
async def offline() -> AsyncIterator[httpx.AsyncClient]:
    """The intake with no Temporal behind it, for what it must refuse before asking Temporal."""
    async with serve(None, "unused") as http:
        yield http


# -- webhooks --------------------------------------------------------------------------------------


async def post(
    http: httpx.AsyncClient, path: str, body: dict[str, Any] | str, secret: str | None = SECRET
) -> httpx.Response:
    """POST a webhook; a str body is sent as it is, labelled JSON; secret None sends no header."""
    headers = {} if secret is None else {HEADER: secret}
    if isinstance(body, str):
        headers["Content-Type"] = "application/json"
        return await http.post(path, content=body, headers=headers)
    return await http.post(path, json=body, headers=headers)


async def accepted(http: httpx.AsyncClient, number: str, event: str, **extra: str) -> str:
    """Post a TOPdesk webhook that must be accepted; returns the intake's action."""
    body = {"number": number, "event": event, **extra}
    response = await post(http, "/webhooks/topdesk", body)
    assert response.status_code == 202, response.text
    assert response.json()["workflow_id"] == f"new-hire-{number}"
    return response.json()["action"]


async def dfo(
    http: httpx.AsyncClient, number: str, registration_id: str, event: str, **extra: str
) -> httpx.Response:
    body = {"case_number": number, "registration_id": registration_id, "event": event, **extra}
    return await post(http, "/webhooks/dfo", body)


# -- the case's workflow ---------------------------------------------------------------------------


def case(h: Harness, number: str) -> WorkflowHandle:
    """The handle of the case's workflow, ended (if still running) when the test is over."""
    handle = h.client.get_workflow_handle_for(NewHireWorkflow.run, f"new-hire-{number}")
    h.started.append(handle)
    return handle


async def execution(h: Harness, number: str) -> WorkflowExecutionInfo:
    """The case's workflow as the server describes it. Raw, not `handle.describe()`: the
    time-skipping server keeps an unset datetime search attribute as a null that the SDK
    cannot decode."""
    described = await h.client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=h.client.namespace,
            execution=WorkflowExecution(workflow_id=f"new-hire-{number}"),
        )
    )
    return described.workflow_execution_info


async def run_id(h: Harness, number: str) -> str:
    return (await execution(h, number)).execution.run_id


async def not_started(h: Harness, number: str) -> bool:
    try:
        await execution(h, number)
    except RPCError as error:
        assert error.status is RPCStatusCode.NOT_FOUND, error
        return True
    return False


async def events(handle: WorkflowHandle, kind: str) -> list[HistoryEvent]:
    """The history events of one kind, e.g. "workflow_execution_started"."""
    history = await handle.fetch_history()
    return [e for e in history.events if e.WhichOneof("attributes") == f"{kind}_event_attributes"]


async def activities(handle: WorkflowHandle, name: str) -> int:
    """How often the workflow has scheduled the activity `name`, e.g. "topdesk.read_case"."""
    scheduled = await events(handle, "activity_task_scheduled")
    return sum(
        e.activity_task_scheduled_event_attributes.activity_type.name == name for e in scheduled
    )


async def reads(handle: WorkflowHandle) -> int:
    """How often the workflow has read the case from TOPdesk."""
    return await activities(handle, "topdesk.read_case")


async def signals_handled(handle: WorkflowHandle) -> None:
    """Wait until a workflow task has completed after the last signal: whatever the signals made
    the workflow do (schedule a read, say) is then in the history."""

    async def handled() -> bool:
        history = list((await handle.fetch_history()).events)
        kinds = [e.WhichOneof("attributes") for e in history]
        signalled = [i for i, kind in enumerate(kinds) if kind == SIGNALLED]
        after = kinds[signalled[-1] + 1 :] if signalled else kinds
        return "workflow_task_completed_event_attributes" in after

    await eventually(handled, "the workflow to handle its signals")


async def awaiting_approval(h: Harness, intake: httpx.AsyncClient) -> tuple[str, WorkflowHandle]:
    """A complete form, started by webhook and registered in SAP: its number and handle."""
    number = h.submit()
    assert await accepted(intake, number, "incident_created") == "started"
    handle = case(h, number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    return number, handle


async def registration_of(handle: WorkflowHandle) -> str:
    registration_id = (await handle.query(NewHireWorkflow.progress)).registration_id
    assert registration_id is not None
    return registration_id


# -- incident_created ------------------------------------------------------------------------------


async def test_incident_created_starts_the_cases_workflow(h: Harness, intake: httpx.AsyncClient):
    number = h.submit()

    assert await accepted(intake, number, "incident_created") == "started"

    handle = case(h, number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    assert (await handle.query(NewHireWorkflow.progress)).case_number == number
    assert (await execution(h, number)).task_queue == h.task_queue


async def test_a_repeated_incident_created_starts_no_second_run(
    h: Harness, intake: httpx.AsyncClient
):
    number = h.submit()

    actions = [await accepted(intake, number, "incident_created") for _ in range(3)]
    first_run = await run_id(h, number)
    handle = case(h, number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    actions.append(await accepted(intake, number, "incident_created"))  # late, case moved on

    assert actions == ["started", "already_started", "already_started", "already_started"]
    assert await run_id(h, number) == first_run
    assert len(await events(handle, "workflow_execution_started")) == 1
    # the opening read and the form read: a "created" webhook is no event for a running case
    assert await reads(handle) == 2


async def test_a_late_incident_created_finds_a_case_that_has_moved_on(
    h: Harness, intake: httpx.AsyncClient
):
    """After a wait on the caller (a due date set, then unset) the case is still found running:
    the test server keeps the unset date as a null that `describe()` would fail to decode."""
    number = h.submit(form_without("Kontonummer"))
    assert await accepted(intake, number, "incident_created") == "started"
    handle = case(h, number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    replied = h.simulator.caller_reply(number, "Kontonummer: 8601 11 17947")
    await accepted(intake, number, "caller_replied", modificationDate=replied["modificationDate"])
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)

    assert await accepted(intake, number, "incident_created") == "already_started"

    assert len(await events(handle, "workflow_execution_started")) == 1


async def test_incident_created_for_a_finished_case_starts_nothing(
    h: Harness, intake: httpx.AsyncClient
):
    number = h.submit(TOA_FORM)
    assert await accepted(intake, number, "incident_created") == "started"
    handle = case(h, number)
    assert (await handle.result()).outcome is CaseOutcome.REFUSED
    finished_run = await run_id(h, number)

    assert await accepted(intake, number, "incident_created") == "case_finished"

    assert await run_id(h, number) == finished_run
    assert len(await events(handle, "workflow_execution_started")) == 1


# -- caller_replied --------------------------------------------------------------------------------


async def test_a_reply_to_a_finished_case_restarts_nothing_and_is_not_dropped(
    h: Harness, intake: httpx.AsyncClient
):
    """The finished case is neither started again nor signalled: the reply goes to a case
    that came back (tests/test_came_back.py), here a refused one's, to the case handler."""
    number = h.submit(TOA_FORM)
    assert await accepted(intake, number, "incident_created") == "started"
    handle = case(h, number)
    await handle.result()
    finished_run = await run_id(h, number)

    reply = await post(intake, "/webhooks/topdesk", {"number": number, "event": "caller_replied"})

    assert reply.json()["action"] == "came_back"
    assert reply.json()["workflow_id"].startswith(f"came-back-{number}-")
    came_back = h.client.get_workflow_handle(reply.json()["workflow_id"])
    assert "ble ikke registrert" in (await came_back.result())["reason"]
    assert await run_id(h, number) == finished_run
    assert await events(handle, "workflow_execution_signaled") == []


async def test_a_reply_that_overtakes_incident_created_starts_the_case(
    h: Harness, intake: httpx.AsyncClient
):
    number = h.submit()

    assert await accepted(intake, number, "caller_replied") == "signalled"
    handle = case(h, number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    assert await accepted(intake, number, "incident_created") == "already_started"

    assert len(await events(handle, "workflow_execution_started")) == 1
    assert len(h.sap.registrations()) == 1


async def test_caller_replied_moves_a_case_waiting_on_the_caller_on(
    h: Harness, intake: httpx.AsyncClient
):
    number = h.submit(form_without("Kontonummer"))
    assert await accepted(intake, number, "incident_created") == "started"
    handle = case(h, number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    assert h.sap.registrations() == []

    replied = h.simulator.caller_reply(number, "Kontonummer: 8601 11 17947")
    action = await accepted(
        intake, number, "caller_replied", modificationDate=replied["modificationDate"]
    )

    assert action == "signalled"
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    assert len(h.sap.registrations()) == 1


async def test_a_repeated_reply_delivery_is_counted_once(h: Harness, intake: httpx.AsyncClient):
    number = h.submit(form_without("Kontonummer"))
    assert await accepted(intake, number, "incident_created") == "started"
    handle = case(h, number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    assert await reads(handle) == 2  # the opening read and the form read

    replied = h.simulator.caller_reply(number, "Kontonummer: 8601 11 17947")
    for _ in range(2):  # TOPdesk delivers again: the same event, the same modification date
        await accepted(
            intake, number, "caller_replied", modificationDate=replied["modificationDate"]
        )

    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await signals_handled(handle)
    assert len(await events(handle, "workflow_execution_signaled")) == 2
    assert await reads(handle) == 3  # and one re-read for the one reply


async def test_each_new_reply_is_counted(h: Harness, intake: httpx.AsyncClient):
    """The other side of the de-duplication: a new modification date is a new event."""
    number, handle = await awaiting_approval(h, intake)

    for expected_reads, text in enumerate(
        ["Startdato: 01.02.2027", "Stillingsprosent: 100"], start=3
    ):
        replied = h.simulator.caller_reply(number, text)
        await accepted(
            intake, number, "caller_replied", modificationDate=replied["modificationDate"]
        )

        async def reread(expected: int = expected_reads) -> bool:
            return await reads(handle) == expected

        await eventually(reread, f"read number {expected_reads}")


# -- authentication and validation -----------------------------------------------------------------


@pytest.mark.parametrize("secret", ["wrong-secret", "", SECRET + "x", SECRET.upper()])
async def test_a_wrong_secret_is_refused_and_starts_nothing(
    h: Harness, intake: httpx.AsyncClient, secret: str
):
    number = h.submit()

    body = {"number": number, "event": "incident_created"}
    response = await post(intake, "/webhooks/topdesk", body, secret)

    assert response.status_code == 401
    assert await not_started(h, number)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/webhooks/topdesk", {"number": "I2611-0001", "event": "incident_created"}),
        (
            "/webhooks/dfo",
            {"case_number": "I2611-0001", "registration_id": "1", "event": "approved"},
        ),
        ("/webhooks/topdesk", {"event": "incident_created"}),  # invalid too: the 401 comes first
    ],
)
async def test_a_webhook_without_the_secret_is_refused(
    offline: httpx.AsyncClient, path: str, body: dict[str, str]
):
    response = await post(offline, path, body, secret=None)

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "field", "error"),
    [
        ({"event": "incident_created"}, "number", "missing"),
        ({"number": "I2611-0001"}, "event", "missing"),
        ({"number": "I2611-0001", "event": "deleted"}, "event", "literal_error"),
        ({"number": "../etc", "event": "incident_created"}, "number", "string_pattern_mismatch"),
        (
            {"number": "I2611/0001", "event": "incident_created"},
            "number",
            "string_pattern_mismatch",
        ),
        ({"number": "I" * 41, "event": "incident_created"}, "number", "string_pattern_mismatch"),
        ({"number": 26110001, "event": "incident_created"}, "number", "string_type"),
        (
            {"number": "I2611-0001", "event": "caller_replied", "modificationDate": "x" * 41},
            "modificationDate",
            "string_too_long",
        ),
    ],
)
async def test_a_malformed_topdesk_webhook_is_refused_naming_the_field(
    offline: httpx.AsyncClient, body: dict[str, Any], field: str, error: str
):
    response = await post(offline, "/webhooks/topdesk", body)

    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert (problem["loc"], problem["type"]) == (["body", field], error)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"registration_id": "1", "event": "approved"}, "case_number"),
        ({"case_number": "../etc", "registration_id": "1", "event": "approved"}, "case_number"),
        (
            {"case_number": "I2611-0001", "registration_id": "", "event": "approved"},
            "registration_id",
        ),
        ({"case_number": "I2611-0001", "registration_id": "1", "event": "maybe"}, "event"),
    ],
)
async def test_a_malformed_dfo_webhook_is_refused_naming_the_field(
    offline: httpx.AsyncClient, body: dict[str, Any], field: str
):
    response = await post(offline, "/webhooks/dfo", body)

    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", field]


@pytest.mark.parametrize("body", ['{"number": "I2611-0001", "event": ', "number=I2611-0001"])
async def test_a_body_that_is_not_json_is_refused(offline: httpx.AsyncClient, body: str):
    response = await post(offline, "/webhooks/topdesk", body)

    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["type"] == "json_invalid"


async def test_unknown_fields_are_tolerated(h: Harness, intake: httpx.AsyncClient):
    number = h.submit()

    action = await accepted(
        intake, number, "incident_created", processingStatus="Registrert", sender="TOPdesk"
    )

    assert action == "started"
    await h.wait_state(case(h, number), WaitState.AWAITING_APPROVAL)


# -- DFØ -------------------------------------------------------------------------------------------


async def test_dfo_approved_completes_the_case(h: Harness, intake: httpx.AsyncClient):
    number, handle = await awaiting_approval(h, intake)
    registration_id = await registration_of(handle)
    h.sap.decide(registration_id, approved=True)

    response = await dfo(intake, number, registration_id, "approved")

    assert response.status_code == 202
    assert response.json() == {"workflow_id": f"new-hire-{number}", "action": "signalled"}
    result = await handle.result()
    assert result.outcome is CaseOutcome.REGISTERED
    assert result.registration_id == registration_id
    assert h.status(number) == "Fullført"
    # The webhook woke the case to ask SAP at once; the daily look (a timer) never fired.
    assert await activities(handle, "sap.approval_status") == 1
    assert await events(handle, "timer_fired") == []


async def test_dfo_rejected_sends_the_case_back_to_the_caller(
    h: Harness, intake: httpx.AsyncClient
):
    number, handle = await awaiting_approval(h, intake)
    registration_id = await registration_of(handle)
    h.sap.decide(registration_id, approved=False, reason="Feil stillingsprosent")

    response = await dfo(
        intake, number, registration_id, "rejected", reason="Feil stillingsprosent"
    )

    assert response.status_code == 202
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    assert "Feil stillingsprosent" in h.replies(number)[-1]


async def test_dfo_for_a_case_that_is_not_running_is_404_not_503(
    h: Harness, intake: httpx.AsyncClient
):
    """A decision for a finished (or unknown) case cannot be delivered later either: a 503 with
    Retry-After would have DFØ send it again, in vain."""
    finished = h.submit(TOA_FORM)
    assert await accepted(intake, finished, "incident_created") == "started"
    await case(h, finished).result()

    response = await dfo(intake, finished, "1", "approved")

    assert response.status_code == 404, response.text
    assert "Retry-After" not in response.headers


# -- Temporal unavailable, health ------------------------------------------------------------------


async def test_temporal_unreachable_keeps_the_event_in_the_outbox_and_answers_202(
    h: Harness, tmp_path: Path
):
    """A 503 may be the last word on the event (TOPdesk's retries are UNCONFIRMED), so the routed
    event is kept on disk instead; tests/test_outbox.py has it handed on once Temporal is back."""
    from workers.outbox import Outbox

    gone = await start_test_server()
    # connected as `saksflyt intake` connects: retries bounded so that the sender is answered soon
    address = gone.client.service_client.config.target_host
    client = await connect(Settings(temporal_address=address), INTAKE_RETRY)
    await gone.shutdown()
    number = h.submit()

    held = Quarantine(tmp_path / "quarantine.db")  # the outbox lies beside it
    async with serve(client, h.task_queue, h.topdesk, held) as http:
        body = {"number": number, "event": "incident_created"}
        response = await post(http, "/webhooks/topdesk", body)

    assert response.status_code == 202
    assert response.json() == {"workflow_id": f"new-hire-{number}", "action": "queued"}
    [queued] = Outbox(tmp_path / "intake-outbox.db").events()
    assert queued.workflow_id == f"new-hire-{number}" and number in queued.body
    assert await not_started(h, number)


async def test_healthz_answers_ok(offline: httpx.AsyncClient):
    response = await offline.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_an_empty_webhook_secret_refuses_to_start_rather_than_accept_every_webhook():
    async def never() -> Client:
        raise AssertionError("not reached")

    with pytest.raises(ValueError, match="WEBHOOK_SECRET"):
        create_app(Settings(webhook_secret=SecretStr("")), never)


# -- routing by the case's category ------------------------------------------------------------


async def routed_to(intake: httpx.AsyncClient, number: str, event: str) -> dict[str, Any]:
    response = await post(intake, "/webhooks/topdesk", {"number": number, "event": event})
    assert response.status_code == 202, response.text
    return dict(response.json())


@pytest.mark.parametrize(
    ("category", "form", "prefix"),
    [
        ("Forlengelse", EXTENSION_FORM, "extension"),
        ("Fratredelse", SETTLEMENT_FORM, "final-settlement"),
        ("Pensjon", "Skjema: Pensjon\nNavn: Kari Nordmann", "pension"),
        ("Andre endringer arbeidsforhold", "Endringstype: Kontering", "employment-change"),
    ],
)
async def test_a_case_is_started_as_the_process_its_topdesk_category_names(
    h: Harness, intake: httpx.AsyncClient, category: str, form: str, prefix: str
):
    number = h.submit(form, category)

    answer = await routed_to(intake, number, "incident_created")

    assert answer == {"workflow_id": f"{prefix}-{number}", "action": "started"}
    handle = h.client.get_workflow_handle(f"{prefix}-{number}")
    h.started.append(handle)
    assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
    assert await not_started(h, number)  # and no new-hire workflow for it


async def test_a_case_of_a_category_no_process_handles_is_quarantined_not_dropped(
    h: Harness, intake: httpx.AsyncClient, quarantine: Quarantine
):
    number = h.submit("Reise til Sverige", "Reiseplanlegger")

    answer = await routed_to(intake, number, "incident_created")

    assert answer == {"workflow_id": None, "action": "quarantined"}
    [held] = quarantine.events()
    assert held.source == "topdesk" and number in held.body
    assert "Reiseplanlegger" in held.reason
    assert await not_started(h, number)


async def test_an_event_for_a_case_topdesk_does_not_know_is_quarantined(
    h: Harness, intake: httpx.AsyncClient, quarantine: Quarantine
):
    response = await dfo(intake, "I9999-9999", "1", "approved")

    assert response.status_code == 202
    assert response.json()["action"] == "quarantined"
    [held] = quarantine.events()
    assert held.source == "dfo" and "I9999-9999" in held.reason


async def test_topdesk_unreachable_while_routing_answers_503_with_retry_after(h: Harness):
    async with serve(h.client, h.task_queue, topdesk=None) as http:  # nothing at its address
        response = await post(http, "/webhooks/topdesk", {"number": "I2611-0001", "event": "x"})
        assert response.status_code == 422  # validation still comes first
        response = await post(
            http, "/webhooks/topdesk", {"number": "I2611-0001", "event": "incident_created"}
        )

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"


async def test_a_reply_on_a_resignation_case_reaches_the_resignation_workflow(
    h: Harness, intake: httpx.AsyncClient
):
    resigned.employee(h)
    handle = await resigned.start(h, await resigned.submit(h, ansattnummer="05009999"))
    number = await resigned.case_of(h, handle)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    h.simulator.caller_reply(number, f"Ansattnummer: {resigned.EMPLOYEE}")

    answer = await routed_to(intake, number, "caller_replied")

    assert answer == {"workflow_id": handle.id, "action": "signalled"}
    await resigned.on_hold(h, handle)  # the answer was read: the settlement waits for its run
