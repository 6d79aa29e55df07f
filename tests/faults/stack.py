"""The processes the fault suite runs: `saksflyt dev`'s own stack (workers/dev.py), on free
loopback ports and a data folder of its own, whose services it kills and starts again."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

from workers.dev import DevStack
from workers.settings import Settings

WORKERS = ("worker", "worker-2")


def fault_settings(data_dir: Path) -> Settings:
    """Settings for the suite, put in the environment too: every process of the stack reads its
    settings from there. Metrics are off (two workers would want one port); the intake's outbox
    retries within seconds, so that a drained outbox shows within the settle deadline."""
    temporal, ui, simulator, intake, codec = _free_ports(5)
    os.environ.update(
        {
            "SAKSFLYT_DATA_DIR": str(data_dir),
            "SAKSFLYT_TEMPORAL_ADDRESS": f"127.0.0.1:{temporal}",
            "SAKSFLYT_TEMPORAL_UI_PORT": str(ui),
            "SAKSFLYT_TOPDESK_URL": f"http://127.0.0.1:{simulator}",
            "SAKSFLYT_INTAKE_PORT": str(intake),
            "SAKSFLYT_CODEC_SERVER_PORT": str(codec),
            "SAKSFLYT_METRICS_ADDRESS": "",
            "SAKSFLYT_OUTBOX_RETRY_FIRST": "0.5",
            "SAKSFLYT_OUTBOX_RETRY_MAX": "4",
            "SAKSFLYT_LOG_FORMAT": "json",
        }
    )
    return Settings()


class FaultStack(DevStack):
    """The dev stack, plus killing (SIGKILL: no clean shutdown) and restarting one service."""

    def kill(self, name: str) -> None:
        process = self.running.get(name)
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: children go with it
            process.wait()

    def terminate(self, name: str) -> None:
        """A clean stop (SIGTERM), as an operator stops a service."""
        process = self.running.get(name)
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait(30)

    def alive(self, name: str) -> bool:
        process = self.running.get(name)
        return process is not None and process.poll() is None

    def restart(self, name: str) -> None:
        """Start `name` again; a second worker is a copy of the first under its own name."""
        self.start_service("worker" if name in WORKERS else name, as_name=name)


def _free_ports(count: int) -> list[int]:
    """`count` distinct free ports: every probe stays bound until all are chosen."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


__all__ = ["WORKERS", "FaultStack", "fault_settings"]
