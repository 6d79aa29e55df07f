"""The backfill (issue 4, item 6): its window and hints as rules; then over HTTP on loopback, the
TOPdesk simulator delivering webhooks to a real intake and dropping some, the workflows on the
time-skipping test server; and its schedule on the dev server (the test server has none)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionResult,
    ScheduleActionStartWorkflow,
    ScheduleOverlapPolicy,
    WorkflowFailureError,
    WorkflowHandle,
)
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.backfill import (
    INTAKE_AUTH_FAILED,
    INTAKE_REFUSED,
    INTAKE_UNAVAILABLE,
    BackfillActivities,
    Intake,
    intake_failure,
)
from adapters.dfo.archive import ArchiveStub
from adapters.dfo.portal import PortalStub
from adapters.dfo.sap import SapStub
from adapters.dfo.spk import SpkStub
from adapters.topdesk.client import TopdeskClient
from adapters.topdesk.models import NewIncident, Ref
from adapters.topdesk.simulator import FaultRule, SimulatorConfig, TopdeskSimulator, WebhookConfig
from domain import resignation
from domain.backfill import (
    EVERY,
    OVERLAP,
    BackfillInput,
    BackfillResult,
    Hint,
    ListedCase,
    hints_for,
    modified_since_query,
    window_start,
)
from domain.cases import WaitState
from tests.eventually import eventually
from tests.harness import Harness, form_without
from tests.scenarios_backfill import (
    HEADER,
    ROUTED,
    SECRET,
    backfill_worker,
    free_port,
    intake_on_loopback,
    start_backfill,
)
from tests.test_intake import (
    case,
    events,
    not_started,
    reads,
    run_id,
    signals_handled,
)
from workers.schedules import BACKFILL, ensure_schedules
from workers.settings import Settings
from workers.worker import Systems, build_worker
from workflows.backfill import Backfill
from workflows.search_attributes import SCHEDULED_START

NOW = datetime(2026, 11, 23, 19, 10, 0, 250_000, tzinfo=UTC)
INPUT = BackfillInput(categories=ROUTED)


# -- rules: the window ---------------------------------------------------------------------


def test_a_first_run_looks_back_one_interval_and_the_overlap_from_its_scheduled_start():
    assert window_start(INPUT, None, NOW) == NOW - EVERY - OVERLAP


def test_a_later_run_starts_where_the_previous_run_listed_less_the_overlap():
    """Not from its own start: a run skipped while the last one waited out an intake outage
    would otherwise leave its 15 minutes unread."""
    previous = BackfillResult(since=NOW - timedelta(hours=3), listed_at=NOW, listed=0, sent=[])
    assert window_start(INPUT, previous, NOW + timedelta(hours=2)) == NOW - OVERLAP


def test_a_run_by_hand_from_a_given_moment_takes_it_as_it_is():
    previous = BackfillResult(since=NOW, listed_at=NOW, listed=0, sent=[])
    since = NOW - timedelta(days=2)
    assert window_start(INPUT.model_copy(update={"since": since}), previous, NOW) == since


def test_the_query_asks_for_cases_modified_since_the_window_in_the_routed_categories_only():
    query = modified_since_query(NOW, ["Nyansettelse", "Andre endringer arbeidsforhold", "A'b"])
    assert query == (
        "modificationDate=ge=2026-11-23T19:10:00Z;"  # whole seconds, rounded down
        "category.name=in=('Nyansettelse','Andre endringer arbeidsforhold','A\\'b')"
    )


# -- rules: which webhook each case should have sent ------------------------------------------


def listed(**fields: object) -> ListedCase:
    values: dict[str, object] = {
        "number": "I2611-0001",
        "status": "I arbeid",
        "open": True,
        "created": NOW,
        "modified": NOW + timedelta(minutes=1),
    }
    return ListedCase.model_validate({**values, **fields})


def events_of(case: ListedCase, since: datetime = NOW) -> list[tuple[str, str | None]]:
    return [(hint.event, hint.modification_date) for hint in hints_for(case, since)]


def test_an_open_case_created_in_the_window_is_sent_as_created():
    assert events_of(listed(status="Registrert")) == [("incident_created", None)]


def test_a_case_created_before_the_window_and_changed_since_by_saksflyt_is_not_sent():
    assert events_of(listed(created=NOW - timedelta(seconds=1))) == []


def test_a_case_completed_or_closed_before_anyone_saw_it_is_not_started():
    assert events_of(listed(status="Fullført", open=False)) == []


def test_a_reply_is_sent_dated_by_the_callers_own_entry_not_by_the_latest_change():
    """The date is the intake's event key: the one TOPdesk's webhook had for that reply. A note
    saksflyt wrote later does not make the reply look new."""
    wrote = NOW + timedelta(seconds=30, milliseconds=7)
    case = listed(
        status="Oppdatert av bruker",
        created=NOW - timedelta(days=1),
        modified=NOW + timedelta(minutes=5),
        caller_wrote=wrote,
    )
    assert events_of(case) == [("caller_replied", "2026-11-23T19:10:30.257+0000")]


def test_a_reopened_case_is_sent_as_reopened():
    case = listed(status="Gjenåpnet av bruker", created=NOW - timedelta(days=30), caller_wrote=NOW)
    assert events_of(case) == [("reopened", "2026-11-23T19:10:00.250+0000")]


def test_a_reply_from_before_the_window_is_not_sent_again():
    case = listed(status="Oppdatert av bruker", created=NOW - timedelta(days=1), caller_wrote=NOW)
    assert events_of(case, since=NOW + timedelta(seconds=1)) == []


def test_a_new_case_the_caller_has_written_in_already_is_sent_as_created_then_replied():
    case = listed(status="Oppdatert av bruker", caller_wrote=NOW + timedelta(seconds=1))
    assert [event for event, _ in events_of(case)] == ["incident_created", "caller_replied"]


# -- rules: the intake's answers --------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind", "final"),
    [
        (503, INTAKE_UNAVAILABLE, False),  # Temporal or TOPdesk away: the intake says retry
        (429, INTAKE_UNAVAILABLE, False),
        (502, INTAKE_UNAVAILABLE, False),
        (401, INTAKE_AUTH_FAILED, True),  # the secret is wrong: every case would fail alike
        (403, INTAKE_AUTH_FAILED, True),
        (404, INTAKE_REFUSED, True),  # this case only
        (422, INTAKE_REFUSED, True),
        (500, INTAKE_REFUSED, True),  # the intake's own bug: retrying would hold every run
    ],
)
def test_an_intake_answer_is_retried_or_final_as_a_sender_should_take_it(
    status: int, kind: str, final: bool
):
    error = intake_failure(status, "detail", None)
    assert (error.type, error.non_retryable) == (kind, final)


def test_the_intakes_retry_after_sets_the_next_attempt_within_a_limit():
    assert intake_failure(503, "", timedelta(seconds=30)).next_retry_delay == timedelta(seconds=30)
    assert intake_failure(503, "", timedelta(days=1)).next_retry_delay == timedelta(minutes=10)


def test_an_intake_that_does_not_answer_is_retried(topdesk: TopdeskClient):
    nowhere = Intake(f"http://127.0.0.1:{free_port()}/webhooks/topdesk", SECRET, HEADER)
    with pytest.raises(ApplicationError) as raised:
        BackfillActivities(topdesk, nowhere).send(Hint(number="I1", event="incident_created"))
    assert (raised.value.type, raised.value.non_retryable) == (INTAKE_UNAVAILABLE, False)


# -- the stack: TOPdesk delivering webhooks to the intake, which may drop some ---------------


@pytest.fixture
def intake_port() -> int:
    return free_port()


@pytest.fixture
def simulator(tmp_path: Path, intake_port: int) -> Iterator[TopdeskSimulator]:
    """TOPdesk, with its action sequence posting every event to the intake (this replaces the
    shared fixture of the same name, so the harness reads and writes this one)."""
    webhook = WebhookConfig(
        url=f"http://127.0.0.1:{intake_port}/webhooks/topdesk",
        secret=SECRET,
        secret_header=HEADER,
        backoff_seconds=0.05,
    )
    config = SimulatorConfig(db_path=tmp_path / "topdesk.db", webhook=webhook)
    with TopdeskSimulator(config) as running:
        yield running


@pytest.fixture
async def intake(h: Harness, intake_port: int) -> AsyncIterator[str]:
    async with intake_on_loopback(h, intake_port) as url:
        yield url


@pytest.fixture
async def backfill(h: Harness, intake: str) -> AsyncIterator[str]:
    """The task queue of a worker whose backfill posts to the intake with the right secret."""
    async with backfill_worker(h, Intake(intake, SECRET, HEADER)) as task_queue:
        yield task_queue


async def run(h: Harness, task_queue: str, input: BackfillInput = INPUT) -> BackfillResult:
    return await (await start_backfill(h, task_queue, input)).result()


def since(moment: datetime) -> BackfillInput:
    return INPUT.model_copy(update={"since": moment})


def sent(result: BackfillResult) -> list[tuple[str, str, str | None]]:
    return [(s.number, s.event, s.action) for s in result.sent]


def dropped(h: Harness, number: str) -> dict[str, str]:
    """The body of the webhook TOPdesk lost for this case: what a late delivery would carry."""
    [lost] = [
        d
        for d in h.simulator.webhook_deliveries()
        if d["status"] == "dropped" and number in d["body"]
    ]
    return dict(json.loads(lost["body"]))


async def deliver_late(intake: str, body: dict[str, str]) -> str:
    """The lost webhook arrives after all (TOPdesk's own retry, or a redelivery by hand)."""
    async with httpx.AsyncClient() as http:
        response = await http.post(intake, json=body, headers={HEADER: SECRET})
    assert response.status_code == 202, response.text
    return str(response.json()["action"])


async def started(h: Harness, number: str) -> bool:
    return not await not_started(h, number)


async def starts(handle: WorkflowHandle) -> int:
    return len(await events(handle, "workflow_execution_started"))


async def attempts(handle: WorkflowHandle, activity: str) -> list[int]:
    """The attempt each run of `activity` ended on (history keeps the last attempt's start)."""
    history = list((await handle.fetch_history()).events)
    scheduled = {
        e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history
        if e.HasField("activity_task_scheduled_event_attributes")
    }
    return [
        e.activity_task_started_event_attributes.attempt
        for e in history
        if _started(e)
        and scheduled[e.activity_task_started_event_attributes.scheduled_event_id] == activity
    ]


def _started(event: HistoryEvent) -> bool:
    return event.HasField("activity_task_started_event_attributes")


# -- the backfill over HTTP --------------------------------------------------------------------


async def test_a_case_whose_webhook_was_dropped_is_started_once_however_often_it_is_told(
    h: Harness, intake: str, backfill: str
):
    h.simulator.drop_webhooks(1)
    number = h.submit()

    first = await run(h, backfill)
    handle = case(h, number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    started_run = await run_id(h, number)
    # the next run overlaps the first by five minutes: the new case is in both windows
    second = await run(
        h, backfill, INPUT.model_copy(update={"since": window_start(INPUT, first, NOW)})
    )
    late = await deliver_late(intake, dropped(h, number))

    assert sent(first) == [(number, "incident_created", "started")]
    assert sent(second) == [(number, "incident_created", "already_started")]
    assert late == "already_started"
    assert await starts(handle) == 1
    assert await run_id(h, number) == started_run


async def test_a_dropped_caller_reply_is_caught_and_its_late_webhook_changes_nothing(
    h: Harness, intake: str, backfill: str
):
    number = h.submit(form_without("Kontonummer"))  # its "created" webhook arrives
    await eventually(lambda: started(h, number), "the webhook to start the case")
    handle = case(h, number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    h.simulator.drop_webhooks(1)
    h.simulator.caller_reply(number, "Kontonummer: 8601 11 17947")
    lost = dropped(h, number)

    result = await run(h, backfill)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)  # the reply reached the case
    read = await reads(handle)
    late = await deliver_late(intake, lost)
    await signals_handled(handle)

    assert sent(result) == [
        (number, "incident_created", "already_started"),
        (number, "caller_replied", "signalled"),
    ]
    # the same event key as the lost webhook's: the workflow takes the late one as a repeat
    assert result.sent[1].modification_date == lost["modificationDate"]
    assert late == "signalled"
    assert await reads(handle) == read
    assert await starts(handle) == 1


async def test_a_case_outside_the_window_is_not_sent(h: Harness, intake: str, backfill: str):
    h.simulator.drop_webhooks(2)
    before = h.submit()
    modified = h.topdesk.get_incident(before).modification_date
    assert modified is not None
    inside = h.submit()

    result = await run(
        h, backfill, INPUT.model_copy(update={"since": modified + timedelta(milliseconds=1)})
    )

    assert sent(result) == [(inside, "incident_created", "started")]
    assert result.listed == 1
    assert await not_started(h, before)


async def test_every_page_of_the_listing_is_read(h: Harness, intake: str, backfill: str):
    h.simulator.drop_webhooks(5)
    numbers = [h.submit() for _ in range(5)]

    result = await run(h, backfill, INPUT.model_copy(update={"page_size": 2}))  # three pages

    assert result.listed == 5
    assert sorted(sent(result)) == [(n, "incident_created", "started") for n in numbers]


async def test_an_intake_outage_is_waited_out_and_the_case_starts_once(h: Harness):
    """The intake answers 503 while it cannot read the case from TOPdesk; the send is retried
    (after the intake's Retry-After) until it is taken."""
    config = h.simulator.config
    no_retries = TopdeskClient(h.simulator.url, config.login, config.app_password, attempts=1)
    h.simulator.drop_webhooks(1)
    number = h.submit()
    h.simulator.inject_fault(
        FaultRule(
            "status", method="GET", path_prefix=f"/tas/api/incidents/number/{number}", times=2
        )
    )
    async with (
        intake_on_loopback(h, topdesk=no_retries) as url,
        backfill_worker(h, Intake(url, SECRET, HEADER)) as task_queue,
    ):
        handle = await start_backfill(h, task_queue)
        result = await handle.result()

    assert sent(result) == [(number, "incident_created", "started")]
    assert await attempts(handle, "backfill.send") == [3]
    assert await starts(case(h, number)) == 1


async def test_a_wrong_secret_fails_the_run_at_once_and_starts_nothing(h: Harness, intake: str):
    h.simulator.drop_webhooks(1)
    number = h.submit()
    async with backfill_worker(h, Intake(intake, "not-the-secret", HEADER)) as task_queue:
        handle = await start_backfill(h, task_queue)
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()

    cause = failed.value.cause
    assert isinstance(cause, ActivityError) and isinstance(cause.cause, ApplicationError)
    assert cause.cause.type == INTAKE_AUTH_FAILED
    assert await attempts(handle, "backfill.send") == [1]
    assert await not_started(h, number)


async def test_an_intake_that_asks_for_signatures_takes_the_backfills_signed_webhooks(h: Harness):
    h.simulator.drop_webhooks(1)
    number = h.submit()
    async with (
        intake_on_loopback(h, hmac_key="signing-key") as url,
        backfill_worker(h, Intake(url, SECRET, HEADER, hmac_key="signing-key")) as task_queue,
    ):
        result = await (await start_backfill(h, task_queue)).result()

    assert sent(result) == [(number, "incident_created", "started")]


async def test_a_case_the_intake_refuses_for_good_is_noted_and_the_others_go_on(
    h: Harness, intake: str, backfill: str
):
    """A resignation case whose workflow is gone (here: never ran) has nothing to start or
    signal, so the intake answers 404; the run notes it and sends the next case."""
    h.simulator.drop_webhooks(3)
    gone = h.topdesk.create_incident(
        NewIncident(
            caller_lookup={"email": "hr@ntnu.no"},
            brief_description="Oppsigelse",
            request="Oppsigelse",
            category=Ref(name=resignation.CATEGORY),
            external_number="OPP-009999",
        )
    ).number
    h.simulator.caller_reply(gone, "Jeg har et spørsmål")
    fine = h.submit()

    result = await run(h, backfill)

    assert [(s.number, s.event, s.action, s.refused is not None) for s in result.sent] == [
        (gone, "incident_created", None, True),
        (gone, "caller_replied", None, True),
        (fine, "incident_created", "started", False),
    ]


# -- the schedule, on the dev server ----------------------------------------------------------


async def triggered(client: Client, seen: int) -> str:
    """Trigger the backfill's schedule; the id of the run it started."""
    handle = client.get_schedule_handle(BACKFILL)
    await handle.trigger()

    async def recent() -> list[ScheduleActionResult]:
        actions = (await handle.describe()).info.recent_actions
        return actions if len(actions) > seen else []

    action = (await eventually(recent, "the schedule to start a run"))[-1].action
    assert isinstance(action, ScheduleActionExecutionStartWorkflow)
    return action.workflow_id


async def test_the_schedule_runs_every_15_minutes_and_each_run_starts_where_the_last_listed(
    dev_server: WorkflowEnvironment,
    topdesk: TopdeskClient,
    sap: SapStub,
    spk: SpkStub,
    archive: ArchiveStub,
    portal: PortalStub,
):
    client = dev_server.client
    settings = Settings(
        temporal_address=client.service_client.config.target_host,
        task_queue=f"backfill-{uuid.uuid4()}",
    )
    done = await ensure_schedules(client, settings)
    schedule = (await client.get_schedule_handle(BACKFILL).describe()).schedule
    nowhere = Intake(f"http://127.0.0.1:{free_port()}/webhooks/topdesk", SECRET, HEADER)
    systems = Systems(topdesk, sap, spk, archive, portal, intake=nowhere)  # no case to send
    async with build_worker(client, settings.task_queue, systems):
        first_id = await triggered(client, 0)
        first = await client.get_workflow_handle_for(Backfill.run, first_id).result()
        # a run's id is the schedule's and the second it started: the next run, a second later
        await eventually(
            lambda: (
                datetime.now(UTC).replace(microsecond=0) > first.listed_at.replace(microsecond=0)
            ),
            "the next second",
        )
        second_id = await triggered(client, 1)
        second = await client.get_workflow_handle_for(Backfill.run, second_id).result()
        scheduled = (await client.get_workflow_handle(first_id).describe()).typed_search_attributes

    assert f"{BACKFILL}: opprettet" in done
    [interval] = schedule.spec.intervals
    assert interval.every == timedelta(minutes=15)
    assert schedule.policy.overlap is ScheduleOverlapPolicy.SKIP
    action = schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow) and action.workflow == "Backfill"
    start = scheduled.get(SCHEDULED_START)
    assert start is not None and first.since == start - EVERY - OVERLAP
    assert second.since == first.listed_at - OVERLAP
    assert first.sent == second.sent == []
