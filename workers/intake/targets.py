"""Routing: where an event goes, found by its case's category (`workers/routing.py`).

Apart from delivery (`delivery.py`, which starts or signals the workflow found here) because it is
the one step that may read TOPdesk, and so the one an event can wait on while TOPdesk is away: the
outbox keeps a DFØ decision unrouted until TOPdesk answers, and routes it here before it is
delivered (`accept.py`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter

from adapters.topdesk.client import TopdeskClient
from adapters.topdesk.errors import TopdeskNotFound, TopdeskRejected
from adapters.topdesk.models import Incident
from workers.intake.models import DfoResignation, TopdeskWebhook, WebhookEvent, resignation_id
from workers.quarantine import Refused
from workers.routing import ROUTES, Route, route_named, route_of
from workers.settings import Settings

ReadIncident = Callable[[str], Awaitable[Incident]]


@dataclass(frozen=True)
class Target:
    """Where an event goes, as routing found it: the workflow, and for an event of a TOPdesk
    case the category whose route starts or signals it (None: the portal's resignation)."""

    workflow_id: str
    category: str | None = None

    @property
    def route(self) -> Route | None:
        return ROUTES.get(self.category) if self.category else None


def topdesk_of(settings: Settings) -> TopdeskClient:
    """The intake's TOPdesk client, its connection pool as large as the reads it may run at
    once (requests keeps 10 a host otherwise, and opens and drops the rest each time)."""
    session = requests.Session()
    pool = HTTPAdapter(pool_maxsize=max(10, settings.intake_topdesk_concurrency))
    session.mount("http://", pool)
    session.mount("https://", pool)
    return TopdeskClient(
        settings.topdesk_url,
        settings.topdesk_login,
        settings.topdesk_app_password.get_secret_value(),
        session=session,
    )


def named_target(body: WebhookEvent) -> Target | None:
    """Where a "created" webhook goes by the category it names, with no TOPdesk read: the read
    cost the intake two thirds of its rate (`make bench`). Only a created case: its workflow
    re-reads the case first and hands a case of another category to its own process before
    writing anything (`workflows/case.py`). A reply or a reopening is routed by TOPdesk's word,
    since a wrongly named process may have ended, and its event would be lost there."""
    if not isinstance(body, TopdeskWebhook) or body.event != "incident_created":
        return None
    route = route_named(body.category)
    workflow_id = route.case_workflow_id(body.number) if route else None
    if route is None or workflow_id is None:
        return None  # no category, or one no form-started process has: TOPdesk decides
    return Target(workflow_id, route.category)


async def target_of(read: ReadIncident, body: WebhookEvent) -> Target:
    """Route the event by its case's category: as a created case's webhook names it, or else
    as TOPdesk has it (`read` reads the case). Raises `Refused` when no process can take it,
    and TOPdesk's own `TopdeskError` (such as `TopdeskUnavailable`) when the case cannot be
    read now."""
    if isinstance(body, DfoResignation):
        return Target(resignation_id(body.form_id))
    named = named_target(body)
    if named is not None:
        return named
    number = body.number if isinstance(body, TopdeskWebhook) else body.case_number
    try:
        incident = await read(number)
    except TopdeskNotFound:
        raise Refused(f"TOPdesk kjenner ikke saken {number}") from None
    except TopdeskRejected as error:  # 400, 403: no retry changes the answer
        raise Refused(f"TOPdesk avviste oppslaget av saken {number}: {error.message}") from None
    route = route_of(incident)
    workflow_id = route.workflow_id(incident) if route else None
    category = incident.category.name if incident.category else None
    if route is None or workflow_id is None:
        raise Refused(f"ingen prosess for kategorien «{category or 'ingen'}»")
    return Target(workflow_id, category)
