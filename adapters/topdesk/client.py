"""The TOPdesk REST client (Incident API 4.x) over requests.

Short transport faults are retried here, within seconds: connection errors, 429 (honouring
Retry-After) and 502/503/504 on reads; on writes only what proves TOPdesk did not take the
request. Anything longer is Temporal's job: the client then raises `TopdeskUnavailable` and the
activity's retry policy takes over. Business answers (400, 403, 404)
raise typed `TopdeskRejected` errors at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests
import structlog
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from urllib3.exceptions import NewConnectionError

from adapters.topdesk.errors import (
    TopdeskBadRequest,
    TopdeskError,
    TopdeskUnavailable,
    error_for,
)
from adapters.topdesk.models import Incident, NewIncident, ProcessingStatus, ProgressTrailEntry

log = structlog.get_logger(__name__)

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
COMPLETED = "Fullført"


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


class TopdeskClient:
    """Talks to one TOPdesk instance as one API account."""

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
        self._group_ids: dict[str, str] | None = None

    # -- operations -----------------------------------------------------------------------

    def create_incident(self, incident: NewIncident) -> Incident:
        body = incident.model_dump(by_alias=True, exclude_none=True)
        return Incident.model_validate(self._json("POST", "/incidents", body=body))

    def get_incident(self, number: str) -> Incident:
        return Incident.model_validate(self._json("GET", _by_number(number)))

    def progress_trail(self, number: str) -> list[ProgressTrailEntry]:
        """All entries, newest first, read page by page (at most 100 a page)."""
        path = f"{_by_number(number)}/progresstrail"
        return [
            ProgressTrailEntry.model_validate(item)
            for item in self._pages(path, {"page_size": 100}, offset_param="start")
        ]

    def processing_statuses(self) -> list[ProcessingStatus]:
        return [
            ProcessingStatus.model_validate(s) for s in self._json("GET", "/incidents/statuses")
        ]

    def set_status(self, number: str, status: str) -> Incident:
        return self._patch(number, {"processingStatus": {"name": status}})

    def reply_to_caller(self, number: str, text: str, status: str | None = None) -> Incident:
        """Add an action the caller sees (and is mailed about), optionally moving the status."""
        body: dict[str, Any] = {"action": _html(text), "actionInvisibleForCaller": False}
        if status is not None:
            body["processingStatus"] = {"name": status}
        return self._patch(number, body)

    def add_note(self, number: str, text: str) -> Incident:
        """Add an internal action that only operators see."""
        return self._patch(number, {"action": _html(text), "actionInvisibleForCaller": True})

    def complete(self, number: str, reply: str) -> Incident:
        """Tell the caller the outcome and mark the case completed ("Fullført")."""
        return self._patch(
            number,
            {
                "action": _html(reply),
                "actionInvisibleForCaller": False,
                "processingStatus": {"name": COMPLETED},
                "completed": True,
            },
        )

    def list_incidents(
        self, query: str, page_size: int = 100, sort: str | None = None
    ) -> list[Incident]:
        """Incidents matching a FIQL query, following TOPdesk's paging to the end. Paging is by
        offset, so a caller that must not miss a case while others change sorts on a field a
        change does not move (`creationDate:asc`)."""
        params: dict[str, Any] = {"query": query, "pageSize": page_size}
        if sort:
            params["sort"] = sort
        return [
            Incident.model_validate(item)
            for item in self._pages("/incidents", params, offset_param="pageStart")
        ]

    def find_by_external_number(self, external_number: str) -> Incident | None:
        """The newest case carrying this externalNumber, or None: a workflow that opens a case
        looks first, so that a retried create does not open a second one. Archived cases are
        not searched (TOPdesk lists them only with `all=true`)."""
        if not external_number.strip():
            raise ValueError("an empty externalNumber would match every case without one")
        found = self.list_incidents(f"externalNumber=={_fiql_quote(external_number)}")
        return max(found, key=_created, default=None)

    def set_operator_group(self, number: str, group: str) -> Incident:
        """Move the case to the operator group with this name (TOPdesk takes the id only)."""
        return self._patch(number, {"operatorGroup": {"id": self._operator_group_id(group)}})

    # -- lookups --------------------------------------------------------------------------

    def _operator_group_id(self, name: str) -> str:
        """Group ids by name, read once per client; a name missing from an earlier read may
        be a group added since, so the listing is read once more before giving up."""
        if self._group_ids is None or name not in self._group_ids:
            self._group_ids = self._operator_groups()
        if name not in self._group_ids:
            raise TopdeskBadRequest(f"TOPdesk has no operator group named {name!r}")
        return self._group_ids[name]

    def _operator_groups(self) -> dict[str, str]:
        """`groupName` → `id`; the listing pages with start/page_size (at most 100)."""
        items = self._pages("/operatorgroups", {"page_size": 100}, offset_param="start")
        return {item["groupName"]: item["id"] for item in items}

    # -- transport ------------------------------------------------------------------------

    def _patch(self, number: str, body: dict[str, Any]) -> Incident:
        return Incident.model_validate(self._json("PATCH", _by_number(number), body=body))

    def _json(self, method: str, path: str, *, body: dict[str, Any] | None = None) -> Any:
        return self._request(method, path, body=body).json()

    def _pages(self, path: str, params: dict[str, Any], *, offset_param: str) -> Iterator[Any]:
        """Yield items across pages: 206 means more (follow `x-next-page-url`), 204 means none."""
        offset = 0
        url: str | None = path
        while url is not None:
            page_params = {**params, offset_param: offset} if url == path else None
            response = self._request("GET", url, params=page_params)
            if response.status_code == 204:
                return
            items = response.json()
            yield from items
            if response.status_code != 206 or not items:
                return
            offset += len(items)
            url = response.headers.get("x-next-page-url") or path

    def _request(
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


def _by_number(number: str) -> str:
    return f"/incidents/number/{quote(number, safe='')}"


def _fiql_quote(value: str) -> str:
    """A FIQL string value, quoted so spaces and `/ ; , ( )` are literal; inside the quotes a
    backslash escapes the quote and itself (§6.4)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _created(incident: Incident) -> datetime:
    return incident.creation_date or datetime.min.replace(tzinfo=UTC)


def _html(text: str) -> str:
    """TOPdesk renders actions as a small HTML subset: plain line breaks must become <br>."""
    return text.replace("\n", "<br>")


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


__all__ = ["TopdeskClient", "TopdeskError"]
