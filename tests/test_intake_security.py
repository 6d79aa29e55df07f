"""The intake's gate (workers/intake/): the shared secret per source in a header or the URL,
the optional HMAC signature with its replay window, the body size limit, readiness, the OpenAPI
document, and an access log that never holds a secret or the body."""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
import uvicorn
from pydantic import SecretStr
from temporalio.client import Client

from adapters.topdesk.port import TopdeskPort
from domain.cases import WaitState
from tests.eventually import eventually
from tests.harness import Harness, start_test_server
from tests.test_intake import HEADER, SECRET, case, not_started
from workers.intake import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    create_app,
    logged_path,
    sign,
    signature_ok,
)
from workers.quarantine import Quarantine
from workers.settings import Settings
from workers.temporal import INTAKE_RETRY, connect

KEY = b"intake-test-hmac-key"
DFO_SECRET = "dfo-test-secret"
UNKNOWN_CASE = "I9999-9999"  # TOPdesk knows no such case: the event is quarantined, 202


@asynccontextmanager
async def served(
    client: Client | None, task_queue: str, topdesk: TopdeskPort | None = None, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The intake app with the test secret and any other settings given; its lifespan entered
    when there is a Temporal client (as `tests.test_intake.serve`)."""

    async def connected() -> Client:
        assert client is not None
        return client

    settings = Settings(
        task_queue=task_queue,
        webhook_secret=SecretStr(SECRET),
        webhook_secret_header=HEADER,
        topdesk_url="http://127.0.0.1:9",
        **overrides,
    )
    quarantine = Quarantine(Path(tempfile.mkdtemp()) / "quarantine.db")
    app = create_app(settings, connected, topdesk, quarantine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://intake"
    ) as http:
        if client is None:
            yield http
        else:
            async with app.router.lifespan_context(app):
                yield http


def created(number: str, **extra: str) -> bytes:
    return json.dumps({"number": number, "event": "incident_created", **extra}).encode()


def signed(body: bytes, timestamp: str | None = None) -> dict[str, str]:
    """The headers of a source that signs, secret included."""
    timestamp = timestamp or str(int(time.time()))
    return {
        HEADER: SECRET,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(KEY, timestamp, body),
    }


JSON = {"Content-Type": "application/json"}


# -- the shared secret -----------------------------------------------------------------------------


async def test_the_secret_in_the_header_starts_the_case(h: Harness):
    number = h.submit()

    async with served(h.client, h.task_queue, h.topdesk) as http:
        response = await http.post(
            "/webhooks/topdesk", content=created(number), headers={HEADER: SECRET, **JSON}
        )

    assert response.status_code == 202, response.text
    assert response.json() == {"workflow_id": f"new-hire-{number}", "action": "started"}
    await h.wait_state(case(h, number), WaitState.AWAITING_APPROVAL)


async def test_the_secret_as_the_last_path_segment_starts_the_case(h: Harness):
    """TOPdesk's HTTP action may let its administrator set only the URL."""
    number = h.submit()

    async with served(h.client, h.task_queue, h.topdesk) as http:
        response = await http.post(
            f"/webhooks/topdesk/{SECRET}", content=created(number), headers=JSON
        )

    assert response.status_code == 202, response.text
    assert response.json()["action"] == "started"
    await h.wait_state(case(h, number), WaitState.AWAITING_APPROVAL)


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/webhooks/topdesk/wrong-secret", {}),
        (f"/webhooks/topdesk/{SECRET}x", {}),
        (f"/webhooks/topdesk/{SECRET.upper()}", {}),
        # the URL names the secret: a right header does not mend a wrong one there
        ("/webhooks/topdesk/wrong-secret", {HEADER: SECRET}),
        ("/webhooks/topdesk", {}),
        ("/webhooks/topdesk", {HEADER: ""}),
        ("/webhooks/topdesk", {HEADER: "wrong-secret"}),
    ],
)
async def test_a_wrong_or_missing_secret_is_refused_and_starts_nothing(
    h: Harness, path: str, headers: dict[str, str]
):
    number = h.submit()

    async with served(h.client, h.task_queue, h.topdesk) as http:
        response = await http.post(path, content=created(number), headers={**headers, **JSON})

    assert response.status_code == 401
    assert SECRET not in response.text
    assert await not_started(h, number)


