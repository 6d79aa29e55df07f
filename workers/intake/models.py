"""What the webhooks say, checked strictly: one pydantic model per kind of event, and how an event
is kept (in the outbox, in the quarantine) and read back.

A webhook is a hint (DESIGN.md): it names a case and what happened, never personal data, and the
workflow re-reads the case before it acts. So the models hold identifiers only, each with a
pattern that keeps it fit to be part of a workflow id.
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any, Literal

from fastapi import Body
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from domain.processes import NEW_HIRE, RESIGNATION
from workers.quarantine import Refused
from workers.settings import WebhookSource

CASE_NUMBER = r"^[A-Za-z0-9][A-Za-z0-9 _-]{0,39}$"
# A DFØ portal form id, such as OPP-000001; it becomes part of a workflow id.
FORM_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"


class TopdeskWebhook(BaseModel):
    """What a TOPdesk action sequence sends: which case, and what happened to it."""

    number: str = Field(pattern=CASE_NUMBER, description="TOPdesk incident number")
    event: Literal["incident_created", "caller_replied", "reopened"]
    id: str | None = Field(default=None, description="TOPdesk incident id (unused: re-read)")
    category: str | None = Field(
        default=None,
        max_length=100,
        description="the case's category, as the action sequence templates it: a created case "
        "of a known category is routed by it without reading TOPdesk (the workflow checks it)",
    )
    event_id: str | None = Field(default=None, max_length=100)
    modification_date: str | None = Field(default=None, alias="modificationDate", max_length=40)

    def event_key(self) -> str:
        """Tells a repeated delivery from a new event: TOPdesk sends no event id, but a new
        reply changes the case's modification date. Without either, every delivery counts
        (a needless re-read of the case, never a lost event)."""
        if self.event_id:
            return self.event_id
        if self.modification_date:
            return f"{self.number}/{self.event}/{self.modification_date}"
        return str(uuid.uuid4())


class DfoWebhook(BaseModel):
    """The DFØ portal's word that a manager approved or rejected a registration."""

    case_number: str = Field(pattern=CASE_NUMBER)
    registration_id: str = Field(min_length=1, max_length=40)
    event: Literal["approved", "rejected"]
    reason: str | None = Field(default=None, max_length=2000)
    event_id: str | None = Field(default=None, max_length=100)


class DfoResignation(BaseModel):
    """The DFØ portal's word that an employee submitted a resignation: it names the form, which
    the workflow then reads from the portal."""

    event: Literal["resignation_submitted"]
    form_id: str = Field(pattern=FORM_ID)
    event_id: str | None = Field(default=None, max_length=100)


class DfoEventKind(BaseModel):
    """The one field every DFØ event has: which kind it is, and so which model checks it."""

    event: Literal["approved", "rejected", "resignation_submitted"]


DfoEvent = DfoWebhook | DfoResignation
WebhookEvent = TopdeskWebhook | DfoWebhook | DfoResignation

# The body FastAPI cannot infer from `dfo_event` (a dict checked by hand), for the OpenAPI
# document: one of the two kinds, told apart by `event`.
DFO_BODY: dict[str, Any] = {
    "requestBody": {
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [DfoWebhook.model_json_schema(), DfoResignation.model_json_schema()]
                }
            }
        }
    }
}


class Accepted(BaseModel):
    workflow_id: str | None  # None when quarantined, or queued before it could be routed
    action: Literal[
        "started",
        "signalled",
        "already_started",
        "case_finished",
        "came_back",  # a caller's event on a finished case: its CaseCameBack workflow
        "quarantined",
        "queued",
    ]


def _dfo_model(data: Any) -> type[DfoWebhook] | type[DfoResignation]:
    kind = DfoEventKind.model_validate(data).event
    return DfoResignation if kind == "resignation_submitted" else DfoWebhook


async def dfo_event(body: Annotated[dict[str, Any], Body()]) -> DfoEvent:
    """DFØ sends every kind of event to one address, told apart by `event`; each kind is checked
    strictly, and a refusal names the field the way FastAPI's own does (`["body", field]`),
    which a pydantic tagged union would not (it puts the tag in the path)."""
    try:
        return _dfo_model(body).model_validate(body)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
        ) from None


def new_hire_id(case_number: str) -> str:
    return NEW_HIRE.workflow_id(case_number)


def resignation_id(form_id: str) -> str:
    """DESIGN.md: the resignation the DFØ portal starts is keyed on the portal form id."""
    return RESIGNATION.workflow_id(form_id)


def source_of(body: WebhookEvent) -> WebhookSource:
    return "topdesk" if isinstance(body, TopdeskWebhook) else "dfo"


def case_of(body: WebhookEvent) -> str | None:
    """The TOPdesk case the event names (None: the portal's resignation names a form): the key
    that keeps one case's events in order in the outbox, routed or not."""
    if isinstance(body, TopdeskWebhook):
        return body.number
    return body.case_number if isinstance(body, DfoWebhook) else None


def received(body: WebhookEvent) -> str:
    """The body as the quarantine keeps it: JSON with the webhook's own field names, as it came
    (no event id made up), so that the same event delivered again is the same row there. A
    body without a category is kept without the field, as it was before there was one."""
    if isinstance(body, TopdeskWebhook) and body.category is None:
        return body.model_dump_json(by_alias=True, exclude={"category"})
    return body.model_dump_json(by_alias=True)


def kept(body: WebhookEvent) -> str:
    """The body as the outbox keeps it: as received, with an event id fixed now (the sender's,
    when it sent one), so that an event handed on twice is one event to the workflow."""
    if isinstance(body, TopdeskWebhook) and body.event_id is None:
        body = body.model_copy(update={"event_id": body.event_key()})
    elif isinstance(body, DfoWebhook) and body.event_id is None:
        body = body.model_copy(update={"event_id": str(uuid.uuid4())})
    return received(body)


def event_from(source: str, body: str) -> WebhookEvent:
    """An event as the outbox or the quarantine keeps it, read back with the webhook's models
    (by name too: older quarantine rows kept `modification_date` under its field name)."""
    try:
        data = json.loads(body)
        if source == "topdesk":
            return TopdeskWebhook.model_validate(data, by_alias=True, by_name=True)
        return _dfo_model(data).model_validate(data)
    except ValueError as error:  # ValidationError and JSONDecodeError are ValueErrors
        raise Refused(f"hendelsen kan ikke leses: {type(error).__name__}") from None
