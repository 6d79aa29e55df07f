"""The intake as its own HTTP server in this process (uvicorn on a thread of its own), connected
to Temporal exactly as `saksflyt intake` connects: `connect(settings, INTAKE_RETRY, lazy=True)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator

import uvicorn
from temporalio.client import Client
from uvicorn._types import ASGIApplication

from adapters.topdesk.port import TopdeskPort
from tests.eventually import eventually, eventually_sync
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


@contextlib.asynccontextmanager
async def served_here(app: ASGIApplication, port: int) -> AsyncIterator[str]:
    """Serve `app` on loopback in this event loop until the block ends (for tests whose
    workflows and intake share the loop); a server that could not start raises why."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())

    async def started() -> bool:
        if serving.done():
            await serving  # it could not start: raise why
        return server.started

    try:
        await eventually(started, "the intake to start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving
