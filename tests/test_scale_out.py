"""Scale-out: two workers and two intakes (each with its own outbox and quarantine) against one
Temporal dev server, as replicas behind a load balancer run. New hires come in through the
TOPdesk simulator; their webhooks are spread over both intakes, some sent to both at once (a
sender's retry landing on the other replica). Each case must complete exactly once: one
workflow, one SAP registration.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from pathlib import Path

import httpx
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from adapters.dfo.archive import ArchiveStub
from adapters.dfo.portal import PortalStub
from adapters.dfo.sap import SapStub
from adapters.dfo.spk import SpkStub
from adapters.topdesk.client import TopdeskClient
from domain.cases import WaitState
from domain.new_hire import NewHireResult
from tests.eventually import eventually
from tests.harness import form_for_person
from tests.intake_server import intake_server
from tests.net import free_port
from workers.demo import submit_form
from workers.intake import new_hire_id
from workers.outbox import Outbox
from workers.quarantine import Quarantine
from workers.settings import Settings
from workers.temporal import connect
from workers.worker import Systems, build_worker
from workflows.new_hire import NewHireWorkflow

CASES = 20
DEADLINE = 60  # seconds for all cases to get through each step
HEADERS = {"X-Saksflyt-Secret": "dev-webhook-secret"}
WORKERS = ("worker-a", "worker-b")


def systems(tmp_path: Path, topdesk: TopdeskClient) -> Systems:
    """One worker replica's adapters: its own objects over the systems both replicas share."""
    return Systems(
        topdesk,
        SapStub(tmp_path / "sap.db"),
        SpkStub(tmp_path / "spk.db"),
        ArchiveStub(tmp_path / "archive.db"),
        PortalStub(tmp_path / "portal.db"),
    )


def replica(base: Settings, tmp_path: Path, name: str) -> Settings:
    """An intake replica's settings: its own port, and its own data dir (outbox, quarantine)."""
    return base.model_copy(update={"data_dir": tmp_path / name, "intake_port": free_port()})


async def test_two_workers_and_two_intakes_complete_each_case_exactly_once(
    dev_server: WorkflowEnvironment, topdesk: TopdeskClient, tmp_path: Path
):
    address = dev_server.client.service_client.config.target_host
    base = Settings(temporal_address=address, task_queue=f"scale-{uuid.uuid4()}")
    intakes = [replica(base, tmp_path, "intake-a"), replica(base, tmp_path, "intake-b")]
    worker_clients = [await connect(base, identity=name) for name in WORKERS]
    workers = [build_worker(c, base.task_queue, systems(tmp_path, topdesk)) for c in worker_clients]
    client = dev_server.client
    numbers = [submit_form(topdesk, "Nyansettelse", form_for_person(i)) for i in range(CASES)]

    async with workers[0], workers[1]:
        with intake_server(intakes[0], topdesk) as a, intake_server(intakes[1], topdesk) as b:
            async with httpx.AsyncClient(headers=HEADERS, timeout=30) as http:
                started = await _created(http, [a, b], numbers)
                sap = SapStub(tmp_path / "sap.db")
                registrations = await _approved(http, [a, b], client, sap, numbers)
                results = await _results(client, numbers)

    # every case started once, by one intake or the other; a duplicate found it running
    for i, number in enumerate(numbers):
        duplicate = ["already_started"] if i % 3 == 0 else []
        assert sorted(started[number]) == sorted(["started", *duplicate]), started[number]
        assert [len(urls) for urls in started[number].values()] == [1] * (1 + len(duplicate))
    by_intake = Counter(url for actions in started.values() for url in actions["started"])
    assert set(by_intake) == {a, b}, by_intake
    assert [r.outcome for r in results] == ["registered"] * CASES
    # one SAP registration per case, and each the one its workflow waited on
    assert sorted(r.id for r in sap.registrations()) == sorted(registrations.values())
    assert len(set(registrations.values())) == CASES
    # one workflow run per case on this task queue, and nothing left behind in either intake
    assert await _runs(client, base.task_queue) == Counter({new_hire_id(n): 1 for n in numbers})
    assert await _workers_seen(client, numbers) == set(WORKERS)  # both replicas took tasks
    for settings in intakes:
        assert Outbox(settings.outbox_path).events() == []
        assert Quarantine(settings.quarantine_path).events() == []