async def test_an_empty_path_segment_is_no_route_rather_than_a_redirect(h: Harness):
    """`/webhooks/topdesk/` answers 404: a redirect would invite the sender to post again."""
    number = h.submit()

    async with served(h.client, h.task_queue, h.topdesk) as http:
        response = await http.post("/webhooks/topdesk/", content=created(number), headers=JSON)

    assert response.status_code == 404
    assert await not_started(h, number)


@pytest.mark.parametrize("in_path", [False, True])
async def test_dfo_has_a_secret_of_its_own_when_one_is_set(h: Harness, in_path: bool):
    body = json.dumps(
        {"case_number": UNKNOWN_CASE, "registration_id": "1", "event": "approved"}
    ).encode()

    async def post(source: str, secret: str) -> int:
        if in_path:
            path, headers = f"/webhooks/{source}/{secret}", JSON
        else:
            path, headers = f"/webhooks/{source}", {HEADER: secret, **JSON}
        sent = body if source == "dfo" else created(UNKNOWN_CASE)
        return (await http.post(path, content=sent, headers=headers)).status_code

    async with served(
        h.client, h.task_queue, h.topdesk, dfo_webhook_secret=SecretStr(DFO_SECRET)
    ) as http:
        assert await post("dfo", SECRET) == 401  # TOPdesk's secret no longer opens DFØ's door
        assert await post("topdesk", DFO_SECRET) == 401  # nor DFØ's TOPdesk's
        assert await post("dfo", DFO_SECRET) == 202
        assert await post("topdesk", SECRET) == 202


async def test_dfo_uses_the_topdesk_secret_when_it_has_none_of_its_own(h: Harness):
    body = {"case_number": UNKNOWN_CASE, "registration_id": "1", "event": "approved"}

    async with served(h.client, h.task_queue, h.topdesk) as http:
        response = await http.post(f"/webhooks/dfo/{SECRET}", json=body)

    assert response.status_code == 202, response.text
    assert response.json()["action"] == "quarantined"


# -- the HMAC signature ----------------------------------------------------------------------------


async def test_a_good_signature_starts_the_case(h: Harness):
    number = h.submit()
    body = created(number)

    async with served(
        h.client, h.task_queue, h.topdesk, webhook_hmac_key=SecretStr(KEY.decode())
    ) as http:
        response = await http.post(
            "/webhooks/topdesk", content=body, headers={**signed(body), **JSON}
        )

    assert response.status_code == 202, response.text
    assert response.json()["action"] == "started"
    await h.wait_state(case(h, number), WaitState.AWAITING_APPROVAL)


def _without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != name}


@pytest.mark.parametrize(
    "tamper",
    [
        "no signature",
        "no timestamp",
        "wrong key",
        "another body",
        "another timestamp",
        "stale timestamp",
        "future timestamp",
        "timestamp not a number",
    ],
)
async def test_a_bad_missing_or_stale_signature_is_refused_and_starts_nothing(
    h: Harness, tamper: str
):
    number = h.submit()
    body = created(number)
    now = int(time.time())
    headers = signed(body)
    if tamper == "no signature":
        headers = _without(headers, SIGNATURE_HEADER)
    elif tamper == "no timestamp":
        headers = _without(headers, TIMESTAMP_HEADER)
    elif tamper == "wrong key":
        headers[SIGNATURE_HEADER] = sign(b"another key", headers[TIMESTAMP_HEADER], body)
    elif tamper == "another body":
        headers[SIGNATURE_HEADER] = sign(KEY, headers[TIMESTAMP_HEADER], created(number, id="x"))
    elif tamper == "another timestamp":
        headers[TIMESTAMP_HEADER] = str(now - 1)
    elif tamper == "stale timestamp":  # signed correctly, but long ago: a replay
        headers = signed(body, str(now - 400))
    elif tamper == "future timestamp":
        headers = signed(body, str(now + 400))
    elif tamper == "timestamp not a number":
        headers = signed(body, "soon")

    async with served(
        h.client,
        h.task_queue,
        h.topdesk,
        webhook_hmac_key=SecretStr(KEY.decode()),
        webhook_replay_window_seconds=300,
    ) as http:
        response = await http.post("/webhooks/topdesk", content=body, headers={**headers, **JSON})

    assert response.status_code == 401, response.text
    assert await not_started(h, number)


