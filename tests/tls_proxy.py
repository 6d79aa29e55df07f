"""A TLS terminator in front of the Temporal dev server, as a real cluster's load balancer or
Temporal Cloud is: it speaks TLS with ALPN "h2", requires a client certificate signed by the
client CA, and forwards the bytes to the dev server's plain port.

It runs on its own event loop in a thread, so that a test may block (a subprocess, a sync
client) without stalling it. The certificates come from `trustme`: nothing is downloaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import trustme

from tests.net import free_port

SERVER_NAME = "temporal.saksflyt.test"


@dataclass(frozen=True)
class Pki:
    """Files a client is given: the server's CA, its own certificate and key; and a second CA,
    which signed neither, to be the wrong one."""

    server_ca: Path
    client_cert: Path
    client_key: Path
    wrong_ca: Path


class TlsProxy:
    """Listens on 127.0.0.1:`port` with TLS and mTLS, and forwards to `upstream` (host:port)."""

    def __init__(self, upstream: str, folder: Path) -> None:
        self.upstream_host, port = upstream.rsplit(":", 1)
        self.upstream_port = int(port)
        self.port = free_port()
        self.pki, self._context = _certificates(folder)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> TlsProxy:
        self._thread.start()
        assert self._ready.wait(10), "TLS proxy did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self.port)
        )
        self._ready.set()
        self._loop.run_forever()
        server.close()
        for task in asyncio.all_tasks(self._loop):
            task.cancel()
        self._loop.run_until_complete(asyncio.sleep(0))  # one turn: the cancelled tasks end
        self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One client connection: the handshake, then bytes both ways until either side ends."""
        tls = Tls(self._context, reader, writer)
        try:
            if await tls.handshake():
                upstream = await asyncio.open_connection(self.upstream_host, self.upstream_port)
                await asyncio.gather(tls.to(upstream[1]), tls.from_(upstream[0]))
        except (OSError, ssl.SSLError):
            pass
        finally:
            writer.close()


class Tls:
    """The server side of one TLS connection over memory buffers rather than asyncio's own TLS:
    a failed handshake then still sends its alert (asyncio drops it), so the client hears
    "certificate required" or "unknown CA" as from a real server."""

    def __init__(
        self, context: ssl.SSLContext, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._incoming, self._outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_side=True)
        self._reader, self._writer = reader, writer

    async def handshake(self) -> bool:
        """True once done; False when the client left or failed it (the alert sent)."""
        while True:
            try:
                self._tls.do_handshake()
                await self._flush()
                return True
            except ssl.SSLWantReadError:
                await self._flush()
                if not await self._receive():
                    return False
            except ssl.SSLError:
                await self._flush()  # the alert
                return False

    async def to(self, upstream: asyncio.StreamWriter) -> None:
        """The client's plaintext to the dev server."""
        with contextlib.suppress(OSError, ssl.SSLError, RuntimeError):
            while await self._receive():
                upstream.write(self._plaintext())
                await upstream.drain()
                await self._flush()
        with contextlib.suppress(OSError, RuntimeError):
            upstream.close()

    async def from_(self, upstream: asyncio.StreamReader) -> None:
        """The dev server's answers to the client, encrypted."""
        with contextlib.suppress(OSError, ssl.SSLError, RuntimeError):
            while data := await upstream.read(65536):
                self._tls.write(data)
                await self._flush()
        with contextlib.suppress(OSError, RuntimeError):
            self._writer.close()

    def _plaintext(self) -> bytes:
        chunks = []
        with contextlib.suppress(ssl.SSLWantReadError, ssl.SSLZeroReturnError):
            while chunk := self._tls.read(65536):
                chunks.append(chunk)
        return b"".join(chunks)

    async def _receive(self) -> bool:
        data = await self._reader.read(65536)
        if not data:
            return False
        self._incoming.write(data)
        return True

    async def _flush(self) -> None:
        if data := self._outgoing.read():
            self._writer.write(data)
            await self._writer.drain()


def _certificates(folder: Path) -> tuple[Pki, ssl.SSLContext]:
    """A server CA and a client CA, each made here; the server's context that trusts only
    client certificates of the client CA."""
    folder.mkdir(parents=True, exist_ok=True)
    server_ca, client_ca, wrong_ca = trustme.CA(), trustme.CA(), trustme.CA()
    server_cert = server_ca.issue_cert(SERVER_NAME)
    client_cert = client_ca.issue_cert("saksflyt-worker@ntnu.no")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_cert.configure_cert(context)
    client_ca.configure_trust(context)
    context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols(["h2"])
    pki = Pki(
        server_ca=folder / "server-ca.pem",
        client_cert=folder / "client.pem",
        client_key=folder / "client-key.pem",
        wrong_ca=folder / "wrong-ca.pem",
    )
    server_ca.cert_pem.write_to_path(str(pki.server_ca))
    client_cert.cert_chain_pems[0].write_to_path(str(pki.client_cert))
    client_cert.private_key_pem.write_to_path(str(pki.client_key))
    wrong_ca.cert_pem.write_to_path(str(pki.wrong_ca))
    return pki, context


@contextlib.contextmanager
def tls_proxy(upstream: str, folder: Path) -> Iterator[TlsProxy]:
    with TlsProxy(upstream, folder) as proxy:
        yield proxy
