"""`saksflyt dev` as a user runs it: the whole stack in processes of its own, on free ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest


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
    temporal, ui, simulator, intake, metrics = _free_ports(5)
    return {
        **os.environ,
        "SAKSFLYT_DATA_DIR": str(tmp_path / "data"),
        "SAKSFLYT_TEMPORAL_ADDRESS": f"127.0.0.1:{temporal}",
        "SAKSFLYT_TEMPORAL_UI_PORT": str(ui),
        "SAKSFLYT_TOPDESK_URL": f"http://127.0.0.1:{simulator}",
        "SAKSFLYT_INTAKE_PORT": str(intake),
        "SAKSFLYT_METRICS_ADDRESS": f"127.0.0.1:{metrics}",
    }


def _listening(env: dict[str, str]) -> list[int]:
    ports = [
        int(env["SAKSFLYT_TEMPORAL_ADDRESS"].rsplit(":", 1)[1]),
        int(env["SAKSFLYT_TOPDESK_URL"].rsplit(":", 1)[1]),
        int(env["SAKSFLYT_INTAKE_PORT"]),
        int(env["SAKSFLYT_METRICS_ADDRESS"].rsplit(":", 1)[1]),
    ]
    open_ports = []
    for port in ports:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                open_ports.append(port)
    return open_ports


def test_the_demo_settles_every_case_and_exits_0(stack_env: dict[str, str]):
    run = subprocess.run(
        [sys.executable, "-m", "workers.cli", "dev", "--demo", "--once"],
        env=stack_env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    for outcome in ("registered", "refused"):
        assert outcome in run.stdout
    assert _listening(stack_env) == []  # every process it started has stopped
    # nothing personal in the stack's logs
    logs = "".join(p.read_text() for p in Path(stack_env["SAKSFLYT_DATA_DIR"]).glob("logs/*"))
    assert "8601" not in logs and "Fødselsnummer:" not in logs


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
    assert len(_listening(stack_env)) == 4, "".join(lines)
    stack.send_signal(signal.SIGINT)
    assert stack.wait(30) == 0
    deadline = time.monotonic() + 10
    while _listening(stack_env) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _listening(stack_env) == []
