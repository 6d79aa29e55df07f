"""Outbound webhooks: what a TOPdesk action sequence would post on each event (§5.1).

Events go into the outbox table in the same transaction as the write they report; one thread
posts them oldest first, with retries and backoff, so an event pending at a stop is delivered by
the next run on the same file. TOPdesk signs nothing, so only a shared secret header is sent
(`adapters/webhooks.py`, the sender saksflyt's own webhooks use too).
"""

from __future__ import annotations

import json
import string
import threading
from collections.abc import Callable
from typing import Any

import requests

from adapters.webhooks import WebhookSender

from .config import WebhookConfig
from .store import Store, Tx


class Outbox:
    """Puts webhook events into the outbox, in the same transaction as the write they report."""

    def __init__(self, config: WebhookConfig, notify: Callable[[], None]) -> None:
        self._config = config
        self._notify = notify
        self._lock = threading.Lock()
        self._drop_next = 0

    def drop_next(self, count: int) -> None:
        with self._lock:
            self._drop_next = count

    def _take_drop(self) -> bool:
        with self._lock:
            if self._drop_next > 0:
                self._drop_next -= 1
                return True
            return False

    def enqueue(self, tx: Tx, event: str, incident: dict[str, Any]) -> None:
        if self._config.url is None:
            return
        values = {
            "number": incident["number"],
            "id": incident["id"],
            "event": event,
            "processingStatus": incident["processingStatus"]["name"],
            "modificationDate": incident["modificationDate"],
        }
        escaped = {
            key: json.dumps(value, ensure_ascii=False)[1:-1] for key, value in values.items()
        }
        body = string.Template(self._config.body_template).safe_substitute(escaped)
        # A dropped event is recorded but never sent: what a lost TOPdesk notification looks like.
        status = "dropped" if self._take_drop() else "pending"
        tx.enqueue(event, incident, body, status)
        tx.after_commit.append(self._notify)


class WebhookDeliverer:
    """Posts outbox events one at a time, oldest first, with retries and backoff.

    Strict order mirrors one action sequence firing per event; state lives in the outbox table,
    so an event still pending at ``stop()`` is delivered by the next run on the same file.
    """

    _TIMEOUT_SECONDS = 5.0

    def __init__(self, store: Store, config: WebhookConfig, stopping: threading.Event) -> None:
        self._store = store
        self._config = config
        self._stopping = stopping
        self._wake = threading.Event()
        self._sender = WebhookSender(
            config.url or "", config.secret, config.secret_header, timeout=self._TIMEOUT_SECONDS
        )

    def notify(self) -> None:
        self._wake.set()

    def run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            delivery = self._next()
            if delivery is None:
                self._wake.wait(0.5)
                continue
            self._deliver(delivery)

    def _next(self) -> dict[str, Any] | None:
        if self._config.url is None:
            return None
        with self._store.transaction() as tx:
            return tx.next_pending_delivery()

    def _deliver(self, delivery: dict[str, Any]) -> None:
        code, error = self._post(delivery["body"])
        attempts = delivery["attempts"] + 1
        if error is None:
            status = "delivered"
        elif attempts >= self._config.attempts:
            status = "failed"
        else:
            status = "pending"
        with self._store.transaction() as tx:
            tx.record_attempt(delivery["id"], status, attempts, code, error)
        if status == "pending":
            delay = self._config.backoff_seconds * 2 ** (attempts - 1)
            self._stopping.wait(min(delay, 60.0))

    def _post(self, body: str) -> tuple[int | None, str | None]:
        """One attempt; returns (status code, error). Non-2xx and connection errors are errors."""
        try:
            response = self._sender.post(body.encode("utf-8"))
        except requests.RequestException as exc:
            return None, f"{type(exc).__name__}: {exc}"
        code = response.status_code
        return code, None if 200 <= code < 300 else f"HTTP {code}"