async def test_the_signature_is_asked_only_of_the_sources_that_sign(h: Harness):
    """TOPdesk signs nothing: a deployment that signs DFØ's events names only "dfo"."""
    dfo = json.dumps({"case_number": UNKNOWN_CASE, "registration_id": "1", "event": "approved"})

    async with served(
        h.client,
        h.task_queue,
        h.topdesk,
        webhook_hmac_key=SecretStr(KEY.decode()),
        webhook_hmac_sources="dfo",
    ) as http:
        unsigned = await http.post(
            "/webhooks/topdesk", content=created(UNKNOWN_CASE), headers={HEADER: SECRET, **JSON}
        )
        dfo_unsigned = await http.post(
            "/webhooks/dfo", content=dfo, headers={HEADER: SECRET, **JSON}
        )
        dfo_signed = await http.post(
            "/webhooks/dfo", content=dfo, headers={**signed(dfo.encode()), **JSON}
        )

    assert (unsigned.status_code, dfo_unsigned.status_code, dfo_signed.status_code) == (
        202,
        401,
        202,
    )


@pytest.mark.parametrize(
    ("offset", "ok"), [(0, True), (-300, True), (300, True), (-301, False), (301, False)]
)
def test_the_replay_window_reaches_as_far_either_side(offset: int, ok: bool):
    now = 1_800_000_000
    timestamp = str(now + offset)
    signature = sign(KEY, timestamp, b"{}")

    assert signature_ok(KEY, timestamp, signature, b"{}", 300, now) is ok


def test_a_signature_in_upper_case_hex_is_the_same_signature():
    timestamp = "1800000000"
    signature = "sha256=" + sign(KEY, timestamp, b"{}").removeprefix("sha256=").upper()

    assert signature_ok(KEY, timestamp, signature, b"{}", 300, 1_800_000_000)


# -- the body size limit ---------------------------------------------------------------------------


async def test_a_body_over_the_limit_is_refused_with_413_and_starts_nothing(h: Harness):
    number = h.submit()
    body = created(number, id="x" * 2000)  # valid, and over a limit of 1 KiB

    async with served(h.client, h.task_queue, h.topdesk, webhook_max_bytes=1024) as http:
        response = await http.post(
            "/webhooks/topdesk", content=body, headers={HEADER: SECRET, **JSON}
        )

    assert response.request.headers["Content-Length"] == str(len(body))
    assert response.status_code == 413
    assert await not_started(h, number)


async def test_a_chunked_body_over_the_limit_is_refused_before_it_is_all_read(h: Harness):
    """A body that does not say its length is counted as it comes; the rest is never read."""
    number = h.submit()
    body = created(number, id="x" * 100_000)
    read: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 256):
            read.append(start)
            yield body[start : start + 256]

    async with served(h.client, h.task_queue, h.topdesk, webhook_max_bytes=1024) as http:
        response = await http.post(
            "/webhooks/topdesk", content=chunks(), headers={HEADER: SECRET, **JSON}
        )

    assert "Content-Length" not in response.request.headers
    assert response.status_code == 413
    assert len(read) < 10  # 1 KiB and a chunk, not 100 KB
    assert await not_started(h, number)


async def test_a_body_just_at_the_limit_is_accepted(h: Harness):
    number = h.submit()
    body = created(number)
    body += b" " * (1024 - len(body))  # JSON may end in white space

    async with served(h.client, h.task_queue, h.topdesk, webhook_max_bytes=1024) as http:
        response = await http.post(
            "/webhooks/topdesk", content=body, headers={HEADER: SECRET, **JSON}
        )

    assert len(body) == 1024
    assert response.status_code == 202, response.text
    await h.wait_state(case(h, number), WaitState.AWAITING_APPROVAL)


# -- readiness, the OpenAPI document ---------------------------------------------------------------


async def test_readyz_is_ready_while_temporal_answers(h: Harness):
    async with served(h.client, h.task_queue, h.topdesk) as http:
        response = await http.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


