"""The intake as its own HTTP server in this process (uvicorn on a thread of its own), connected
to Temporal exactly as `saksflyt intake` connects: `connect(settings, INTAKE_RETRY, lazy=True)`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import uvicorn
from temporalio.client import Client

from adapters.topdesk.port import TopdeskPort
from tests.eventually import eventually_sync
from workers.intake import create_app
from workers.settings import Settings
from workers.temporal import INTAKE_RETRY, connect


@contextlib.contextmanager
def intake_server(settings: Settings, topdesk: TopdeskPort) -> Iterator[str]:
    """Serve the intake at `settings.intake_url` until the block ends; its quarantine and outbox
    lie under `settings.data_dir`, as each replica's own."""

    async def connected() -> Client:
        return await connect(settings, INTAKE_RETRY, lazy=True)

    app = create_app(settings, connected, topdesk)
    config = uvicorn.Config(
        app, host=settings.intake_host, port=settings.intake_port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    eventually_sync(lambda: server.started or not thread.is_alive(), "the intake to start")
    assert server.started, "the intake did not start"
    try:
        yield settings.intake_url
    finally:
        server.should_exit = True
        thread.join(10)
