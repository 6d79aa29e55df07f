"""A stock TOPdesk client against the simulator: the calls of PyPI ``topdesk-mcp`` 0.8.20 (its
copy of TOPdeskPy), which a saksflyt engineer would reach for first.

`make install` installs topdesk-mcp without its dependencies (the Makefile's NO_DEPS): they are an
MCP server stack and markitdown, which brings onnxruntime and magika (about 50 packages, 77 MB of
wheels) for converting attachments, while its REST client needs only `requests`; a stand-in for
markitdown is put in place. The scenario runs through topdesk-mcp's own classes, and through
`StockClient` below, which makes the same requests as plain code (paths with their trailing
slashes, ``page_size``/``start`` and the paging that re-reads them from the 206 response's URL,
``query=archived==false``, the body ``add_id_jsonbody`` builds), so a failure reads plainly.
"""

from __future__ import annotations

import base64
import re
import sys
import types
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from adapters.topdesk.simulator import TopdeskSimulator

UUID = re.compile(r"^[0-9a-g]{8}-([0-9a-g]{4}-){3}[0-9a-g]{12}$")
EMAIL = re.compile(r"(^[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$)")


class StockClient:
    """The requests topdesk-mcp 0.8.20 sends (``_utils.py``, ``_incident.py``), as plain code."""

    def __init__(self, url: str, login: str, password: str) -> None:
        self.url = url
        credpair = base64.b64encode(f"{login}:{password}".encode()).decode()
        self.headers = {"Authorization": f"Basic {credpair}", "Accept": "application/json"}
        self.pages = 0

    def get(self, uri: str, page_size: int | None = None, **params: Any) -> Any:
        """``request_topdesk`` and ``handle_topdesk_response``, 206 paging included."""
        if page_size:
            params["page_size"] = page_size
        query = urllib.parse.urlencode(params, quote_via=urllib.parse.quote_plus)
        url = f"{self.url}{uri}" + (f"?{query}" if query else "")
        found: list[Any] = []
        for _ in range(20):  # topdesk-mcp recurses without a bound; a loop here is a failure
            response = requests.get(url, headers=self.headers, timeout=5)
            if response.status_code != 206:
                return self._result(response, found)
            self.pages += 1
            found += response.json()
            size = int(re.search(r"page_size=(\d+)", response.url)[1])  # type: ignore[index]
            start = re.search(r"start=(\d+)", response.url)
            new_start = (int(start[1]) if start else 0) + size
            if start:
                url = re.sub(r"start=\d+", f"start={new_start}", response.url)
            else:
                url = re.sub(r"(page_size=\d+)", f"\\1&start={size}", response.url)
        raise AssertionError(f"still 206 after 20 pages: {url}")

    @staticmethod
    def _result(response: requests.Response, found: list[Any]) -> Any:
        if response.status_code == 204:
            return found or "Success"
        if response.status_code >= 400:
            return f"HTTP {response.status_code}: {response.text}"
        return found + response.json() if found else response.json()

    def send(self, method: str, uri: str, body: Any) -> Any:
        headers = {**self.headers, "Content-type": "application/json"}
        response = requests.request(method, self.url + uri, headers=headers, json=body, timeout=5)
        return self._result(response, [])

    @staticmethod
    def body(**kwargs: Any) -> dict[str, Any]:
        """``add_id_jsonbody``: a caller becomes ``callerLookup``; a UUID value ``{"id": ...}``."""
        out: dict[str, Any] = {}
        if "caller" in kwargs:
            kind = "email" if EMAIL.match(kwargs["caller"]) else "dynamicName"
            out["callerLookup"] = {kind: kwargs.pop("caller")}
        for key, value in kwargs.items():
            out[key] = {"id": value} if UUID.match(str(value)) else value
        return out

    def target(self, incident: str) -> str:
        kind = "id" if UUID.match(incident) else "number"
        return f"/tas/api/incidents/{kind}/{incident}"


