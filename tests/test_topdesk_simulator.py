"""The TOPdesk simulator over real HTTP, with ``requests`` as the client.

Each test pins a behaviour the adapter and the workflows rely on: status codes, error bodies,
status side effects, paging, FIQL, webhooks with retries and restarts, and injected faults.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from adapters.topdesk.simulator import (
    FaultRule,
    SimulatorConfig,
    TopdeskSimulator,
    WebhookConfig,
    parse_date,
)
from tests.eventually import eventually_sync

AUTH = ("saksflyt", "sim-app-password")
SECRET = "hemmelig-delt-nøkkel"
TEMPLATE = '{"case": "$number", "incident": "$id", "kind": "$event"}'
NUMBER_RE = re.compile(r"I\d{4}-\d{4}")
BRIEF = "Nyansettelse: Kari Hansen, Ålesund (æøå)"


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Receiver:
    """A webhook receiver like the saksflyt intake: records every POST, answers ``status``."""

    def __init__(self, port: int = 0) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append((dict(self.headers.items()), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/topdesk"

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Api:
    """``requests`` against the simulator's base URL, authenticated as the API operator."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.auth = AUTH

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.base_url + path, timeout=5, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def create(self, **fields: Any) -> dict[str, Any]:
        body = {"callerLookup": {"email": "ola.nordmann@ntnu.no"}, "briefDescription": "Sak"}
        response = self.post("/tas/api/incidents", json={**body, **fields})
        assert response.status_code == 201, response.text
        return response.json()

    def numbers(self, **params: Any) -> list[str]:
        response = self.get("/tas/api/incidents", params={"pageSize": 100, **params})
        assert response.status_code in (200, 204), response.text
        return [] if response.status_code == 204 else [i["number"] for i in response.json()]


def webhook(url: str | None, **overrides: Any) -> WebhookConfig:
    settings = {"secret": SECRET, "body_template": TEMPLATE, "backoff_seconds": 0.02}
    return WebhookConfig(url=url, **{**settings, **overrides})


# --------------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def start_sim(tmp_path: Path) -> Iterator[Callable[..., TopdeskSimulator]]:
    """Start simulators on port 0 with a db in tmp_path; all are stopped at teardown."""
    started: list[TopdeskSimulator] = []

    def start(webhook_config: WebhookConfig | None = None) -> TopdeskSimulator:
        config = SimulatorConfig(
            db_path=tmp_path / "topdesk.db", webhook=webhook_config or WebhookConfig()
        )
        simulator = TopdeskSimulator(config)
        simulator.start()
        started.append(simulator)
        return simulator

    yield start
    for simulator in started:
        simulator.stop()


@pytest.fixture
def make_api() -> Iterator[Callable[[TopdeskSimulator], Api]]:
    """Api clients for any simulator; their sessions are closed at teardown."""
    clients: list[Api] = []

    def make(simulator: TopdeskSimulator) -> Api:
        clients.append(Api(simulator.url))
        return clients[-1]

    yield make
    for client in clients:
        client.session.close()


@pytest.fixture
def sim(start_sim: Callable[..., TopdeskSimulator], receiver: Receiver) -> TopdeskSimulator:
    return start_sim(webhook(receiver.url))


@pytest.fixture
def api(sim: TopdeskSimulator, make_api: Callable[[TopdeskSimulator], Api]) -> Api:
    return make_api(sim)


# --------------------------------------------------------------------------------------------
# authentication and errors
# --------------------------------------------------------------------------------------------


def test_missing_or_wrong_credentials_get_401_with_message_list(sim: TopdeskSimulator) -> None:
    missing = requests.get(f"{sim.url}/tas/api/version", timeout=5)
    wrong = requests.get(f"{sim.url}/tas/api/incidents", auth=("saksflyt", "feil"), timeout=5)
    right = requests.get(f"{sim.url}/tas/api/version", auth=AUTH, timeout=5)

    for response in (missing, wrong):
        assert response.status_code == 401
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        assert isinstance(response.json()[0]["message"], str)
    assert right.json() == {"version": "3.7.3"}


