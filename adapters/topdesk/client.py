"""The TOPdesk REST client (Incident API 4.x): the operations saksflyt asks of a case, on
`adapters.topdesk.transport`, which retries short faults and raises typed errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from adapters.topdesk.errors import TopdeskBadRequest, TopdeskError
from adapters.topdesk.models import Incident, NewIncident, ProcessingStatus, ProgressTrailEntry
from adapters.topdesk.transport import TopdeskHttp

COMPLETED = "Fullført"


class TopdeskClient:
    """Talks to one TOPdesk instance as one API account."""

    def __init__(self, base_url: str, login: str, app_password: str, **options: Any) -> None:
        """`options`: the transport's (session, timeout, attempts, backoff, longest_wait)."""
        self.http = TopdeskHttp(base_url, login, app_password, **options)
        self._group_ids: dict[str, str] | None = None

    # -- operations -----------------------------------------------------------------------

    def create_incident(self, incident: NewIncident) -> Incident:
        body = incident.model_dump(by_alias=True, exclude_none=True)
        return Incident.model_validate(self.http.json("POST", "/incidents", body=body))

    def get_incident(self, number: str) -> Incident:
        return Incident.model_validate(self.http.json("GET", _by_number(number)))

    def progress_trail(self, number: str) -> list[ProgressTrailEntry]:
        """All entries, newest first, read page by page (at most 100 a page)."""
        path = f"{_by_number(number)}/progresstrail"
        return [
            ProgressTrailEntry.model_validate(item)
            for item in self.http.pages(path, {"page_size": 100}, offset_param="start")
        ]

    def processing_statuses(self) -> list[ProcessingStatus]:
        return [
            ProcessingStatus.model_validate(s) for s in self.http.json("GET", "/incidents/statuses")
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
            for item in self.http.pages("/incidents", params, offset_param="pageStart")
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
        items = self.http.pages("/operatorgroups", {"page_size": 100}, offset_param="start")
        return {item["groupName"]: item["id"] for item in items}

    def _patch(self, number: str, body: dict[str, Any]) -> Incident:
        return Incident.model_validate(self.http.json("PATCH", _by_number(number), body=body))


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


__all__ = ["TopdeskClient", "TopdeskError"]