def run_scenario(client: Any) -> dict[str, Any]:
    """create, read by number and id, patch status, reply, internal note, list with paging and
    FIQL, archive: through ``client``, topdesk-mcp's ``connect`` or `StockAdapter`."""
    incident = client.incident
    statuses = {s["name"]: s["id"] for s in incident.statuses()}
    numbers = []
    for index in range(12):
        created = incident.create(
            "kari.nordmann@ntnu.no",
            briefDescription=f"Nyansettelse {index}",
            request="Startdato: 2027-01-01",
            category={"name": "Nyansettelse"},
        )
        numbers.append(created["number"])
    first = incident.get(numbers[0])
    again = incident.get(first["id"])
    working = incident.patch(numbers[0], processingStatus=statuses["I arbeid"])
    incident.patch(numbers[0], action="Vi mangler kontonummer.<br>Send det til oss.")
    incident.patch(first["id"], action="Sjekket ePhorte.", actionInvisibleForCaller=True)
    trail = incident.get_progress_trail(numbers[0])
    everything = incident.get_list(page_size=5)
    waiting = incident.get_list(query="processingStatus.name=='I arbeid'")
    reason = client.get_archiving_reasons()[0]["id"]
    archived = incident.archive(numbers[1], reason_id=reason)
    escalated = incident.escalate(numbers[2], reason_id=incident.escalation_reasons()[0]["id"])
    group = client.operatorgroup.get_id_operatorgroup("Saksbehandling")
    return {
        "numbers": numbers,
        "first": first,
        "again": again,
        "working": working,
        "trail": trail,
        "everything": everything,
        "waiting": waiting,
        "archived": archived,
        "escalated": escalated,
        "group": group,
        "persons": client.person.get_list(),
        "operators": client.operator.get_list(),
        "impacts": incident.impacts(),
        "closure_codes": incident.closure_codes(),
    }


class StockAdapter:
    """`StockClient` behind topdesk-mcp's object names, for `run_scenario`."""

    def __init__(self, stock: StockClient) -> None:
        self.stock = stock
        self.incident = _Incidents(stock)
        self.person = types.SimpleNamespace(
            get_list=lambda: stock.get("/tas/api/persons/", 100, query="archived==false")
        )
        self.operator = types.SimpleNamespace(
            get_list=lambda: stock.get("/tas/api/operators", 100, query="archived==false")
        )
        self.operatorgroup = types.SimpleNamespace(get_id_operatorgroup=self._group_id)

    def get_archiving_reasons(self) -> Any:
        return self.stock.get("/tas/api/archiving-reasons")

    def _group_id(self, name: str) -> Any:
        groups = self.stock.get("/tas/api/operatorgroups", 100, query="archived==false")
        found = [g["id"] for g in groups if re.match(rf"(.+)?{name}(.+)?", g["groupName"], re.I)]
        return found[0] if found else []


class _Incidents:
    def __init__(self, stock: StockClient) -> None:
        self.s = stock

    def statuses(self) -> Any:
        return self.s.get("/tas/api/incidents/statuses")

    def impacts(self) -> Any:
        return self.s.get("/tas/api/incidents/impacts")

    def closure_codes(self) -> Any:
        return self.s.get("/tas/api/incidents/closure_codes")

    def escalation_reasons(self) -> Any:
        return self.s.get("/tas/api/incidents/escalation-reasons")

    def create(self, caller: str, **kwargs: Any) -> Any:
        return self.s.send("POST", "/tas/api/incidents/", self.s.body(caller=caller, **kwargs))

    def get(self, incident: str) -> Any:
        return self.s.get(self.s.target(incident))

    def patch(self, incident: str, **kwargs: Any) -> Any:
        return self.s.send("PATCH", self.s.target(incident), self.s.body(**kwargs))

    def get_progress_trail(self, incident: str) -> Any:
        flags = {"inlineimages": False, "non_api_attachments_url": False}
        uri = self.s.target(incident) + "/progresstrail"
        return self.s.get(uri, 100, **flags, force_images_as_data=False)

    def get_list(self, page_size: int = 100, query: str | None = None) -> Any:
        params = {"query": query} if query else {}
        return self.s.get("/tas/api/incidents/", page_size, **params)

    def archive(self, incident: str, reason_id: str) -> Any:
        return self.s.send("PUT", self.s.target(incident) + "/archive", {"id": reason_id})

    def escalate(self, incident: str, reason_id: str) -> Any:
        return self.s.send("PUT", self.s.target(incident) + "/escalate", {"id": reason_id})


