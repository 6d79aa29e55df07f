"""The one webhook sender (adapters/webhooks.py) of the backfill, the DFØ portal stub and the
TOPdesk simulator: the body arrives byte for byte with the secret, and a signed one passes the
intake's own check."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer

from adapters.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSender
from workers.intake.security import signature_ok

BODY = '{"number": "I2611-0042", "event": "incident_created", "note": "blåbær"}'.encode()


@contextmanager
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A webhook receiver that keeps each request's headers and body and answers 202."""
    received: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers.items()), body))
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/webhooks/topdesk", received
    finally:
        server.shutdown()
        server.server_close()


def test_an_unsigned_webhook_carries_the_body_as_given_and_the_secret():
    with receiver() as (url, received):
        assert WebhookSender(url, "s3cret", "X-Hook-Secret").post(BODY).status_code == 202
    [(headers, body)] = received
    assert body == BODY
    assert headers["X-Hook-Secret"] == "s3cret"
    assert headers["Content-Type"] == "application/json"
    assert TIMESTAMP_HEADER not in headers and SIGNATURE_HEADER not in headers


def test_a_signed_webhook_passes_the_intakes_check_and_a_changed_body_does_not():
    with receiver() as (url, received):
        WebhookSender(url, "s3cret", hmac_key="signing-key").post(BODY)
    [(headers, body)] = received
    timestamp, signature = headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER]
    now = time.time()
    assert signature_ok(b"signing-key", timestamp, signature, body, 300, now)
    assert not signature_ok(b"signing-key", timestamp, signature, body + b" ", 300, now)
    assert not signature_ok(b"another-key", timestamp, signature, body, 300, now)


def test_the_secret_never_shows_in_its_repr():
    assert "s3cret" not in repr(WebhookSender("http://intake/webhooks/dfo", "s3cret"))