async def _created(
    http: httpx.AsyncClient, intakes: list[str], numbers: list[str]
) -> dict[str, dict[str, list[str]]]:
    """Each case's "created" webhook to one intake in turn; every third also to the other one
    at the same moment. Returns, per case, the intakes by the action each answered."""
    sends = []
    for i, number in enumerate(numbers):
        targets = [intakes[i % 2]] + ([intakes[(i + 1) % 2]] if i % 3 == 0 else [])
        body = {"number": number, "event": "incident_created"}
        sends += [(number, url, http.post(f"{url}/webhooks/topdesk", json=body)) for url in targets]
    answers = await asyncio.gather(*(send for _, _, send in sends))
    actions: dict[str, dict[str, list[str]]] = {number: {} for number in numbers}
    for (number, url, _), answer in zip(sends, answers, strict=True):
        assert answer.status_code == 202, answer.text
        actions[number].setdefault(answer.json()["action"], []).append(url)
    return actions


async def _approved(
    http: httpx.AsyncClient, intakes: list[str], client: Client, sap: SapStub, numbers: list[str]
) -> dict[str, str]:
    """Once each case waits for approval, its manager approves in SAP, and DFØ's webhook goes
    to the other intake than its "created" did; every fourth to both, as one event (its id).
    Returns each case's registration id."""
    registrations = await asyncio.gather(*(_registration(client, n) for n in numbers))
    sends = []
    for i, (number, registration) in enumerate(zip(numbers, registrations, strict=True)):
        sap.decide(registration, approved=True)
        targets = [intakes[(i + 1) % 2]] + ([intakes[i % 2]] if i % 4 == 0 else [])
        body = {
            "case_number": number,
            "registration_id": registration,
            "event": "approved",
            "event_id": f"dfo-{number}",
        }
        sends += [http.post(f"{url}/webhooks/dfo", json=body) for url in targets]
    for answer in await asyncio.gather(*sends):
        assert answer.status_code == 202 and answer.json()["action"] == "signalled", answer.text
    return dict(zip(numbers, registrations, strict=True))


async def _registration(client: Client, number: str) -> str:
    """The case's SAP registration, once it waits for the manager's approval."""
    handle = client.get_workflow_handle_for(NewHireWorkflow.run, new_hire_id(number))

    async def registration() -> str | None:
        progress = await handle.query(NewHireWorkflow.progress)
        assert progress.state is WaitState.AWAITING_APPROVAL, f"{number} in {progress.state}"
        return progress.registration_id

    return await eventually(registration, f"{number}'s registration", timeout=DEADLINE)


async def _results(client: Client, numbers: list[str]) -> list[NewHireResult]:
    handles = [client.get_workflow_handle_for(NewHireWorkflow.run, new_hire_id(n)) for n in numbers]
    return await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), DEADLINE)


async def _runs(client: Client, task_queue: str) -> Counter[str]:
    """Workflow runs per id on the task queue, once visibility shows every case closed."""
    query = f"TaskQueue = '{task_queue}'"

    async def closed() -> Counter[str]:
        runs = [w async for w in client.list_workflows(query)]
        closed = sum(w.close_time is not None for w in runs)
        assert len(runs) >= CASES and closed == len(runs), f"visibility shows {closed}/{len(runs)}"
        return Counter(w.id for w in runs)

    return await eventually(closed, f"{CASES} closed runs in visibility")


async def _workers_seen(client: Client, numbers: list[str]) -> set[str]:
    """The identities of the workers that started the cases' activities, from their histories."""
    seen = set()
    for number in numbers:
        history = await client.get_workflow_handle(new_hire_id(number)).fetch_history()
        for event in history.events:
            if event.HasField("activity_task_started_event_attributes"):
                seen.add(event.activity_task_started_event_attributes.identity)
    return seen
