"""The HTTP layer on the project's stack (Starlette under uvicorn, like the intake).

Route handlers are plain functions from a `Call` to a `Reply`, run on Starlette's thread pool
because the store is synchronous SQLite. In front of the ``/tas/api`` routes sit, in this order:
a trailing slash is dropped (TOPdesk answers ``/incidents/`` as ``/incidents``), injected faults
(before authentication, as a network or proxy fault would be), and HTTP Basic authentication.
Every error body is TOPdesk's ``[{"message": ...}]``.

A "drop" fault closes the connection without a byte of answer. ASGI has no event for that, so
`drop_connection` closes the connection's transport through uvicorn's list of open connections.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .config import API_PREFIX, ApiError, FaultRule

log = logging.getLogger(__name__)


@dataclass
class Reply:
    """What a handler answers: JSON ``body`` unless ``raw`` bytes are given (downloads)."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    media_type: str = "application/json; charset=utf-8"


def error_reply(status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    """Error bodies are ``[{"message": ...}]`` everywhere (§1.4 / §8 design note)."""
    return Reply(status, [{"message": message}], headers or {})


@dataclass
class Call:
    """One parsed HTTP request, as the route handlers see it."""

    method: str
    path: str
    params: dict[str, str]
    raw_body: bytes
    headers: Headers
    path_params: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        if not self.raw_body.strip():
            return {}
        try:
            return json.loads(self.raw_body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ApiError(400, "The request body is not valid UTF-8 JSON") from None

    def json_object(self) -> dict[str, Any]:
        body = self.json()
        if not isinstance(body, dict):
            raise ApiError(400, "The request body must be a JSON object")
        return body


Handler = Callable[[Call], Reply]


def to_response(reply: Reply) -> Response:
    if reply.status == 204:
        return Response(status_code=204, headers=reply.headers)
    if reply.raw is not None:
        content = reply.raw
    else:
        content = json.dumps(reply.body, ensure_ascii=False).encode("utf-8")
    return Response(content, reply.status, reply.headers, media_type=reply.media_type)


def route(methods: str, path: str, handler: Handler) -> Route:
    """A Starlette route running ``handler`` on the thread pool; ApiError becomes its reply."""

    async def endpoint(request: Request) -> Response:
        call = Call(
            method=request.method,
            path=request.url.path,
            params=dict(request.query_params),
            raw_body=await request.body(),
            headers=request.headers,
            path_params={key: str(value) for key, value in request.path_params.items()},
        )
        try:
            reply = await run_in_threadpool(handler, call)
        except ApiError as exc:
            reply = error_reply(exc.status, exc.message)
        return to_response(reply)

    return Route(path, endpoint, methods=methods.split())


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 in TOPdesk's shape."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        message = f"Method {request.method} not allowed on {request.url.path}"
    else:
        message = f"Not found: {request.url.path}"
    return to_response(error_reply(exc.status_code, message))


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("simulator error on %s %s", request.method, request.url.path, exc_info=exc)
    return to_response(error_reply(500, "Internal server error"))


async def _buffered(receive: Receive) -> Receive:
    """Read the whole body first, as TOPdesk has it before it answers: a request whose client
    gives up during an injected latency is still carried out, once."""
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    replay = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

    async def replayed() -> Message:
        return replay.pop() if replay else await receive()

    return replayed


async def _send_reply(reply: Reply, scope: Scope, receive: Receive, send: Send) -> None:
    await to_response(reply)(scope, receive, send)


class TopdeskFront:
    """The ASGI app: trailing slashes, faults and authentication in front of the routes."""

    def __init__(
        self,
        routes: list[Route],
        take_faults: Callable[[str, str], list[FaultRule]],
        credentials: tuple[str, str],
        drop_connection: Callable[[Scope], Awaitable[None]],
    ) -> None:
        self.app: ASGIApp = Starlette(
            routes=routes,
            exception_handlers={HTTPException: _http_error, Exception: _server_error},
        )
        self._take_faults = take_faults
        self._expected = "{}:{}".format(*credentials).encode("utf-8")
        self._drop_connection = drop_connection

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/")
            scope = {**scope, "path": path, "raw_path": path.encode("utf-8")}
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            receive = await _buffered(receive)
            reply = await self._fault(scope)
            if reply == "drop":
                await self._drop_connection(scope)
                return
            if reply is None and not self._authenticated(Headers(scope=scope)):
                reply = self._auth_error(Headers(scope=scope))
            if isinstance(reply, Reply):
                await _send_reply(reply, scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _fault(self, scope: Scope) -> Reply | str | None:
        """Sleep for latency rules; a status rule gives its reply, a drop rule ``"drop"``."""
        for rule in self._take_faults(scope["method"], scope["path"]):
            if rule.kind == "latency":
                await asyncio.sleep(rule.latency_seconds)
            elif rule.kind == "drop":
                return "drop"
            else:
                headers = {} if rule.retry_after is None else {"Retry-After": str(rule.retry_after)}
                return error_reply(rule.status, f"Simulated fault: HTTP {rule.status}", headers)
        return None

    def _authenticated(self, headers: Headers) -> bool:
        """HTTP Basic with login name and application password on every call (§1.1)."""
        scheme, _, encoded = headers.get("authorization", "").partition(" ")
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True)
        except binascii.Error:
            decoded = b""
        return scheme.lower() == "basic" and hmac.compare_digest(decoded, self._expected)

    @staticmethod
    def _auth_error(headers: Headers) -> Reply:
        if not headers.get("authorization"):
            return error_reply(401, "No authentication token provided")
        return error_reply(401, "Invalid credentials")
