"""`saksflyt dev` as a user runs it: the whole stack in processes of its own, on free ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.eventually import eventually_sync
from tests.faults.exposure import identifiers_in_forms, in_clear


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for probe in sockets:
        probe.bind(("127.0.0.1", 0))
    ports = [probe.getsockname()[1] for probe in sockets]
    for probe in sockets:
        probe.close()
    return ports


@pytest.fixture
def stack_env(tmp_path: Path) -> dict[str, str]:
    return _stack_env(tmp_path)


def _stack_env(tmp_path: Path) -> dict[str, str]:
    temporal, ui, simulator, intake, metrics, codec = _free_ports(6)
    return {
        **os.environ,
        "SAKSFLYT_DATA_DIR": str(tmp_path / "data"),
        "SAKSFLYT_TEMPORAL_ADDRESS": f"127.0.0.1:{temporal}",
        "SAKSFLYT_TEMPORAL_UI_PORT": str(ui),
        "SAKSFLYT_TOPDESK_URL": f"http://127.0.0.1:{simulator}",
        "SAKSFLYT_INTAKE_PORT": str(intake),
        "SAKSFLYT_METRICS_ADDRESS": f"127.0.0.1:{metrics}",
        "SAKSFLYT_CODEC_SERVER_PORT": str(codec),
    }


def _listening(env: dict[str, str]) -> list[int]:
    ports = [
        int(env["SAKSFLYT_TEMPORAL_ADDRESS"].rsplit(":", 1)[1]),
        int(env["SAKSFLYT_TOPDESK_URL"].rsplit(":", 1)[1]),
        int(env["SAKSFLYT_INTAKE_PORT"]),
        int(env["SAKSFLYT_METRICS_ADDRESS"].rsplit(":", 1)[1]),
        int(env["SAKSFLYT_CODEC_SERVER_PORT"]),
    ]
    open_ports = []
    for port in ports:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                open_ports.append(port)
    return open_ports


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    """`saksflyt dev --demo --once`, run once for the tests that read what it left."""
    env = _stack_env(tmp_path_factory.mktemp("demo"))
    run = subprocess.run(
        [sys.executable, "-m", "workers.cli", "dev", "--demo", "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert _listening(env) == []  # every process it started has stopped
    return run, Path(env["SAKSFLYT_DATA_DIR"])


def test_the_demo_settles_every_case_and_exits_0(demo: tuple[subprocess.CompletedProcess, Path]):
    run, _ = demo
    assert run.returncode == 0, run.stdout + run.stderr
    for outcome in ("registered", "refused", "decided"):
        assert outcome in run.stdout
    for title in ("fast tillegg registreres", "intern permisjon innvilges"):
        assert title in run.stdout
    assert "leder svarer i" in run.stdout  # the manager answered in the case opened to them


def test_no_identifier_of_the_demo_lies_in_clear_in_temporal_logs_outbox_or_quarantine(
    demo: tuple[subprocess.CompletedProcess, Path],
):
    """Every fødselsnummer, bank account (spaced and compact) and name of the demo's forms, as
    TOPdesk holds them, searched for in Temporal's database file (histories and visibility) and
    its WAL, every log of the stack, the intake's outbox and the quarantine: none is there."""
    run, data = demo
    assert run.returncode == 0, run.stdout + run.stderr
    identifiers = identifiers_in_forms(data / "topdesk-simulator.db")
    assert len(identifiers) >= 12  # 5 forms: a name, a fødselsnummer and an account, two ways
    assert {path.name for path in data.glob("temporal.db*")} and list(data.glob("logs/*.log"))
    assert in_clear(data, identifiers) == []


def test_ctrl_c_stops_every_process_the_stack_started(stack_env: dict[str, str]):
    stack = subprocess.Popen(
        [sys.executable, "-m", "workers.cli", "dev"],
        env=stack_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert stack.stdout is not None
    lines = []
    for line in stack.stdout:
        lines.append(line)
        if "Ctrl-C" in line:
            break
    assert len(_listening(stack_env)) == 5, "".join(lines)
    # Temporal UI asks the stack's codec server to open the cases it shows
    ui = requests.get(f"http://127.0.0.1:{stack_env['SAKSFLYT_TEMPORAL_UI_PORT']}/api/v1/settings")
    codec = f"http://127.0.0.1:{stack_env['SAKSFLYT_CODEC_SERVER_PORT']}"
    assert ui.json()["Codec"]["Endpoint"] == codec
    stack.send_signal(signal.SIGINT)
    assert stack.wait(30) == 0

    def closed() -> bool:
        assert _listening(stack_env) == []
        return True

    eventually_sync(closed, "every port to close")