async def test_readyz_is_503_while_temporal_is_down_and_healthz_still_ok():
    gone = await start_test_server()
    address = gone.client.service_client.config.target_host
    client = await connect(Settings(temporal_address=address), INTAKE_RETRY)
    await gone.shutdown()

    async with served(client, "unused") as http:
        ready = await http.get("/readyz")
        health = await http.get("/healthz")

    assert ready.status_code == 503
    assert health.status_code == 200


async def test_readyz_is_503_before_the_intake_has_connected():
    async with served(None, "unused") as http:
        response = await http.get("/readyz")

    assert response.status_code == 503


async def test_the_openapi_document_lists_every_webhook_and_docs_serves_it():
    async with served(None, "unused") as http:
        document = (await http.get("/openapi.json")).json()
        docs = await http.get("/docs")

    webhooks = {path for path in document["paths"] if path.startswith("/webhooks/")}
    assert webhooks == {
        "/webhooks/topdesk",
        "/webhooks/topdesk/{secret}",
        "/webhooks/dfo",
        "/webhooks/dfo/{secret}",
    }
    assert {"/healthz", "/readyz"} <= set(document["paths"])
    for path in webhooks:
        assert {"202", "401", "413", "422"} <= set(document["paths"][path]["post"]["responses"])
    dfo_body = document["paths"]["/webhooks/dfo"]["post"]["requestBody"]["content"]
    kinds = dfo_body["application/json"]["schema"]["oneOf"]
    assert {kind["title"] for kind in kinds} == {"DfoWebhook", "DfoResignation"}
    assert docs.status_code == 200
    assert "/openapi.json" in docs.text


# -- the access log --------------------------------------------------------------------------------


def test_a_path_is_logged_as_its_routes_template_or_a_placeholder():
    async def never() -> Client:
        raise AssertionError("not reached")

    quarantine = Quarantine(Path(tempfile.mkdtemp()) / "quarantine.db")
    routes = create_app(Settings(webhook_secret=SecretStr(SECRET)), never, None, quarantine).routes

    assert logged_path(routes, f"/webhooks/topdesk/{SECRET}") == "/webhooks/topdesk/{secret}"
    assert logged_path(routes, "/webhooks/dfo") == "/webhooks/dfo"
    assert logged_path(routes, "/readyz") == "/readyz"
    assert logged_path(routes, "/webhooks/dfo/a/b") == "/webhooks/…"
    assert logged_path(routes, f"//webhooks/topdesk/{SECRET}") == "/webhooks/…"
    assert logged_path(routes, f"/webhook/topdesk/{SECRET}") == "/…"
    assert logged_path(routes, f"/{SECRET}") == "/…"
    assert logged_path(routes, "/") == "/…"


async def test_the_access_log_has_one_line_per_request_without_secret_or_body(h: Harness):
    number = h.submit()
    fnr = "01017012345"  # personal data a template might add: never logged
    body = created(number, fodselsnummer=fnr)

    with structlog.testing.capture_logs() as logs:
        async with served(h.client, h.task_queue, h.topdesk) as http:
            accepted = await http.post(f"/webhooks/topdesk/{SECRET}", content=body, headers=JSON)
            refused = await http.post(
                "/webhooks/topdesk/not-the-secret", content=body, headers=JSON
            )
            await http.post("/webhooks/topdesk", content=body, headers={HEADER: SECRET, **JSON})

    assert (accepted.status_code, refused.status_code) == (202, 401)
    lines = [entry for entry in logs if entry["event"] == "intake.request"]
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("POST", "/webhooks/topdesk/{secret}", 202),
        ("POST", "/webhooks/topdesk/{secret}", 401),
        ("POST", "/webhooks/topdesk", 202),
    ]
    # the refused request's body was never read, so its line names no case
    assert [line.get("case_number") for line in lines] == [number, None, number]
    # and the line says what became of the event: one line a request, no other
    assert [line.get("action") for line in lines] == ["started", None, "already_started"]
    assert [line.get("case_event") for line in lines] == [
        "incident_created",
        None,
        "incident_created",
    ]
    assert [entry["event"] for entry in logs if "case_number" in entry] == ["intake.request"] * 2
    assert all(isinstance(line["duration_ms"], float) for line in lines)
    logged = repr(logs)
    assert SECRET not in logged
    assert "not-the-secret" not in logged
    assert fnr not in logged


