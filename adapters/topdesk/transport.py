"""How saksflyt speaks HTTP to TOPdesk: the API account, the time limits, and the short retries.

Short transport faults are retried here, within seconds: connection errors, 429 (honouring
Retry-After) and 502/503/504 on reads; on writes only what proves TOPdesk did not take the
request. Anything longer is Temporal's job: a request then raises `TopdeskUnavailable` and the
activity's retry policy takes over. Business answers (400, 403, 404) raise typed
`TopdeskRejected` errors at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import requests
import structlog
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from urllib3.exceptions import NewConnectionError

from adapters.topdesk.errors import TopdeskUnavailable, error_for

log = structlog.get_logger(__name__)

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


class ApplicationPassword(requests.auth.HTTPBasicAuth):
    """Basic auth with the API account's login name and application password, never printed."""

    def __repr__(self) -> str:
        return f"ApplicationPassword(login={self.username!r}, password='***')"


class _TransientResponse(Exception):
    """A 429/5xx answer that may succeed if asked again shortly."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response

    @property
    def retry_after(self) -> float | None:
        value = self.response.headers.get("Retry-After", "")
        return float(value) if value.strip().isdigit() else None


class TopdeskHttp:
    """One TOPdesk instance's REST API as one API account, with the retry policy above."""

    def __init__(
        self,
        base_url: str,
        login: str,
        app_password: str,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (3.05, 20.0),
        attempts: int = 4,
        backoff: float = 0.25,
        longest_wait: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.session.auth = ApplicationPassword(login, app_password)
        self.session.headers.update({"Accept": "application/json"})
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self.longest_wait = longest_wait

    def json(self, method: str, path: str, *, body: dict[str, Any] | None = None) -> Any:
        return self.request(method, path, body=body).json()

    def pages(self, path: str, params: dict[str, Any], *, offset_param: str) -> Iterator[Any]:
        """Yield items across pages: 206 means more (follow `x-next-page-url`), 204 means none."""
        offset = 0
        url: str | None = path
        while url is not None:
            page_params = {**params, offset_param: offset} if url == path else None
            response = self.request("GET", url, params=page_params)
            if response.status_code == 204:
                return
            items = response.json()
            yield from items
            if response.status_code != 206 or not items:
                return
            offset += len(items)
            url = response.headers.get("x-next-page-url") or path

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
    ) -> requests.Response:
        url = _absolute(self.base_url, path)
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=self._wait,
            retry=retry_if_exception(lambda error: self._worth_retrying(method, error)),
            reraise=True,
        )
        started = time.monotonic()
        try:
            for attempt in retrying:
                with attempt:
                    response = self.session.request(
                        method, url, params=params, json=body, timeout=self.timeout
                    )
                    if response.status_code in RETRYABLE_STATUSES:
                        raise _TransientResponse(response)
        except _TransientResponse as transient:
            response = transient.response
        except requests.RequestException as error:
            log.warning("topdesk.unreachable", method=method, path=path, error=type(error).__name__)
            raise TopdeskUnavailable(f"TOPdesk unreachable: {type(error).__name__}") from error
        log.debug(
            "topdesk.request",
            method=method,
            path=path,
            status=response.status_code,
            ms=round((time.monotonic() - started) * 1000),
        )
        if response.status_code >= 400:
            raise error_for(response.status_code, _error_message(response))
        return response

    def _worth_retrying(self, method: str, error: BaseException) -> bool:
        """Reads are retried on any passing fault. A write is resent here only when TOPdesk
        cannot have taken it (it answered 429, or no connection was made): TOPdesk has no
        idempotency key, and a resent reply would reach the caller twice."""
        if isinstance(error, _TransientResponse):
            wait = error.retry_after
            in_time = wait is None or wait <= self.longest_wait
            return in_time and (method == "GET" or error.response.status_code == 429)
        if method == "GET":
            return isinstance(error, requests.ConnectionError | requests.Timeout)
        return _never_connected(error)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _TransientResponse) and error.retry_after is not None:
            return error.retry_after
        return self.backoff * 2 ** (state.attempt_number - 1)


def _never_connected(error: BaseException) -> bool:
    """True when the request cannot have reached TOPdesk: the connection was refused or the
    connect itself timed out (requests wraps urllib3's NewConnectionError)."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(error, requests.ConnectionError) and isinstance(reason, NewConnectionError)


def _absolute(base_url: str, path: str) -> str:
    """API paths are relative to /tas/api; `x-next-page-url` may be a full path or a full URL."""
    if path.startswith(("http://", "https://")):
        return path
    return base_url + (path if path.startswith("/tas/") else "/tas/api" + path)


def _error_message(response: requests.Response) -> str:
    """TOPdesk answers errors as `[{"message"}]` or `{"errors": [{"errorMessage"}]}`."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or f"HTTP {response.status_code}"
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return "; ".join(str(item.get("message", item)) for item in body)
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return "; ".join(str(e.get("errorMessage", e)) for e in body["errors"])
    return str(body)[:300]
