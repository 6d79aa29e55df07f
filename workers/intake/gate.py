"""The first thing every request meets: pure ASGI, so before anything reads or parses the body.

In this order: a webhook without its source's secret is refused with 401 before its body is read
(`security.py`); a body over the limit with 413, whether or not it says its length (a chunked one
is counted as it is read); a body no model should see (`body.py`) with a 422 naming the place.
Then one log line per request: method, the path as `logged_path` gives it (the route's
template; never a secret, never the query string), status, duration, the case number or form
id if the body names a well-formed one, and what the route adds (`logged`: the event and what
became of it); never the body itself. One line, not one here and one in the route: a log line
costs the intake about a tenth of its CPU a webhook (`bench/intake_load.py`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import structlog
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workers.intake.body import examine
from workers.intake.security import Secrets, logged_path, route_path

log = structlog.get_logger(__name__)

UNAUTHENTICATED = {"detail": "missing or wrong webhook secret"}


class RequestGate:
    def __init__(
        self, app: ASGIApp, max_bytes: int, secrets: Secrets, routes: Sequence[BaseRoute]
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.secrets = secrets
        self.routes = routes  # the app's, to name a path by its template

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless a response starts: an error the server middleware answers
        names: dict[str, str] = {}

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            names = await self._pass(scope, receive, sent)
        finally:
            line = {
                **names,
                **scope.get("state", {}).get(LOGGED, {}),
                "method": scope["method"],
                "path": logged_path(self.routes, route_path(scope)),
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            }
            log.info("intake.request", **line)

    async def _pass(self, scope: Scope, receive: Receive, send: Send) -> dict[str, str]:
        """Answer what the gate refuses, or hand the request on; the names the log may carry."""
        if self.secrets.refuses(scope):
            await _answer(send, 401, UNAUTHENTICATED)
            return {}
        body = await self._read(scope, receive)
        if body is None:
            await _answer(send, 413, {"detail": f"body over {self.max_bytes} bytes"})
            return {}
        refusal, names = examine(body)
        if refusal:
            await _answer(send, 422, {"detail": refusal.detail()})
            return {}
        await self.app(scope, _replay(body, receive), send)
        return names

    async def _read(self, scope: Scope, receive: Receive) -> bytes | None:
        """The whole body, or None once it is over the limit (declared or read)."""
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the sender gave up: the app sees that too
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


LOGGED = "saksflyt.logged"


def logged(scope: Scope, **names: str) -> None:
    """Names a route adds to its request's log line (the scope's state, which the route's
    `Request.state` shares)."""
    scope.setdefault("state", {}).setdefault(LOGGED, {}).update(names)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the app the body already read, then listens on as before."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _answer(send: Send, status: int, content: dict[str, Any]) -> None:
    payload = json.dumps(content).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
