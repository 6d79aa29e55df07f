"""TOPdesk wire models: the fields of the Incident API (4.x) that saksflyt reads.

Field names are TOPdesk's own, in camelCase on the wire; unknown fields are ignored so that a
newer TOPdesk with more fields still parses.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class TopdeskModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class Ref(TopdeskModel):
    """A reference to a search-list value, operator, group or person: `{id, name}`."""

    id: str | None = None
    name: str | None = None


class Caller(TopdeskModel):
    id: str | None = None
    dynamic_name: str | None = None
    email: str | None = None


class ProcessingStatus(TopdeskModel):
    """One entry of `GET /incidents/statuses` (instance configuration)."""

    id: str
    name: str


class Incident(TopdeskModel):
    id: str
    number: str
    status: str | None = None
    request: str | None = None
    brief_description: str | None = None
    external_number: str | None = None
    caller: Caller | None = None
    category: Ref | None = None
    subcategory: Ref | None = None
    processing_status: Ref | None = None
    operator_group: Ref | None = None
    on_hold: bool = False
    completed: bool = False
    closed: bool = False
    creation_date: datetime | None = None
    modification_date: datetime | None = None


class ProgressTrailEntry(TopdeskModel):
    """One action in an incident's progress trail; its author is an operator or a person."""

    id: str
    memo_text: str | None = None
    plain_text: str | None = None
    invisible_for_caller: bool = False
    entry_date: datetime | None = None
    operator: Ref | None = None
    person: Ref | None = None

    @property
    def from_caller(self) -> bool:
        """Written by the caller (a person), not by an operator or the API account."""
        return self.person is not None and self.operator is None


class NewIncident(TopdeskModel):
    """The body of `POST /incidents` for a form-originated case."""

    caller: Caller | None = None
    caller_lookup: dict[str, str] | None = None
    brief_description: str
    request: str
    category: Ref | None = None
    subcategory: Ref | None = None
    entry_type: Ref | None = None
    processing_status: Ref | None = None
    external_number: str | None = None
