"""The webhook sender of the benchmarks: HTTP/1.1 over kept connections, as a load generator
(wrk, say) sends, rather than through httpx.

Why not httpx: in production the sender is TOPdesk or DFØ, on machines of their own; here it
shares two cores with the intake, the dev server and the worker. httpx spends about 2.5 ms of CPU
a request (measured: 3.25 ms a webhook against 0.7 ms for a bare `start_workflow` from the same
process), which the intake's figures would carry though the intake does not spend it. This
sender writes a request and reads the answer's status line, headers and body: a tenth of that.
It speaks only what the intake answers: a Content-Length body, connections kept alive.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit


class SenderError(Exception):
    """The answer was not an HTTP/1.1 answer this sender reads (or the connection closed)."""


class Answer:
    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)

    def raise_for_status(self) -> None:
        if self.status >= 400:
            raise SenderError(f"HTTP {self.status}: {self.body[:200]!r}")


class Sender:
    """`connections` kept connections to one host; a request takes a free one."""

    def __init__(self, url: str, connections: int) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.size = connections
        # Last in, first out: the connection used last is the least likely to have been
        # closed by the intake as idle.
        self.free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.LifoQueue()
        )
        self.opened: list[asyncio.StreamWriter] = []

    async def post(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> Answer:
        payload = json.dumps(body).encode()
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n{head}\r\n"
        ).encode() + payload
        for attempt in (1, 2):
            reader, writer = await (self._connection() if attempt == 1 else self._open())
            try:
                writer.write(request)
                answer = await _read_answer(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                self._drop(writer)
                if attempt == 2:
                    raise
                continue  # the intake closed a kept connection as it was reused: once more, anew
            except BaseException:
                self._drop(writer)
                raise
            self.free.put_nowait((reader, writer))
            return answer
        raise AssertionError("unreachable")

    def _drop(self, writer: asyncio.StreamWriter) -> None:
        """A broken connection is not kept; the next request opens anew."""
        writer.close()
        self.opened.remove(writer)

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.free.empty() and len(self.opened) < self.size:
            return await self._open()
        return await self.free.get()

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        self.opened.append(writer)
        return reader, writer

    def close(self) -> None:
        for writer in self.opened:
            writer.close()


async def _read_answer(reader: asyncio.StreamReader) -> Answer:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split(" ", 2)[1])
    except (IndexError, ValueError):
        raise SenderError(f"not an HTTP answer: {lines[0]!r}") from None
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    return Answer(status, await reader.readexactly(length) if length else b"")


@asynccontextmanager
async def sender(url: str, connections: int) -> AsyncIterator[Sender]:
    """A sender whose connections close when the block ends."""
    opened = Sender(url, connections)
    try:
        yield opened
    finally:
        opened.close()