def test_statuses_are_seeded_with_stable_ids(
    api: Api, tmp_path: Path, make_api: Callable[[TopdeskSimulator], Api]
) -> None:
    statuses = api.get("/tas/api/incidents/statuses").json()

    names = [s["name"] for s in statuses]
    assert "Venter på bruker" in names and "Gjenåpnet av bruker" in names
    assert [s["name"] for s in statuses if s["default"]] == ["Registrert"]
    assert [s["name"] for s in statuses if s["onHold"] in (True, "true")] == ["På vent"]
    other = TopdeskSimulator(SimulatorConfig(db_path=tmp_path / "other.db"))
    try:
        other.start()
        again = make_api(other).get("/tas/api/incidents/statuses").json()
    finally:
        other.stop()
    assert again == statuses


# --------------------------------------------------------------------------------------------
# create and read
# --------------------------------------------------------------------------------------------


def test_create_returns_201_with_number_status_and_plain_request(api: Api) -> None:
    response = api.post(
        "/tas/api/incidents",
        json={
            "callerLookup": {"email": "kari.hansen@ntnu.no"},
            "briefDescription": BRIEF,
            "request": "Skjema: Nyansettelse<BR/><b>Ansattnr:</b> 123456<br>Startdato: 2027-01-01",
            "category": {"name": "Nyansettelse"},
            "entryType": {"name": "Skjema"},
            "externalNumber": "FORM-2026-000123",
            "optionalFields1": {"text1": "123456"},
        },
    )

    assert response.status_code == 201
    incident = response.json()
    assert NUMBER_RE.fullmatch(incident["number"])
    assert incident["number"].startswith(f"I{datetime.now(UTC):%y%m}-")
    assert incident["processingStatus"]["name"] == "Registrert"
    assert incident["status"] == "firstLine"
    assert incident["briefDescription"] == BRIEF
    assert incident["caller"]["email"] == "kari.hansen@ntnu.no"
    assert incident["caller"]["dynamicName"] == "Kari Hansen"
    assert incident["category"]["name"] == "Nyansettelse"
    assert incident["optionalFields1"]["text1"] == "123456"
    assert incident["action"] == f"/tas/api/incidents/id/{incident['id']}/actions"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", incident["creationDate"])
    header, text = incident["request"].split("\n", 1)
    assert re.fullmatch(r"\d\d-\d\d-\d{4} \d\d:\d\d \[GMT \+0:00\] saksflyt: ", header)
    assert text == "Skjema: Nyansettelse\nAnsattnr: 123456\nStartdato: 2027-01-01"


def test_brief_description_over_80_characters_is_400(api: Api) -> None:
    ok = api.post("/tas/api/incidents", json={"briefDescription": "x" * 80})
    too_long = api.post("/tas/api/incidents", json={"briefDescription": "x" * 81})

    assert ok.status_code == 201
    assert too_long.status_code == 400
    assert "briefDescription" in too_long.json()[0]["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"briefDescription": "x", "priorityy": {"name": "Høy"}},
        {"briefDescription": "x", "callerLookup": {"email": "a@ntnu.no", "id": "x"}},
        {"briefDescription": "x", "category": {"id": "x", "name": "Pensjon"}},
        {"briefDescription": "x", "category": {"name": "Finnes ikke"}},
        {
            "briefDescription": "x",
            "category": {"name": "Pensjon"},
            "subcategory": {"name": "Dødsfall"},
        },
    ],
    ids=["unknown-field", "lookup-two-keys", "id-and-name", "unknown-name", "foreign-subcategory"],
)
def test_invalid_create_bodies_are_400(api: Api, body: dict[str, Any]) -> None:
    response = api.post("/tas/api/incidents", json=body)

    assert response.status_code == 400
    if "priorityy" in body:
        assert "priorityy" in response.json()[0]["message"]


def test_subcategory_alone_fills_in_its_category(api: Api) -> None:
    incident = api.create(subcategory={"name": "Delvis AFP"})

    assert incident["category"]["name"] == "Pensjon"
    assert incident["subcategory"]["name"] == "Delvis AFP"


