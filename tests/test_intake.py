"""The webhook intake (workers/intake.py) over ASGI, against the time-skipping Temporal test server,
the TOPdesk simulator and the SAP stub: one test per rule of the intake."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RetryConfig, RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from domain.cases import WaitState
from domain.new_hire import NewHireOutcome
from tests.harness import Harness, form_without
from workers.intake import create_app
from workers.settings import Settings
from workers.temporal import binary, data_converter
from workflows.new_hire import NewHireWorkflow

SECRET = "intake-test-secret"
HEADER = "X-Saksflyt-Secret"
TOA_FORM = form_without("Lønnsform", extra="Lønnsform: Timelønn")


# -- helpers -------------------------------------------------------------------------------


@asynccontextmanager
async def serve(client: Client | None, task_queue: str) -> AsyncIterator[httpx.AsyncClient]:
    """The intake app on `client`, lifespan entered; with no client, the lifespan is skipped and
    any request that reaches Temporal fails (for checks that must stop before it)."""

    async def connect() -> Client:
        assert client is not None
        return client

    settings = Settings(task_queue=task_queue, webhook_secret=SECRET, webhook_secret_header=HEADER)
    app = create_app(settings, connect)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
        if client is None:
            yield http
            return
        async with app.router.lifespan_context(app):
            yield http


async def post(
    http: httpx.AsyncClient, path: str, body: dict[str, Any] | str, secret: str | None = SECRET
) -> httpx.Response:
    headers = {} if secret is None else {HEADER: secret}
    if isinstance(body, str):
        headers["Content-Type"] = "application/json"
        return await http.post(path, content=body, headers=headers)
    return await http.post(path, json=body, headers=headers)


async def topdesk(http: httpx.AsyncClient, number: str, event: str, **extra: str) -> httpx.Response:
    return await post(http, "/webhooks/topdesk", {"number": number, "event": event, **extra})


async def accepted(http: httpx.AsyncClient, number: str, event: str, **extra: str) -> str:
    """Post a TOPdesk webhook that must be accepted; returns the intake's action."""
    response = await topdesk(http, number, event, **extra)
    assert response.status_code == 202, response.text
    assert response.json()["workflow_id"] == f"new-hire-{number}"
    return response.json()["action"]


def case(h: Harness, number: str) -> WorkflowHandle:
    """The handle of the case's workflow, ended (if still running) when the test is over."""
    handle = h.client.get_workflow_handle_for(NewHireWorkflow.run, f"new-hire-{number}")
    h.started.append(handle)
    return handle