# -- the secret before the body --------------------------------------------------------------------

WEBHOOK_ROUTES = ["/webhooks/topdesk", "/webhooks/dfo"]


@pytest.mark.parametrize("route", WEBHOOK_ROUTES)
@pytest.mark.parametrize("in_path", [False, True])
@pytest.mark.parametrize(
    "body",
    [
        b"number=I2611-0001",  # not JSON
        b'{"number": 1e999, "event": "incident_created"}',  # no finite number
        b'{"number": NaN}',
        b"[" * 5000,  # too deep
        b'{"event": "deleted"}',  # no such event, no case
        b"x" * 70_000,  # over the size limit
    ],
)
async def test_an_unauthenticated_request_is_refused_before_its_body_is_read(
    route: str, in_path: bool, body: bytes
):
    """Whatever the body, a sender without the secret is told 401 and nothing about the body."""
    path, headers = (f"{route}/wrong-secret", JSON) if in_path else (route, JSON)

    async with served(None, "unused") as http:
        response = await http.post(path, content=body, headers=headers)

    assert response.status_code == 401, response.text
    assert response.json() == {"detail": "missing or wrong webhook secret"}


# -- no secret in any log line ---------------------------------------------------------------------

MISTYPED = [
    f"/webhook/topdesk/{SECRET}",
    f"/WEBHOOKS/topdesk/{SECRET}",
    f"//webhooks/topdesk/{SECRET}",
    f"/webhooks/topdesk/{SECRET}/extra",
    f"/webhooks/topdesk//{SECRET}",
    f"/webhooks/topdesk/{SECRET}/",
    f"/webhooks/{SECRET}",
    f"/{SECRET}",
    f"/webhooks/topdesk?secret={SECRET}",
    f"/webhooks/dfo/{SECRET}?secret={SECRET}",
    f"/readyz?secret={SECRET}",
]


@pytest.mark.parametrize("path", MISTYPED)
async def test_a_mistyped_url_puts_no_secret_in_a_log_line(
    path: str, caplog: pytest.LogCaptureFixture
):
    with structlog.testing.capture_logs() as logs:
        async with served(None, "unused") as http:
            response = await http.post(path, content=created("I2611-0001"), headers=JSON)

    [line] = [entry for entry in logs if entry["event"] == "intake.request"]
    assert line["status"] == response.status_code
    assert SECRET not in repr(logs)
    assert SECRET not in caplog.text


async def test_uvicorns_own_access_log_names_no_secret(caplog: pytest.LogCaptureFixture):
    """Should anyone serve the intake with uvicorn's access log on, its lines are redacted too."""
    from tests.net import free_port

    async def never() -> Client:
        raise AssertionError("not reached")

    quarantine = Quarantine(Path(tempfile.mkdtemp()) / "quarantine.db")
    app = create_app(Settings(webhook_secret=SecretStr(SECRET)), never, None, quarantine)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, lifespan="off", access_log=True))
    serving = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: server.started, "uvicorn to start")
        with caplog.at_level(logging.INFO, logger="uvicorn.access"):
            logging.getLogger("uvicorn.access").addHandler(caplog.handler)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                for path in [f"/webhooks/topdesk/{SECRET}", *MISTYPED]:
                    await http.post(path, content=created("I2611-0001"), headers=JSON)
    finally:
        logging.getLogger("uvicorn.access").removeHandler(caplog.handler)
        server.should_exit = True
        await serving

    access = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert len(access) == len(MISTYPED) + 1
    assert any("/webhooks/topdesk/{secret}" in line for line in access)
    assert not [line for line in access if SECRET in line]


def test_saksflyt_intake_runs_uvicorn_without_its_access_log(monkeypatch: pytest.MonkeyPatch):
    import uvicorn as served_by

    from workers import cli

    ran: dict[str, Any] = {}
    monkeypatch.setattr(served_by, "run", lambda app, **options: ran.update(options))
    settings = Settings(data_dir=Path(tempfile.mkdtemp()), webhook_secret=SecretStr(SECRET))

    assert cli.run(["intake"], settings) == 0

    assert ran["access_log"] is False