def test_get_by_number_and_id_and_404_for_unknown(api: Api) -> None:
    incident = api.create()

    by_number = api.get(f"/tas/api/incidents/number/{incident['number'].lower()}")
    by_id = api.get(f"/tas/api/incidents/id/{incident['id']}")

    assert by_number.status_code == by_id.status_code == 200
    assert by_number.json()["id"] == incident["id"]
    assert by_id.json()["number"] == incident["number"]
    assert api.get("/tas/api/incidents/number/I%209999%20999").status_code == 404
    unknown_id = "0b9ae7f6-7b64-4d5e-9f3a-1c2d3e4f5a6b"
    assert api.get(f"/tas/api/incidents/id/{unknown_id}").status_code == 404


# --------------------------------------------------------------------------------------------
# update
# --------------------------------------------------------------------------------------------


def test_request_on_update_appends_an_entry_shown_newest_first(api: Api) -> None:
    incident = api.create(request="Første")

    updated = api.patch(
        f"/tas/api/incidents/id/{incident['id']}", json={"request": "Andre<br/>linje"}
    ).json()

    entries = updated["request"].split("\n\n")
    assert [e.split("\n", 1)[1] for e in entries] == ["Andre\nlinje", "Første"]
    assert updated["modifier"]["name"] == "saksflyt"