async def wait_until(check: Callable[[], Any], what: str, timeout: float = 10) -> None:
    """Poll the coroutine function `check` until it returns true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def events(handle: WorkflowHandle, kind: str) -> list[HistoryEvent]:
    """The history events of one kind, e.g. "workflow_execution_started"."""
    history = await handle.fetch_history()
    return [event for event in history.events if event.HasField(f"{kind}_event_attributes")]


async def reads(handle: WorkflowHandle) -> int:
    """How often the workflow has read the case from TOPdesk."""
    scheduled = await events(handle, "activity_task_scheduled")
    return sum(
        e.activity_task_scheduled_event_attributes.activity_type.name == "topdesk.read_case"
        for e in scheduled
    )


async def signals_handled(handle: WorkflowHandle) -> None:
    """Wait until a workflow task has completed after the last signal: whatever the signals
    made the workflow do (schedule a read, say) is then in the history."""

    async def handled() -> bool:
        history = (await handle.fetch_history()).events
        last_signal = max(
            (
                i
                for i, e in enumerate(history)
                if e.HasField("workflow_execution_signaled_event_attributes")
            ),
            default=-1,
        )
        return any(
            e.HasField("workflow_task_completed_event_attributes")
            for e in history[last_signal + 1 :]
        )

    await wait_until(handled, "the workflow to handle its signals")


async def not_started(h: Harness, number: str) -> bool:
    try:
        await h.client.get_workflow_handle(f"new-hire-{number}").describe()
    except RPCError as error:
        assert error.status is RPCStatusCode.NOT_FOUND
        return True
    return False


@pytest.fixture
async def intake(h: Harness) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(h.client, h.task_queue) as http:
        yield http


@pytest.fixture
async def offline() -> AsyncIterator[httpx.AsyncClient]:
    """The intake with no Temporal behind it: for what must be refused before Temporal."""
    async with serve(None, "unused") as http:
        yield http


# -- incident_created ----------------------------------------------------------------------


async def test_incident_created_starts_the_cases_workflow(h: Harness, intake: httpx.AsyncClient):
    number = h.submit()

    assert await accepted(intake, number, "incident_created") == "started"

    handle = case(h, number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    progress = await handle.query(NewHireWorkflow.progress)
    assert progress.case_number == number
    assert (await handle.describe()).task_queue == h.task_queue


async def test_a_repeated_incident_created_starts_no_second_run(
    h: Harness, intake: httpx.AsyncClient
):
    number = h.submit()

    actions = [await accepted(intake, number, "incident_created") for _ in range(3)]

    assert actions == ["started", "already_started", "already_started"]
    handle = case(h, number)
    first_run = (await handle.describe()).run_id
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    assert (await handle.describe()).run_id == first_run
    assert len(await events(handle, "workflow_execution_started")) == 1
    assert await reads(handle) == 1


async def test_incident_created_for_a_finished_case_starts_nothing(
    h: Harness, intake: httpx.AsyncClient
):
    number = h.submit(TOA_FORM)
    assert await accepted(intake, number, "incident_created") == "started"
    handle = case(h, number)
    assert (await handle.result()).outcome is NewHireOutcome.REFUSED
    finished_run = (await handle.describe()).run_id

    assert await accepted(intake, number, "incident_created") == "case_finished"

    assert (await handle.describe()).run_id == finished_run
    assert len(await events(handle, "workflow_execution_started")) == 1


async def test_a_reply_to_a_finished_case_starts_nothing(h: Harness, intake: httpx.AsyncClient):
    number = h.submit(TOA_FORM)
    assert await accepted(intake, number, "incident_created") == "started"
    handle = case(h, number)
    await handle.result()
    finished_run = (await handle.describe()).run_id

    assert await accepted(intake, number, "caller_replied") == "case_finished"

    assert (await handle.describe()).run_id == finished_run
    assert len(await events(handle, "workflow_execution_signaled")) == 0


# -- caller_replied ------------------------------------------------------------------------


async def test_a_reply_that_overtakes_incident_created_starts_the_case(
    h: Harness, intake: httpx.AsyncClient
):
    number = h.submit()

    assert await accepted(intake, number, "caller_replied") == "signalled"
    assert await accepted(intake, number, "incident_created") == "already_started"

    handle = case(h, number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    assert len(await events(handle, "workflow_execution_started")) == 1


async def test_caller_replied_moves_a_case_waiting_on_the_caller_on(
    h: Harness, intake: httpx.AsyncClient
):
    number = h.submit(form_without("Kontonummer"))
    assert await accepted(intake, number, "incident_created") == "started"
    handle = case(h, number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)

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
    assert await reads(handle) == 1

    replied = h.simulator.caller_reply(number, "Kontonummer: 8601 11 17947")
    for _ in range(2):  # TOPdesk retried: the same event, the same modification date
        await accepted(
            intake, number, "caller_replied", modificationDate=replied["modificationDate"]
        )

    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await signals_handled(handle)
    assert len(await events(handle, "workflow_execution_signaled")) == 2
    assert await reads(handle) == 2  # one re-read for the one reply


async def test_each_new_reply_is_counted(h: Harness, intake: httpx.AsyncClient):
    """The other side of the de-duplication: a new modification date is a new event."""
    number = h.submit()
    assert await accepted(intake, number, "incident_created") == "started"
    handle = case(h, number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)

    for text in ("Startdato: 01.02.2027", "Stillingstittel: Førsteamanuensis"):
        replied = h.simulator.caller_reply(number, text)
        await accepted(
            intake, number, "caller_replied", modificationDate=replied["modificationDate"]
        )
        await signals_handled(handle)
        await h.wait_state(handle, WaitState.AWAITING_APPROVAL)

    assert await reads(handle) == 3  # the first read, and one for each reply


# -- authentication and validation ---------------------------------------------------------


@pytest.mark.parametrize("secret", ["wrong-secret", "", SECRET + "x", SECRET.upper()])
async def test_a_wrong_secret_is_refused_and_starts_nothing(
    h: Harness, intake: httpx.AsyncClient, secret: str
):
    number = h.submit()

    response = await post(
        intake, "/webhooks/topdesk", {"number": number, "event": "incident_created"}, secret
    )

    assert response.status_code == 401
    assert await not_started(h, number)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/webhooks/topdesk", {"number": "I2601-0001", "event": "incident_created"}),
        (
            "/webhooks/dfo",
            {"case_number": "I2601-0001", "registration_id": "1", "event": "approved"},
        ),
        ("/webhooks/topdesk", {"event": "incident_created"}),  # invalid too: 401 comes first
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
        ({"number": "I2601-0001", "event": "deleted"}, "event", "literal_error"),
        ({"number": "I2601-0001"}, "event", "missing"),
        ({"number": "../etc", "event": "incident_created"}, "number", "string_pattern_mismatch"),
        (
            {"number": "I2601 0001/x", "event": "incident_created"},
            "number",
            "string_pattern_mismatch",
        ),
        ({"number": "I" * 41, "event": "incident_created"}, "number", "string_pattern_mismatch"),
        ({"number": 12, "event": "incident_created"}, "number", "string_type"),
        (
            {"number": "I2601-0001", "event": "caller_replied", "modificationDate": "x" * 41},
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
    assert problem["loc"] == ["body", field]
    assert problem["type"] == error


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"registration_id": "1", "event": "approved"}, "case_number"),
        ({"case_number": "../etc", "registration_id": "1", "event": "approved"}, "case_number"),
        (
            {"case_number": "I2601-0001", "registration_id": "", "event": "approved"},
            "registration_id",
        ),
        ({"case_number": "I2601-0001", "registration_id": "1", "event": "maybe"}, "event"),
    ],
)
async def test_a_malformed_dfo_webhook_is_refused_naming_the_field(
    offline: httpx.AsyncClient, body: dict[str, Any], field: str
):
    response = await post(offline, "/webhooks/dfo", body)

    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", field]


@pytest.mark.parametrize("body", ['{"number": "I2601-0001", "event": ', "number=I2601-0001"])
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


# -- DFØ -----------------------------------------------------------------------------------


async def dfo(
    http: httpx.AsyncClient, number: str, registration_id: str, event: str, **extra: str
) -> httpx.Response:
    body = {"case_number": number, "registration_id": registration_id, "event": event, **extra}
    return await post(http, "/webhooks/dfo", body)


async def awaiting_approval(h: Harness, intake: httpx.AsyncClient) -> tuple[WorkflowHandle, str]:
    """A complete form, started by webhook and registered: the handle and registration id."""
    number = h.submit()
    assert await accepted(intake, number, "incident_created") == "started"
    handle = case(h, number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    registration_id = (await handle.query(NewHireWorkflow.progress)).registration_id
    assert registration_id is not None
    return handle, registration_id


async def test_dfo_approved_completes_the_case(h: Harness, intake: httpx.AsyncClient):
    handle, registration_id = await awaiting_approval(h, intake)
    number = (await handle.query(NewHireWorkflow.progress)).case_number
    h.sap.decide(registration_id, approved=True)

    response = await dfo(intake, number, registration_id, "approved")

    assert response.status_code == 202
    assert response.json() == {"workflow_id": f"new-hire-{number}", "action": "signalled"}
    result = await handle.result()
    assert result.outcome is NewHireOutcome.REGISTERED
    assert result.registration_id == registration_id
    assert h.status(number) == "Fullført"
    polled = [
        e
        for e in await events(handle, "activity_task_scheduled")
        if e.activity_task_scheduled_event_attributes.activity_type.name == "sap.approval_status"
    ]
    assert polled == []  # the webhook's signal completed the case, not the daily look in SAP


async def test_dfo_rejected_sends_the_case_back_to_the_caller(
    h: Harness, intake: httpx.AsyncClient
):
    handle, registration_id = await awaiting_approval(h, intake)
    number = (await handle.query(NewHireWorkflow.progress)).case_number
    h.sap.decide(registration_id, approved=False, reason="Feil stillingsprosent")

    response = await dfo(
        intake, number, registration_id, "rejected", reason="Feil stillingsprosent"
    )

    assert response.status_code == 202
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    assert "Feil stillingsprosent" in h.replies(number)[-1]


# -- Temporal unavailable, health ----------------------------------------------------------


async def test_temporal_unreachable_answers_503_with_retry_after(h: Harness):
    gone = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"),
        data_converter=data_converter(),
    )
    # The intake's own client: retries bounded, so that the test does not wait out the default
    # ten seconds of the SDK's retries (see the report on intake.py).
    client = await Client.connect(
        gone.client.service_client.config.target_host,
        data_converter=data_converter(),
        retry_config=RetryConfig(max_retries=1, max_elapsed_time_millis=500),
    )
    await gone.shutdown()
    number = h.submit()

    async with serve(client, h.task_queue) as http:
        response = await post(
            http, "/webhooks/topdesk", {"number": number, "event": "incident_created"}
        )

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert await not_started(h, number)


async def test_healthz_answers_ok(offline: httpx.AsyncClient):
    response = await offline.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
