"""A real cluster's TLS: the Temporal dev server behind a TLS terminator that requires a client
certificate (tests/tls_proxy.py), as a load balancer or Temporal Cloud stands in front of one.

The worker, the intake and the CLI each connect through `workers.temporal.connect`, configured
the ways an operator configures them: `SAKSFLYT_*` settings, the `temporal` CLI's `TEMPORAL_*`
variables, or its TOML profile. A wrong CA, a missing client certificate or a wrong server name
is one line naming the problem, soon, never a hang.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.service import TLSConfig
from temporalio.testing import WorkflowEnvironment

from adapters.dfo.archive import ArchiveStub
from adapters.dfo.portal import PortalStub
from adapters.dfo.sap import SapStub
from adapters.dfo.spk import SpkStub
from adapters.topdesk.client import TopdeskClient
from adapters.topdesk.simulator import TopdeskSimulator
from domain.cases import WaitState
from tests.eventually import eventually
from tests.harness import Harness
from tests.intake_server import intake_server
from tests.net import free_port
from tests.tls_proxy import SERVER_NAME, Pki, TlsProxy
from workers.intake import new_hire_id
from workers.settings import Settings
from workers.temporal import connect
from workers.temporal_config import ConnectFailed, tls_config
from workers.worker import Systems, build_worker
from workflows.new_hire import NewHireWorkflow

SECRET_HEADER = {"X-Saksflyt-Secret": "dev-webhook-secret"}
# Every failure must come back well within this; connect's own bound is 10 s by default.
DEADLINE = 30


@pytest.fixture
def proxy(dev_server: WorkflowEnvironment, tmp_path: Path) -> Iterator[TlsProxy]:
    upstream = dev_server.client.service_client.config.target_host
    with TlsProxy(upstream, tmp_path / "pki") as running:
        yield running


def tls_settings(proxy: TlsProxy, tmp_path: Path, **changes: object) -> Settings:
    """What an operator sets with SAKSFLYT_* for this cluster."""
    pki = proxy.pki
    fields: dict[str, object] = {
        "temporal_address": proxy.address,
        "temporal_tls_server_ca_cert": str(pki.server_ca),
        "temporal_tls_client_cert": str(pki.client_cert),
        "temporal_tls_client_key": SecretStr(str(pki.client_key)),
        "temporal_tls_server_name": SERVER_NAME,
        "task_queue": f"tls-{uuid.uuid4()}",
        "data_dir": tmp_path / "saksflyt",
        "intake_port": free_port(),
        **changes,
    }
    return Settings(**fields)  # type: ignore[arg-type]


def temporal_env(address: str, pki: Pki, **changes: str) -> dict[str, str]:
    """What the `temporal` CLI reads for this cluster (its environment configuration)."""
    env = {
        "TEMPORAL_ADDRESS": address,
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(pki.server_ca),
        "TEMPORAL_TLS_CLIENT_CERT_PATH": str(pki.client_cert),
        "TEMPORAL_TLS_CLIENT_KEY_PATH": str(pki.client_key),
        "TEMPORAL_TLS_SERVER_NAME": SERVER_NAME,
        **changes,
    }
    return {name: value for name, value in env.items() if value}


def saksflyt(tmp_path: Path, env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    """`python -m workers.cli ARGV` as an operator runs it, with only `env` configuring Temporal
    (none of this process's TEMPORAL_* or SAKSFLYT_* variables), in a folder without a .env."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "SAKSFLYT_"))}
    return subprocess.run(
        [sys.executable, "-m", "workers.cli", *argv],
        env={**clean, "SAKSFLYT_LOG_FORMAT": "json", **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )


async def test_worker_intake_and_cli_work_a_case_through_mtls(
    dev_server: WorkflowEnvironment,
    proxy: TlsProxy,
    simulator: TopdeskSimulator,
    topdesk: TopdeskClient,
    tmp_path: Path,
):
    """The worker runs the case, the intake starts and signals it, the CLI lists it: each over
    TLS with a client certificate, the worker and intake by SAKSFLYT_*, the CLI by TEMPORAL_*."""
    settings = tls_settings(proxy, tmp_path)
    client = await connect(settings)
    h = _harness(client, settings.task_queue, topdesk, simulator, dev_server, tmp_path)
    systems = Systems(h.topdesk, h.sap, h.spk, h.archive, h.portal)  # type: ignore[arg-type]
    async with build_worker(client, settings.task_queue, systems):
        with intake_server(settings, topdesk) as intake:
            async with httpx.AsyncClient(base_url=intake, headers=SECRET_HEADER) as http:
                assert (await http.get("/readyz")).json() == {"status": "ready"}
                number = h.submit()
                created = {"number": number, "event": "incident_created"}
                answer = await http.post("/webhooks/topdesk", json=created)
                assert answer.json()["action"] == "started", answer.text
                handle = client.get_workflow_handle_for(NewHireWorkflow.run, new_hire_id(number))
                await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
                registration = (await handle.query(NewHireWorkflow.progress)).registration_id
                assert registration is not None
                h.sap.decide(registration, approved=True)
                decided = {"case_number": number, "registration_id": registration}
                answer = await http.post("/webhooks/dfo", json={**decided, "event": "approved"})
                assert answer.json()["action"] == "signalled", answer.text
            result = await asyncio.wait_for(handle.result(), DEADLINE)
    assert result.outcome == "registered"
    await _visible(dev_server, handle.id)

    listed = saksflyt(tmp_path, temporal_env(proxy.address, proxy.pki), "cases", "--all", "--json")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    [case] = [line for line in json.loads(listed.stdout) if line["case_number"] == number]
    assert case["status"] == "COMPLETED"


async def test_a_toml_profile_serves_the_cli_and_saksflyt_settings_win_over_it(
    proxy: TlsProxy, tmp_path: Path
):
    """The `temporal` CLI's profile file, chosen by TEMPORAL_PROFILE; the profile names the
    wrong server, and SAKSFLYT_TEMPORAL_TLS_SERVER_NAME, which wins, the right one."""
    pki = proxy.pki
    profile = tmp_path / "temporal.toml"
    profile.write_text(
        f'[profile.cluster]\naddress = "{proxy.address}"\n'
        f'[profile.cluster.tls]\nserver_name = "wrong.example"\n'
        f'server_ca_cert_path = "{pki.server_ca}"\nclient_cert_path = "{pki.client_cert}"\n'
        f'client_key_path = "{pki.client_key}"\n'
    )
    env = {"TEMPORAL_CONFIG_FILE": str(profile), "TEMPORAL_PROFILE": "cluster"}

    wrong = saksflyt(tmp_path, env, "schedules")
    right = saksflyt(tmp_path, {**env, "SAKSFLYT_TEMPORAL_TLS_SERVER_NAME": SERVER_NAME}, "cases")

    assert wrong.returncode == 1 and "wrong.example" in wrong.stderr, wrong.stdout + wrong.stderr
    assert right.returncode == 0, right.stdout + right.stderr
    assert "0 open cases" in right.stdout


WRONG: dict[str, tuple[Callable[[Pki], dict[str, str]], str]] = {
    "a CA that did not sign the server's certificate": (
        lambda pki: {"TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(pki.wrong_ca)},
        "not signed by the server CA",
    ),
    "no client certificate": (
        lambda pki: {"TEMPORAL_TLS_CLIENT_CERT_PATH": "", "TEMPORAL_TLS_CLIENT_KEY_PATH": ""},
        "client certificate",
    ),
    "a server name the certificate is not for": (
        lambda pki: {"TEMPORAL_TLS_SERVER_NAME": "wrong.example"},
        "not valid for the server name wrong.example",
    ),
}


@pytest.mark.parametrize("wrong", WRONG, ids=list(WRONG))
async def test_a_wrong_tls_setting_is_one_line_naming_it_never_a_hang(
    proxy: TlsProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wrong: str
):
    """`connect` raises `ConnectFailed` naming the problem; the CLI prints one line, exit 1."""
    change, said = WRONG[wrong]
    changes = change(proxy.pki)
    env = temporal_env(proxy.address, proxy.pki, **changes)
    _only(monkeypatch, env)
    settings = Settings(data_dir=tmp_path)
    async with asyncio.timeout(DEADLINE):
        with pytest.raises(ConnectFailed, match=said):
            await connect(settings)

    listed = saksflyt(tmp_path, env, "cases")
    assert listed.returncode == 1, listed.stdout + listed.stderr
    assert listed.stderr.count("\n") == 1 and said in listed.stderr, listed.stderr


async def test_a_server_that_never_answers_is_given_up_within_the_connect_timeout(
    tmp_path: Path,
):
    """A TLS client facing a port that accepts and says nothing would wait for minutes."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        settings = Settings(
            temporal_address=f"127.0.0.1:{silent.getsockname()[1]}",
            temporal_tls=True,
            temporal_connect_timeout_seconds=0.5,
            data_dir=tmp_path,
        )
        async with asyncio.timeout(DEADLINE):
            with pytest.raises(ConnectFailed, match=r"no answer within 0\.5 s"):
                await connect(settings)


def test_temporal_variables_reach_settings_below_saksflyt_ones(monkeypatch: pytest.MonkeyPatch):
    """TEMPORAL_* fill what SAKSFLYT_* leaves unset; an API key turns TLS on; and the dev keys
    are refused for a cluster named only by TEMPORAL_ADDRESS."""
    _only(
        monkeypatch,
        {
            "TEMPORAL_CONFIG_FILE": "/nonexistent/temporal.toml",
            "TEMPORAL_ADDRESS": "hr.a1b2c.tmprl.cloud:7233",
            "TEMPORAL_NAMESPACE": "hr.a1b2c",
            "TEMPORAL_API_KEY": "cloud-key",
            "SAKSFLYT_TEMPORAL_NAMESPACE": "payroll.a1b2c",
        },
    )

    settings = Settings()

    assert settings.temporal_address == "hr.a1b2c.tmprl.cloud:7233"
    assert settings.temporal_namespace == "payroll.a1b2c"
    assert settings.temporal_api_key.get_secret_value() == "cloud-key"
    assert not settings.temporal_on_loopback
    assert tls_config(settings) == TLSConfig()  # on, with the system's CAs
    with pytest.raises(ValueError, match="dev key"):
        settings.codec_keys_for_use()
    with pytest.raises(ValueError, match="dev key"):
        settings.pseudonym_key_for_use()


def test_a_profile_that_is_not_there_is_an_error_not_the_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    profile = tmp_path / "temporal.toml"
    profile.write_text('[profile.default]\naddress = "temporal.ntnu.no:7233"\n')
    _only(monkeypatch, {"TEMPORAL_CONFIG_FILE": str(profile), "TEMPORAL_PROFILE": "prod"})
    with pytest.raises(ValueError, match="Profile 'prod' not found"):
        Settings()


def _only(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """These TEMPORAL_* and SAKSFLYT_* variables and no others, for this test."""
    for name in [n for n in os.environ if n.startswith(("TEMPORAL_", "SAKSFLYT_"))]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def _harness(
    client: Client,
    task_queue: str,
    topdesk: TopdeskClient,
    simulator: TopdeskSimulator,
    env: WorkflowEnvironment,
    tmp_path: Path,
) -> Harness:
    return Harness(
        client,
        task_queue,
        topdesk,
        simulator,
        SapStub(tmp_path / "sap.db"),
        env,
        SpkStub(tmp_path / "spk.db"),
        ArchiveStub(tmp_path / "archive.db"),
        portal=PortalStub(tmp_path / "portal.db"),
    )


async def _visible(env: WorkflowEnvironment, workflow_id: str) -> None:
    """Visibility lags the workflow a little."""
    query = f"WorkflowId = '{workflow_id}' AND ExecutionStatus = 'Completed'"

    async def listed() -> bool:
        return bool([w async for w in env.client.list_workflows(query)])

    await eventually(listed, "visibility to show the case completed")
