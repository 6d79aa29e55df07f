"""Posting a webhook to saksflyt's intake, the one way every sender here does it: the backfill
(as TOPdesk would have posted), the DFØ portal stub and the TOPdesk simulator's action sequences.

The intake authenticates a source by its shared secret in a header and, for a source it asks to
sign, by an HMAC-SHA256 over the timestamp, a dot and the raw body (`sign`; the intake checks with
the same function). The body goes as the caller made it, byte for byte, since the signature covers
those bytes. It lives in `adapters/`, the lowest layer that does I/O, so that the stubs here and
the backfill activity above can all post with it.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

import requests

SECRET_HEADER = "X-Saksflyt-Secret"
TIMESTAMP_HEADER = "X-Saksflyt-Timestamp"
SIGNATURE_HEADER = "X-Saksflyt-Signature"


def sign(key: bytes, timestamp: str, body: bytes) -> str:
    """The `X-Saksflyt-Signature` a signing source sends: HMAC-SHA256 over the timestamp, a
    dot and the raw body, so that neither can be changed or replayed later on its own."""
    digest = hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


@dataclass(frozen=True, repr=False)
class WebhookSender:
    """Where a source's webhooks go, with its secret; with `hmac_key`, each body is signed too.
    `timeout` is (connect, read) seconds: a webhook is a hint, and must not hold up its sender."""

    url: str
    secret: str
    secret_header: str = SECRET_HEADER
    hmac_key: str = ""
    timeout: float | tuple[float, float] = (3.05, 10.0)
    user_agent: str | None = None  # None: the HTTP client's own

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r}, secret='***')"

    def post(self, body: bytes) -> requests.Response:
        """One attempt; the caller decides what an answer or a `requests.RequestException`
        means for its event."""
        headers = {self.secret_header: self.secret, "Content-Type": "application/json"}
        if self.user_agent:
            headers["User-Agent"] = self.user_agent
        if self.hmac_key:
            timestamp = str(int(time.time()))
            signature = sign(self.hmac_key.encode(), timestamp, body)
            headers |= {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature}
        return requests.post(self.url, data=body, headers=headers, timeout=self.timeout)
