"""The simulator's public configuration types and its one error type.

They live apart from the HTTP and storage code so tests, workers and benches can build a config
(or a fault rule) without caring how the simulator serves it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

API_VERSION = "3.7.3"
API_PREFIX = "/tas/api"
SIM_PREFIX = "/_sim"


# --------------------------------------------------------------------------------------------
# Public configuration
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookConfig:
    """Where and how the simulated TOPdesk action sequence posts its events.

    TOPdesk signs nothing (§5.1), so the receiver can only check a shared secret in a header.
    The body is a ``string.Template``; ``$number``, ``$id``, ``$event``, ``$processingStatus``
    and ``$modificationDate`` are replaced by JSON-escaped values. The default sends the
    modification date too: a receiver can tell a repeated delivery from a new event by it.
    """

    url: str | None = None
    secret_header: str = "X-Saksflyt-Secret"
    secret: str = ""
    body_template: str = (
        '{"number": "$number", "id": "$id", "event": "$event", '
        '"modificationDate": "$modificationDate"}'
    )
    attempts: int = 5
    backoff_seconds: float = 0.5


@dataclass(frozen=True)
class SimulatorConfig:
    """Everything a simulator instance needs; the db file is what survives a restart."""

    db_path: Path
    login: str = "saksflyt"
    app_password: str = "sim-app-password"
    webhook: WebhookConfig = field(default_factory=WebhookConfig)


FaultKind = Literal["status", "latency", "drop"]
_FAULT_KINDS = ("status", "latency", "drop")


@dataclass(frozen=True)
class FaultRule:
    """A transport fault injected in front of the API, to exercise the adapter's retries.

    ``status`` answers with that status (plus ``Retry-After`` when given), ``latency`` sleeps and
    then serves the request normally, ``drop`` closes the socket without answering.
    """

    kind: FaultKind
    method: str | None = None
    path_prefix: str = API_PREFIX
    status: int = 503
    retry_after: int | None = None
    latency_seconds: float = 0.0
    times: int | None = 1

    def __post_init__(self) -> None:
        if self.kind not in _FAULT_KINDS:
            raise ValueError(f"kind must be one of {_FAULT_KINDS}, not {self.kind!r}")
        if not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status, not {self.status!r}")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1, or None for 'until cleared'")
        if self.latency_seconds < 0:
            raise ValueError("latency_seconds must not be negative")

    def matches(self, method: str, path: str) -> bool:
        """True when this rule applies to a request with this method and path (no query)."""
        method_ok = self.method is None or self.method.upper() == method.upper()
        return method_ok and path.startswith(self.path_prefix)


class ApiError(Exception):
    """A TOPdesk-style error: an HTTP status plus the message put in ``[{"message": ...}]``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