def _topdesk_mcp() -> Any:
    """topdesk-mcp's ``connect`` where it is installed; None elsewhere."""
    try:
        import topdesk_mcp  # noqa: F401
    except ImportError:
        return None
    if "markitdown" not in sys.modules:
        try:
            import markitdown  # noqa: F401
        except ImportError:  # only its attachment conversion needs it
            stand_in = types.ModuleType("markitdown")
            stand_in.MarkItDown = lambda **options: None  # type: ignore[attr-defined]
            sys.modules["markitdown"] = stand_in
    from topdesk_mcp import _topdesk_sdk

    return _topdesk_sdk.connect


@pytest.fixture(params=["calls", "topdesk-mcp"])
def stock(request: pytest.FixtureRequest, simulator: TopdeskSimulator) -> Iterator[Any]:
    login, password = simulator.config.login, simulator.config.app_password
    if request.param == "calls":
        yield StockAdapter(StockClient(simulator.url, login, password))
        return
    connect = _topdesk_mcp()
    if connect is None:
        pytest.skip("topdesk-mcp is not installed: `make install` installs it")
    yield connect(simulator.url, login, password)


def test_a_stock_client_runs_the_case_routine(stock: Any) -> None:
    seen = run_scenario(stock)
    numbers = seen["numbers"]

    assert seen["first"]["number"] == numbers[0] == seen["again"]["number"]
    assert seen["first"]["caller"]["email"] == "kari.nordmann@ntnu.no"
    assert seen["working"]["processingStatus"]["name"] == "I arbeid"
    note, reply = seen["trail"]  # newest first
    assert note["invisibleForCaller"] is True and reply["invisibleForCaller"] is False
    assert [i["number"] for i in seen["everything"]] == numbers  # 206 pages, then 200
    assert [i["number"] for i in seen["waiting"]] == [numbers[0]]
    assert seen["archived"]["status"] == "firstLineArchived"
    assert seen["escalated"]["status"] == "secondLine"
    assert seen["escalated"]["escalationStatus"] == "Escalated"
    assert isinstance(seen["group"], str)
    assert [p["email"] for p in seen["persons"]] == ["kari.nordmann@ntnu.no"]
    assert "saksflyt" in [o["dynamicName"] for o in seen["operators"]]
    assert seen["impacts"] and seen["closure_codes"]


def test_old_paging_names_are_honoured_and_mixed_names_refused(simulator: TopdeskSimulator):
    stock = StockClient(simulator.url, simulator.config.login, simulator.config.app_password)
    for index in range(7):
        stock.send("POST", "/tas/api/incidents/", {"briefDescription": f"Sak {index}"})

    listed = stock.get("/tas/api/incidents/", page_size=3)
    mixed = requests.get(
        f"{simulator.url}/tas/api/incidents?page_size=3&pageStart=3",
        headers=stock.headers,
        timeout=5,
    )

    assert len(listed) == 7 and stock.pages == 2
    assert mixed.status_code == 400
    assert "not both" in mixed.json()[0]["message"]


def test_time_spent_and_attachments(simulator: TopdeskSimulator):
    stock = StockClient(simulator.url, simulator.config.login, simulator.config.app_password)
    number = stock.send("POST", "/tas/api/incidents", {"briefDescription": "Sak"})["number"]
    path = stock.target(number)

    lower_case = stock.send("POST", f"{path}/timespent", {"timespent": 15})
    registered = stock.send("POST", f"{path}/timespent", {"timeSpent": 15, "notes": "Sjekket"})
    uploaded = requests.post(
        f"{simulator.url}{path}/attachments",
        headers=stock.headers,
        files={"file": ("skjema.txt", b"Startdato: 2027-01-01")},
        data={"description": "Skjemaet", "invisibleForCaller": "true"},
        timeout=5,
    ).json()
    download = requests.get(
        simulator.url + uploaded["downloadUrl"], headers=stock.headers, timeout=5
    )

    assert "'timeSpent'" in lower_case
    assert registered["timeSpent"] == 15
    assert stock.get(path)["timeSpent"] == 15
    assert uploaded["fileName"] == "skjema.txt" and uploaded["invisibleForCaller"] is True
    assert download.content == b"Startdato: 2027-01-01"
    assert download.headers["content-type"].startswith("text/plain")
    assert [a["fileName"] for a in stock.get(f"{path}/attachments", 100)] == ["skjema.txt"]
