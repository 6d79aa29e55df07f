"""`saksflyt codec-server` as case handlers use it: the stock `temporal` CLI shows a real case
decoded through it with a token, and ciphertext without; Temporal UI's preflight from its own
origin passes, another origin's does not; a missing token, a body that is no payload list and a
key the server lacks each get a clear 4xx."""

from __future__ import annotations

import base64
import json
import subprocess
import threading
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from tests import harness as scenarios
from tests.eventually import eventually_sync
from tests.harness import Harness
from tests.net import free_port
from workers.codec import new_key
from workers.codec_server import create_app
from workers.settings import Settings
from workers.temporal import binary, data_converter

TOKEN = "case-handler-token"
UI = "http://127.0.0.1:8233"


@pytest.fixture
def codec_server() -> Iterator[str]:
    """The codec server over HTTP with the test keys (those of `data_converter()`) and a token."""
    settings = Settings(codec_server_tokens=[SecretStr(TOKEN)], codec_server_port=free_port())
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=settings.codec_server_port, log_config=None
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    eventually_sync(lambda: server.started or not thread.is_alive(), "the codec server to start")
    assert server.started, "the codec server did not start"
    yield settings.codec_server_url
    server.should_exit = True
    thread.join(10)


def show(h: Harness, workflow_id: str, *codec: str) -> subprocess.CompletedProcess[str]:
    address = ["--address", h.client.service_client.config.target_host]
    return subprocess.run(
        [binary("temporal"), "workflow", "show", "-w", workflow_id, "-o", "json", *address, *codec],
        capture_output=True,
        text=True,
        timeout=60,
    )


def payloads_of(output: str) -> list[dict]:
    """Every payload in the CLI's JSON history: objects with base64 `metadata` and `data`."""
    found: list[dict] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("metadata"), dict) and "encoding" in value["metadata"]:
                found.append(value)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(json.loads(output))
    return found


def encodings(payloads: list[dict]) -> set[str]:
    return {base64.b64decode(p["metadata"]["encoding"]).decode() for p in payloads}


def holds(payloads: list[dict], text: str) -> bool:
    return any(text.encode() in base64.b64decode(p.get("data", "")) for p in payloads)


async def test_the_stock_cli_shows_a_case_decoded_only_through_the_codec_server_with_a_token(
    dev_h: Harness, codec_server: str
):
    handle = await scenarios.complete_form(dev_h)

    sealed = show(dev_h, handle.id)
    assert sealed.returncode == 0, sealed.stderr
    assert "binary/encrypted" in encodings(payloads_of(sealed.stdout))
    assert not holds(payloads_of(sealed.stdout), "2026/12345")

    opened = show(
        dev_h, handle.id, "--codec-endpoint", codec_server, "--codec-auth", f"Bearer {TOKEN}"
    )
    assert opened.returncode == 0, opened.stderr
    assert "binary/encrypted" not in encodings(payloads_of(opened.stdout))
    assert holds(payloads_of(opened.stdout), "2026/12345")  # the form, as the case handler reads it

    wrong = ["--codec-auth", "Bearer x", "--command-timeout", "2s"]  # the CLI retries a 401
    refused = show(dev_h, handle.id, "--codec-endpoint", codec_server, *wrong)
    assert refused.returncode != 0 and "2026/12345" not in refused.stdout


async def sealed_body(settings: Settings | None = None) -> dict:
    """A `/decode` body: "Kari Nordmann" sealed under the settings' keys (the tests' if None)."""
    payload = (await data_converter(settings).encode(["Kari Nordmann"]))[0]
    metadata = {key: base64.b64encode(value).decode() for key, value in payload.metadata.items()}
    return {"payloads": [{"metadata": metadata, "data": base64.b64encode(payload.data).decode()}]}


async def test_decode_opens_with_a_token_and_refuses_without(codec_server: str):
    body = await sealed_body()
    async with httpx.AsyncClient(base_url=codec_server) as http:
        refused = await http.post("/decode", json=body)
        opened = await http.post("/decode", json=body, headers={"Authorization": f"Bearer {TOKEN}"})

    assert refused.status_code == 401
    assert opened.status_code == 200
    [payload] = opened.json()["payloads"]
    assert base64.b64decode(payload["data"]) == b'"Kari Nordmann"'


async def test_encode_then_decode_round_trips(codec_server: str):
    plain = {"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "IjEi"}]}
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=codec_server, headers=auth) as http:
        sealed = (await http.post("/encode", json=plain)).json()
        opened = (await http.post("/decode", json=sealed)).json()

    assert encodings(sealed["payloads"]) == {"binary/encrypted"}
    assert opened == plain


async def test_the_uis_preflight_passes_from_its_origin_only(codec_server: str):
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace,authorization",
    }
    async with httpx.AsyncClient(base_url=codec_server) as http:
        ui = await http.options("/decode", headers={**preflight, "Origin": UI})
        other = await http.options("/decode", headers={**preflight, "Origin": "http://evil.test"})

    assert ui.status_code == 200 and ui.headers["access-control-allow-origin"] == UI
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b"not json", 400, "no payload list"),
        (b'{"payloads": [{"metadata": 3}]}', 400, "no payload list"),
    ],
)
async def test_a_body_that_is_no_payload_list_is_a_400(codec_server: str, body, status, says):
    async with httpx.AsyncClient(base_url=codec_server) as http:
        answer = await http.post(
            "/decode", content=body, headers={"Authorization": f"Bearer {TOKEN}"}
        )
    assert answer.status_code == status and says in answer.text


async def test_a_payload_under_a_key_the_server_lacks_is_a_422_naming_it(codec_server: str):
    other = Settings(codec_keys={"2030-01": SecretStr(new_key())}, codec_active_key="2030-01")
    body = await sealed_body(other)
    async with httpx.AsyncClient(base_url=codec_server) as http:
        answer = await http.post("/decode", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 422 and "'2030-01'" in answer.text


def test_without_a_token_it_serves_loopback_only():
    create_app(Settings(codec_server_host="127.0.0.1"))  # saksflyt dev
    with pytest.raises(ValueError, match="SAKSFLYT_CODEC_SERVER_TOKENS"):
        create_app(Settings(codec_server_host="0.0.0.0"))
