"""Who may send a webhook, and what of a request may be logged.

Each source has a shared secret, sent in a header or as the URL's last path segment (TOPdesk's
HTTP action may let its administrator set only the URL). The gate checks it before the body is
read, so an unauthenticated sender learns nothing about what it sent (not even a 422), and the
route checks it again, so no route runs unauthenticated however the app is mounted. A source
that signs also sends an HMAC of the body, which only the route can check, once the body is in.

A secret in the URL is why no path is ever logged as it came: a log line names the route's
template (`/webhooks/topdesk/{secret}`), or for a path no route takes (a mistyped URL, which may
hold the secret anywhere) only its first segment when that is one of the app's own, never the
query string. uvicorn's access log is off where the intake is run (`saksflyt intake`) and
redacted the same way should anyone run it with that log on.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.routing import BaseRoute
from starlette.types import Scope

from adapters.webhooks import sign
from workers.settings import Settings, WebhookSource

# The webhook routes, as the gate sees a path: the source, and the secret when the URL holds it.
WEBHOOK_PATH = re.compile(r"^/webhooks/(topdesk|dfo)(?:/([^/]+))?$")
UNMATCHED = "/…"


@dataclass(frozen=True)
class Secrets:
    """Each source's shared secret, and the header that may carry it."""

    header: str
    by_source: dict[WebhookSource, bytes]

    @classmethod
    def of(cls, settings: Settings) -> Secrets:
        secret = settings.webhook_secret.get_secret_value().encode()
        if not secret:
            raise ValueError("SAKSFLYT_WEBHOOK_SECRET is empty: every webhook would be accepted")
        dfo = settings.dfo_webhook_secret.get_secret_value().encode() or secret
        return cls(settings.webhook_secret_header, {"topdesk": secret, "dfo": dfo})

    def ok(self, source: WebhookSource, given: str | None) -> bool:
        """Compared in constant time: the answer's timing tells nothing of the secret."""
        return hmac.compare_digest((given or "").encode(), self.by_source[source])

    def refuses(self, scope: Scope) -> bool:
        """Whether the request is for a webhook route and lacks its source's secret: in the path
        when the URL has the segment (a right header does not mend a wrong one there), else in
        the header. Other paths are left to the router (mostly a 404)."""
        match = WEBHOOK_PATH.match(route_path(scope))
        if match is None:
            return False
        source: WebhookSource = "topdesk" if match[1] == "topdesk" else "dfo"
        given = match[2] if match[2] is not None else self._header(scope)
        return not self.ok(source, given)

    def _header(self, scope: Scope) -> str | None:
        wanted = self.header.lower().encode("latin-1")
        for name, value in scope["headers"]:
            if name == wanted:
                return bytes(value).decode("latin-1")
        return None


def route_path(scope: Scope) -> str:
    """The path as the router matches it (without a root path the server was given)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def signature_ok(
    key: bytes,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    window_seconds: int,
    now: float,
) -> bool:
    """Whether the body was signed with `key` at a time within the replay window of `now`
    (either side: a sender's clock may run ahead). A replay inside the window is harmless, since
    the intake never starts a second workflow for one case nor counts one event twice."""
    if not timestamp or not signature or not re.fullmatch(r"[0-9]{1,12}", timestamp):
        return False
    if abs(now - int(timestamp)) > window_seconds:
        return False
    expected = sign(key, timestamp, body).encode()
    return hmac.compare_digest(signature.strip().lower().encode(), expected)


def logged_path(routes: Sequence[BaseRoute], path: str) -> str:
    """The path as a log line may name it: the template of the route that takes it, else the
    first segment if it is one of the app's own (`/webhooks/…`), else `/…`. Never the path as
    sent, which may hold a secret in any segment."""
    templates = [getattr(route, "path", "") for route in routes]
    for route, template in zip(routes, templates, strict=True):
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path):
            return str(template)
    first = path.lstrip("/").split("/", 1)[0]
    own = {template.lstrip("/").split("/", 1)[0] for template in templates}
    return f"/{first}{UNMATCHED}" if first and first in own else UNMATCHED


class AccessLogRedaction(logging.Filter):
    """uvicorn's access log line (`client - "METHOD path HTTP/1.1" status`) with the path as
    `logged_path` gives it, query string dropped."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        super().__init__()
        self.routes = routes

    def filter(self, record: logging.LogRecord) -> bool:
        args: Any = record.args
        if isinstance(args, tuple) and len(args) == 5:
            path = str(args[2]).split("?", 1)[0]
            record.args = (args[0], args[1], logged_path(self.routes, path), *args[3:])
        return True


def redact_uvicorn_access_log(routes: Sequence[BaseRoute]) -> None:
    """Put the redaction on uvicorn's access logger (once: a later app replaces an earlier)."""
    access = logging.getLogger("uvicorn.access")
    for old in [f for f in access.filters if isinstance(f, AccessLogRedaction)]:
        access.removeFilter(old)
    access.addFilter(AccessLogRedaction(routes))
