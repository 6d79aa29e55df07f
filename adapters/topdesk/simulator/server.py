"""The simulator as one object: the API on uvicorn in a thread, webhook delivery in another,
the ``/_sim`` control routes, and ``main`` for running it standalone.

The socket is bound in the constructor, so ``url`` is known before ``start()`` and a client that
connects before uvicorn's loop runs simply waits in the listen backlog.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
import threading
from dataclasses import asdict
from pathlib import Path

import uvicorn
from starlette.routing import Route
from starlette.types import Scope

from .api import IncidentApi
from .config import ApiError, FaultRule, SimulatorConfig, WebhookConfig
from .dates import Clock
from .directory import DirectoryApi
from .faults import FaultInjector, fault_rule_from_json
from .lifecycle import Incidents
from .store import Store
from .web import Call, Reply, TopdeskFront, route
from .webhooks import Outbox, WebhookDeliverer

log = logging.getLogger(__name__)


class TopdeskSimulator:
    """A TOPdesk instance in a box: HTTP API, SQLite state, outbound webhooks, fault injection.

    One object runs once; to "restart", stop it and build a new one on the same ``db_path``.
    """

    def __init__(self, config: SimulatorConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config
        self._stopping = threading.Event()
        self._store = Store(config.db_path)
        self._faults = FaultInjector()
        self._deliverer = WebhookDeliverer(self._store, config.webhook, self._stopping)
        self._outbox = Outbox(config.webhook, self._deliverer.notify)
        self._incidents = Incidents(self._store, Clock(), config.login, self._outbox)
        routes = [
            *DirectoryApi(self._store, config.login).routes(),
            *IncidentApi(self._incidents).routes(),
            *self._control_routes(),
        ]
        app = TopdeskFront(
            routes, self._faults.take, (config.login, config.app_password), self._drop
        )
        self._socket = _bind(host, port)
        self._server = _Server(
            uvicorn.Config(
                app,
                log_config=None,  # the process's own logging (workers.logging) applies
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=2,
            )
        )
        self._threads: list[threading.Thread] = []
        self._closed = False

    @property
    def url(self) -> str:
        host, port = self._socket.getsockname()[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start(self) -> None:
        """Serve HTTP and deliver webhooks, each in a daemon thread."""
        if self._threads or self._closed:
            raise RuntimeError("a simulator runs once; build a new one on the same db_path")
        self._threads = [
            threading.Thread(
                target=self._server.run,
                kwargs={"sockets": [self._socket]},
                name="topdesk-sim-http",
                daemon=True,
            ),
            threading.Thread(target=self._deliverer.run, name="topdesk-sim-webhooks", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        log.info("TOPdesk simulator listening on %s (db %s)", self.url, self.config.db_path)

    def stop(self) -> None:
        """Stop serving (open keep-alive connections are closed), stop delivery; safe twice."""
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        self._deliverer.notify()
        self._server.exit()
        for thread in self._threads:
            thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> TopdeskSimulator:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # test and demo control ---------------------------------------------------------------
    def inject_fault(self, rule: FaultRule) -> None:
        self._faults.add(rule)

    def clear_faults(self) -> None:
        self._faults.clear()

    def caller_reply(self, number: str, text: str) -> dict:
        """The caller answers in the self-service portal; raises ApiError (404/403/400)."""
        return self._incidents.caller_reply(number, text)

    def drop_webhooks(self, count: int) -> None:
        """Silently lose the next ``count`` webhook events (recorded as "dropped")."""
        self._outbox.drop_next(count)

    def webhook_deliveries(self) -> list[dict]:
        with self._store.transaction() as tx:
            return tx.deliveries()

    async def _drop(self, scope: Scope) -> None:
        """Close the request's connection without a byte of answer (the "drop" fault).

        uvicorn keeps its open connections in ``server_state``; the one whose peer is this
        request's client is closed, and the app then waits until uvicorn has seen it go, so it
        does not answer a 500 in its place.
        """
        for connection in list(self._server.server_state.connections):
            if getattr(connection, "client", None) == scope.get("client"):
                connection.transport.close()  # type: ignore[attr-defined]
        for _ in range(100):
            if not any(
                getattr(c, "client", None) == scope.get("client")
                for c in self._server.server_state.connections
            ):
                return
            await asyncio.sleep(0.001)

    def _control_routes(self) -> list[Route]:
        """``/_sim``: unauthenticated test/demo control, never part of the TOPdesk API."""
        table = [
            ("GET", "/_sim/health", lambda c: Reply(200, {"ok": True})),
            ("GET", "/_sim/faults", lambda c: Reply(200, self._faults.snapshot())),
            ("POST", "/_sim/faults", self._post_fault),
            ("DELETE", "/_sim/faults", self._delete_faults),
            ("POST", "/_sim/incidents/{number}/reply", self._post_reply),
            ("GET", "/_sim/webhooks", lambda c: Reply(200, self.webhook_deliveries())),
            ("POST", "/_sim/webhook-faults", self._post_webhook_fault),
        ]
        return [route(methods, path, handler) for methods, path, handler in table]

    def _post_fault(self, call: Call) -> Reply:
        rule = fault_rule_from_json(call.json())
        self.inject_fault(rule)
        return Reply(201, asdict(rule))

    def _delete_faults(self, call: Call) -> Reply:
        self.clear_faults()
        return Reply(204)

    def _post_reply(self, call: Call) -> Reply:
        body = call.json_object()
        return Reply(200, self.caller_reply(call.path_params["number"], body.get("text", "")))

    def _post_webhook_fault(self, call: Call) -> Reply:
        count = call.json_object().get("drop_next")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ApiError(400, "'drop_next' must be a non-negative integer")
        self.drop_webhooks(count)
        return Reply(200, {"drop_next": count})


class _Server(uvicorn.Server):
    """uvicorn's server, woken to stop at once: its own main loop looks at ``should_exit``
    every 0.1 s, which made each stop (one per test) that much slower."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        if not self.should_exit:
            await self._wake.wait()

    def exit(self) -> None:
        self.should_exit = True
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket. IPPROTO_TCP is named because asyncio turns Nagle off only on
    sockets that say so, and with Nagle on a keep-alive client waits ~40 ms for every answer."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def main(argv: list[str] | None = None) -> int:
    """Run the simulator until SIGINT/SIGTERM; prints its base URL on the first line.

    Logging is the caller's: ``saksflyt simulator`` has set up the project's logging first;
    ``python -m adapters.topdesk.simulator`` sets it up here the same way.
    """
    parser = argparse.ArgumentParser(
        prog="python -m adapters.topdesk.simulator", description="Run the TOPdesk simulator."
    )
    parser.add_argument("--db", required=True, type=Path, help="SQLite file holding the state")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--login", default=SimulatorConfig.login)
    parser.add_argument("--password", default=SimulatorConfig.app_password)
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--webhook-secret", default="")
    args = parser.parse_args(argv)
    config = SimulatorConfig(
        db_path=args.db,
        login=args.login,
        app_password=args.password,
        webhook=WebhookConfig(url=args.webhook_url, secret=args.webhook_secret),
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError):  # not the main thread: the caller stops us
            signal.signal(signum, lambda *_: stop.set())
    with TopdeskSimulator(config, host=args.host, port=args.port) as simulator:
        print(simulator.url, flush=True)
        while not stop.wait(0.5):
            pass
    return 0