def test_concurrent_creates_get_unique_consecutive_numbers(sim: TopdeskSimulator) -> None:
    numbers: list[str] = []

    def create_five() -> None:
        with requests.Session() as session:
            for _ in range(5):
                response = session.post(
                    f"{sim.url}/tas/api/incidents",
                    json={"briefDescription": "Samtidig"},
                    auth=AUTH,
                    timeout=5,
                )
                numbers.append(response.json()["number"])

    threads = [threading.Thread(target=create_five) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(int(n[-4:]) for n in numbers) == list(range(1, 41))


def test_status_names_drive_completed_closed_and_on_hold(api: Api) -> None:
    incident = api.create()
    path = f"/tas/api/incidents/id/{incident['id']}"

    on_hold = api.patch(path, json={"processingStatus": {"name": "På vent"}}).json()
    done = api.patch(path, json={"processingStatus": {"name": "Fullført"}})
    closed = api.put(path, json={"processingStatus": {"name": "Lukket"}}).json()

    assert on_hold["onHold"] is True and on_hold["onHoldDate"]
    assert done.status_code == 200
    assert done.json()["completed"] is True and done.json()["completedDate"]
    assert done.json()["onHold"] is False and done.json()["onHoldDate"] is None
    assert done.json()["closed"] is False
    assert closed["closed"] is True and closed["closedDate"]
    assert closed["modificationDate"] > incident["modificationDate"]


@pytest.mark.parametrize(
    "body", [{"status": "secondLine"}, {"mainIncident": {"id": "x"}}, {"bogus": 1}]
)
def test_update_rejects_status_main_incident_and_unknown_fields(api: Api, body: dict) -> None:
    incident = api.create()

    response = api.patch(f"/tas/api/incidents/id/{incident['id']}", json=body)

    assert response.status_code == 400
    assert next(iter(body)) in response.json()[0]["message"]


def test_visible_and_invisible_actions_land_in_progress_trail(api: Api) -> None:
    incident = api.create()
    path = f"/tas/api/incidents/number/{incident['number']}"

    api.patch(path, json={"action": "Vi mangler kontonummer.<br>Send det til oss."})
    api.patch(path, json={"action": "Intern merknad", "actionInvisibleForCaller": True})
    trail = api.get(f"{path}/progresstrail")
    actions = api.get(f"/tas/api/incidents/id/{incident['id']}/actions").json()

    assert trail.status_code == 200
    newest, oldest = trail.json()
    assert (newest["memoText"], newest["invisibleForCaller"]) == ("Intern merknad", True)
    assert oldest["invisibleForCaller"] is False
    assert oldest["plainText"] == "Vi mangler kontonummer.\nSend det til oss."
    assert oldest["operator"]["name"] == "saksflyt" and oldest["person"] is None
    assert [a["id"] for a in actions] == [newest["id"], oldest["id"]]
    assert api.get(f"{path}/progresstrail/count").json() == {"count": 2}


def test_progress_trail_pages_with_206(api: Api) -> None:
    incident = api.create()
    path = f"/tas/api/incidents/id/{incident['id']}"
    for i in range(3):
        api.patch(path, json={"action": f"Melding {i}"})

    first = api.get(f"{path}/progresstrail", params={"page_size": 2})
    last = api.get(f"{path}/progresstrail", params={"start": 2, "page_size": 2})
    empty = api.get(f"{path}/progresstrail", params={"start": 3})

    assert first.status_code == 206
    assert [e["memoText"] for e in first.json()] == ["Melding 2", "Melding 1"]
    assert last.status_code == 200 and [e["memoText"] for e in last.json()] == ["Melding 0"]
    assert empty.status_code == 204


def test_archived_incident_is_403_and_hidden_from_list_unless_all(api: Api) -> None:
    incident = api.create()
    path = f"/tas/api/incidents/id/{incident['id']}"

    archived = api.put(f"{path}/archive", json={})
    update = api.patch(path, json={"action": "for sent"})

    assert archived.status_code == 200 and archived.json()["status"] == "firstLineArchived"
    assert update.status_code == 403
    assert update.json() == [{"message": "The incident is archived"}]
    assert api.get(path).status_code == 200
    assert api.numbers() == []
    assert api.numbers(all="true") == [incident["number"]]


LADDER = (
    "Brukerstøtte lønn og HR",
    "Saksbehandling lønn og HR",
    "Prosessansvarlig lønn og HR",
    "Leder Tjenestesenteret for lønn og HR",
)


def test_operator_groups_list_the_escalation_ladder_by_group_name_paged(api: Api) -> None:
    everything = api.get("/tas/api/operatorgroups", params={"page_size": 100})
    first = api.get("/tas/api/operatorgroups", params={"page_size": 2})
    rest = api.get("/tas/api/operatorgroups", params={"start": 2, "page_size": 100})

    names = [g["groupName"] for g in everything.json()]
    assert everything.status_code == 200
    assert set(LADDER) | {"Tjenestesenteret for lønn og HR"} <= set(names)
    assert first.status_code == 206 and rest.status_code == 200
    assert [g["groupName"] for g in first.json() + rest.json()] == names


def test_operator_group_is_set_by_id_only_and_shown_and_queried_by_name(api: Api) -> None:
    groups = {g["groupName"]: g["id"] for g in api.get("/tas/api/operatorgroups").json()}
    moved, other = api.create(), api.create()
    path = f"/tas/api/incidents/id/{moved['id']}"

    by_id = api.patch(path, json={"operatorGroup": {"id": groups[LADDER[1]]}})
    by_name = api.patch(path, json={"operatorGroup": {"name": LADDER[2]}})

    assert by_id.status_code == 200
    assert api.get(path).json()["operatorGroup"] == {"id": groups[LADDER[1]], "name": LADDER[1]}
    assert by_name.status_code == 400  # id only (§2.3)
    assert api.numbers(query=f"operatorGroup.name=='{LADDER[1]}'") == [moved["number"]]
    assert api.numbers(query="operatorGroup.name==null") == [other["number"]]


# --------------------------------------------------------------------------------------------
# caller replies and webhooks
# --------------------------------------------------------------------------------------------


def test_caller_reply_sets_updated_status_and_posts_webhook(
    sim: TopdeskSimulator, api: Api, receiver: Receiver
) -> None:
    incident = api.create()
    api.patch(
        f"/tas/api/incidents/id/{incident['id']}",
        json={"processingStatus": {"name": "Venter på bruker"}},
    )

    reply = requests.post(
        f"{sim.url}/_sim/incidents/{incident['number']}/reply",
        json={"text": "Kontonummer: 1234.56.78903"},
        timeout=5,
    )

    assert reply.status_code == 200
    assert reply.json()["processingStatus"]["name"] == "Oppdatert av bruker"
    assert reply.json()["modifier"]["name"] == "Ola Nordmann"
    action = api.get(f"/tas/api/incidents/id/{incident['id']}/actions").json()[0]
    assert action["person"]["name"] == "Ola Nordmann" and action["operator"] is None
    assert action["invisibleForCaller"] is False
    eventually_sync(lambda: len(receiver.received) == 2)
    headers, _ = receiver.received[1]
    assert headers["X-Saksflyt-Secret"] == SECRET
    assert headers["Content-Type"] == "application/json"
    assert receiver.events() == [
        {"case": incident["number"], "incident": incident["id"], "kind": "incident_created"},
        {"case": incident["number"], "incident": incident["id"], "kind": "caller_replied"},
    ]
    eventually_sync(lambda: [d["status"] for d in sim.webhook_deliveries()] == ["delivered"] * 2)
    deliveries = sim.webhook_deliveries()
    assert [(d["event"], d["attempts"], d["response_code"]) for d in deliveries] == [
        ("incident_created", 1, 200),
        ("caller_replied", 1, 200),
    ]


def test_caller_reply_on_completed_incident_reopens_it(
    sim: TopdeskSimulator, api: Api, receiver: Receiver
) -> None:
    incident = api.create()
    api.patch(
        f"/tas/api/incidents/id/{incident['id']}",
        json={"processingStatus": {"name": "Fullført"}},
    )

    reopened = sim.caller_reply(incident["number"], "Dette er ikke riktig.")

    assert reopened["processingStatus"]["name"] == "Gjenåpnet av bruker"
    assert reopened["completed"] is False and reopened["completedDate"] is None
    eventually_sync(lambda: len(receiver.received) == 2)
    assert receiver.events()[1]["kind"] == "reopened"


def test_webhook_is_retried_until_the_receiver_comes_up(
    start_sim: Callable[..., TopdeskSimulator],
    make_api: Callable[[TopdeskSimulator], Api],
) -> None:
    port = free_port()
    sim = start_sim(webhook(f"http://127.0.0.1:{port}/hooks", attempts=30))
    make_api(sim).create()

    failing = eventually_sync(lambda: [d for d in sim.webhook_deliveries() if d["attempts"] >= 2])
    assert failing[0]["status"] == "pending" and failing[0]["last_error"]
    receiver = Receiver(port)
    try:
        delivered = eventually_sync(
            lambda: [d for d in sim.webhook_deliveries() if d["status"] == "delivered"]
        )
        assert delivered[0]["attempts"] >= 3 and delivered[0]["response_code"] == 200
        assert receiver.events()[0]["kind"] == "incident_created"
    finally:
        receiver.close()


def test_webhook_answered_with_500_fails_after_configured_attempts(
    start_sim: Callable[..., TopdeskSimulator],
    receiver: Receiver,
    make_api: Callable[[TopdeskSimulator], Api],
) -> None:
    receiver.status = 500
    sim = start_sim(webhook(receiver.url, attempts=3))
    make_api(sim).create()

    failed = eventually_sync(
        lambda: [d for d in sim.webhook_deliveries() if d["status"] == "failed"]
    )

    assert failed[0]["attempts"] == 3 and failed[0]["response_code"] == 500
    assert len(receiver.received) == 3


def test_drop_next_webhook_is_recorded_as_dropped_and_never_sent(
    sim: TopdeskSimulator, api: Api, receiver: Receiver
) -> None:
    response = requests.post(f"{sim.url}/_sim/webhook-faults", json={"drop_next": 1}, timeout=5)
    first, second = api.create(), api.create()

    eventually_sync(lambda: receiver.received)
    deliveries = requests.get(f"{sim.url}/_sim/webhooks", timeout=5).json()

    assert response.status_code == 200
    assert [(d["number"], d["status"]) for d in deliveries] == [
        (first["number"], "dropped"),
        (second["number"], "delivered"),
    ]
    assert [e["case"] for e in receiver.events()] == [second["number"]]


# --------------------------------------------------------------------------------------------
# restart
# --------------------------------------------------------------------------------------------


def test_state_and_number_sequence_survive_a_restart(
    start_sim: Callable[..., TopdeskSimulator],
    make_api: Callable[[TopdeskSimulator], Api],
) -> None:
    first_run = start_sim()
    created = make_api(first_run).create(briefDescription="Før omstart")
    first_run.stop()

    second_run = start_sim()
    api = make_api(second_run)
    again = api.get(f"/tas/api/incidents/number/{created['number']}")
    following = api.create()

    assert again.status_code == 200 and again.json()["briefDescription"] == "Før omstart"
    assert int(following["number"][-4:]) == int(created["number"][-4:]) + 1


def test_webhook_pending_at_stop_is_delivered_after_restart(
    start_sim: Callable[..., TopdeskSimulator],
    make_api: Callable[[TopdeskSimulator], Api],
) -> None:
    port = free_port()
    config = webhook(f"http://127.0.0.1:{port}/hooks", attempts=100)
    first_run = start_sim(config)
    incident = make_api(first_run).create()
    eventually_sync(lambda: first_run.webhook_deliveries()[0]["attempts"] >= 1)
    first_run.stop()
    assert first_run.webhook_deliveries()[0]["status"] == "pending"

    receiver = Receiver(port)
    try:
        second_run = start_sim(config)
        eventually_sync(lambda: second_run.webhook_deliveries()[0]["status"] == "delivered")
        assert receiver.events() == [
            {"case": incident["number"], "incident": incident["id"], "kind": "incident_created"}
        ]
    finally:
        receiver.close()


# --------------------------------------------------------------------------------------------
# listing, paging, FIQL
# --------------------------------------------------------------------------------------------


def test_list_pages_with_206_and_next_page_url_then_200(api: Api, sim: TopdeskSimulator) -> None:
    created = [api.create()["number"] for _ in range(3)]

    first = api.get("/tas/api/incidents", params={"pageSize": 2})
    next_url = first.headers["x-next-page-url"]
    second = api.session.get(sim.url + next_url, timeout=5)

    assert first.status_code == 206 and len(first.json()) == 2
    assert next_url.startswith("/tas/api/incidents?") and "pageStart=2" in next_url
    assert second.status_code == 200 and "x-next-page-url" not in second.headers
    assert [i["number"] for i in first.json() + second.json()] == created


def test_list_with_no_match_is_204(api: Api) -> None:
    api.create()

    response = api.get("/tas/api/incidents", params={"query": "number==I0000-0000"})

    assert response.status_code == 204 and response.content == b""


def test_fiql_quoted_status_name_with_space(api: Api) -> None:
    waiting, other = api.create(), api.create()
    api.patch(
        f"/tas/api/incidents/id/{waiting['id']}",
        json={"processingStatus": {"name": "Venter på bruker"}},
    )

    single = api.numbers(query="processingStatus.name=='Venter på bruker'")
    double = api.numbers(query='processingStatus.name!="Venter på bruker"')

    assert single == [waiting["number"]]
    assert double == [other["number"]]


def test_fiql_modification_date_gt_finds_what_changed_since(api: Api) -> None:
    first, second = api.create(), api.create()
    mark = second["modificationDate"]
    api.patch(f"/tas/api/incidents/id/{first['id']}", json={"action": "endret"})
    plus_one = parse_date(mark).astimezone(UTC) + timedelta(hours=1)
    in_oslo = f"{plus_one:%Y-%m-%dT%H:%M:%S}.{plus_one.microsecond // 1000:03d}+01:00"

    changed = api.numbers(query=f"modificationDate=gt={mark}", sort="modificationDate:asc")
    since_in_oslo = api.numbers(query=f"modificationDate=ge={in_oslo}", sort="modificationDate:asc")
    all_since_2000 = api.numbers(query="creationDate=gt=2000-01-01T00:00:00Z")

    assert changed == [first["number"]]
    assert since_in_oslo == [second["number"], first["number"]]
    assert set(all_since_2000) == {first["number"], second["number"]}


def test_fiql_in_out_and_or_precedence(api: Api) -> None:
    a, b, c = (api.create()["number"] for _ in range(3))
    api.patch(f"/tas/api/incidents/number/{c}", json={"processingStatus": {"name": "Fullført"}})

    assert api.numbers(query=f"number=in=({a},{c})") == [a, c]
    assert api.numbers(query=f"number=out=({a},{c})") == [b]
    assert api.numbers(query=f"number=={a},completed==true;number=={c}") == [a, c]
    assert api.numbers(query=f"(number=={a},number=={c});completed==false") == [a]
    assert api.numbers(query="caller.email==ola.nordmann@ntnu.no;subcategory.name==null") == [
        a,
        b,
        c,
    ]


@pytest.mark.parametrize(
    "query",
    [
        "processingStatus.name==Venter på bruker",
        "processingStatus.name=='Venter",
        "nosuchfield==1",
        "number=like=I2611",
        "completed==kanskje",
        "modificationDate=gt=i-går",
        "(number==a",
    ],
)
def test_bad_fiql_is_400_error_parsing_query(api: Api, query: str) -> None:
    response = api.get("/tas/api/incidents", params={"query": query})

    assert response.status_code == 400
    assert response.json()[0]["message"].startswith("Error parsing query")


def test_sort_desc_and_fields_restrict_the_output(api: Api) -> None:
    numbers = [api.create()["number"] for _ in range(2)]

    items = api.get(
        "/tas/api/incidents", params={"sort": "creationDate:desc", "fields": "number"}
    ).json()

    assert [i["number"] for i in items] == numbers[::-1]
    assert all(set(i) == {"id", "number"} for i in items)


# --------------------------------------------------------------------------------------------
# fault injection
# --------------------------------------------------------------------------------------------


def test_status_fault_hits_once_then_requests_succeed(sim: TopdeskSimulator, api: Api) -> None:
    sim.inject_fault(FaultRule(kind="status", status=503))

    failed = api.get("/tas/api/version")
    ok = api.get("/tas/api/version")

    assert failed.status_code == 503 and failed.json()[0]["message"]
    assert ok.status_code == 200


def test_429_fault_carries_retry_after(sim: TopdeskSimulator, api: Api) -> None:
    sim.inject_fault(FaultRule(kind="status", status=429, retry_after=7, times=2))

    responses = [api.get("/tas/api/version") for _ in range(3)]

    assert [r.status_code for r in responses] == [429, 429, 200]
    assert responses[0].headers["Retry-After"] == "7"


def test_latency_fault_over_http_delays_one_response(sim: TopdeskSimulator, api: Api) -> None:
    rule = {"kind": "latency", "latency_seconds": 0.3, "path_prefix": "/tas/api/version"}
    assert requests.post(f"{sim.url}/_sim/faults", json=rule, timeout=5).status_code == 201

    started = time.monotonic()
    slow = api.get("/tas/api/version")
    slow_seconds = time.monotonic() - started
    started = time.monotonic()
    api.get("/tas/api/version")
    fast_seconds = time.monotonic() - started

    assert slow.status_code == 200
    assert slow_seconds >= 0.3 > fast_seconds


def test_drop_fault_closes_the_connection_without_answer(sim: TopdeskSimulator, api: Api) -> None:
    sim.inject_fault(FaultRule(kind="drop", method="POST"))

    with pytest.raises(requests.ConnectionError):
        api.post("/tas/api/incidents", json={"briefDescription": "forsvinner"})

    assert api.get("/tas/api/version").status_code == 200
    assert api.numbers() == []
    assert api.create()["briefDescription"] == "Sak"


def test_unlimited_fault_stays_until_cleared_over_http(sim: TopdeskSimulator, api: Api) -> None:
    rule = {"kind": "status", "status": 502, "method": "GET", "times": None}
    requests.post(f"{sim.url}/_sim/faults", json=rule, timeout=5)

    during = [api.get("/tas/api/version").status_code for _ in range(3)]
    post_allowed = api.post("/tas/api/incidents", json={"briefDescription": "x"}).status_code
    cleared = requests.delete(f"{sim.url}/_sim/faults", timeout=5).status_code

    assert during == [502, 502, 502]
    assert post_allowed == 201
    assert cleared == 204
    assert api.get("/tas/api/version").status_code == 200
    assert requests.get(f"{sim.url}/_sim/health", timeout=5).json() == {"ok": True}
