"""Backfill activities: find the cases whose webhook may never have come, and post each webhook
to the intake as TOPdesk would have.

Posting to the intake's own HTTP endpoint, with the shared secret, is the whole point: the
backfill then takes the very path a webhook takes (authentication, the category re-read from
TOPdesk, routing, quarantine, start or signal-with-start under the workflow-id policies, the
event key), so a case the backfill finds and whose webhook then arrives late, or twice, still
has one workflow. Calling the routing code in-process would be a second path to keep in step.

It posts with the webhook sender the DFØ portal stub and the TOPdesk simulator use too
(`adapters/webhooks.py`), and signs the body as a signing source does when the intake asks
TOPdesk's events to be signed (an HMAC key set, "topdesk" among the signing sources).

Its answers map as a sender's should: 202 is taken (queued in the intake's outbox included);
503 (TOPdesk away), 429, 408 and a connection that fails are retried by Temporal, after the
intake's Retry-After when it gives one; 401 and 403 (a wrong secret or signature) are final and
fail the run, since every other case would fail alike; any other refusal (404, 413, 422) is
final for that case only, so one odd case cannot stop the others.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import requests
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import final_errors
from adapters.topdesk.errors import TopdeskNotFound, TopdeskRejected
from adapters.topdesk.models import Incident
from adapters.topdesk.port import TopdeskPort
from adapters.webhooks import WebhookSender
from domain.backfill import (
    REPLY_EVENT,
    CaseWindow,
    FoundCases,
    Hint,
    ListedCase,
    Sent,
    hints_for,
    modified_since_query,
)

log = structlog.get_logger(__name__)

# The error types a workflow sees (ApplicationError.type).
INTAKE_UNAVAILABLE = "IntakeUnavailable"  # retried
INTAKE_AUTH_FAILED = "IntakeAuthFailed"  # final: fix the secret
INTAKE_REFUSED = "IntakeRefused"  # final for this case
NO_INTAKE = "NoIntake"  # final: the worker was built without the intake's address

# A 500 is the intake's own bug: retrying it for ever would hold every later run (overlap SKIP),
# so it is a refusal of that one case, noted in the result.
RETRYABLE_STATUSES = frozenset({408, 429, 502, 503, 504})
LONGEST_RETRY_AFTER = timedelta(minutes=10)


@dataclass(frozen=True, repr=False)
class Intake(WebhookSender):
    """Where the intake takes TOPdesk's webhooks, and the secret TOPdesk sends with them; with
    `hmac_key`, each body is signed too (for an intake that asks TOPdesk's events to be)."""

    user_agent: str | None = "saksflyt-backfill"


class BackfillActivities:
    def __init__(self, topdesk: TopdeskPort, intake: Intake | None) -> None:
        self.topdesk = topdesk
        self.intake = intake

    @activity.defn(name="backfill.find_cases")
    def find_cases(self, window: CaseWindow) -> FoundCases:
        """The cases of the routed categories modified in the window, every page, and the
        webhooks each should have sent."""
        listed_at = datetime.now(UTC)
        query = modified_since_query(window.since, window.categories)
        with final_errors(TopdeskRejected):
            # Sorted on creation: a case modified meanwhile keeps its place across the pages.
            incidents = self.topdesk.list_incidents(
                query, page_size=window.page_size, sort="creationDate:asc"
            )
            # FIQL dates are whole seconds: the exact cut is made here.
            in_window = [i for i in incidents if _modified(i) >= window.since]
            cases = [case for i in in_window if (case := self._listed(i)) is not None]
        hints = [hint for case in cases for hint in hints_for(case, window.since)]
        return FoundCases(listed_at=listed_at, listed=len(cases), hints=hints)

    def _listed(self, incident: Incident) -> ListedCase | None:
        """The case as the hints need it; None for a case archived while it was listed."""
        status = incident.processing_status.name if incident.processing_status else None
        caller_wrote = None
        if status in REPLY_EVENT:
            try:
                trail = self.topdesk.progress_trail(incident.number)  # newest first
            except TopdeskNotFound:
                return None
            caller_wrote = next((e.entry_date for e in trail if e.from_caller), None)
        return ListedCase(
            number=incident.number,
            status=status,
            open=not (incident.completed or incident.closed),
            created=incident.creation_date,
            modified=_modified(incident),
            caller_wrote=caller_wrote,
        )

    @activity.defn(name="backfill.send")
    def send(self, hint: Hint) -> Sent:
        """Post one webhook to the intake; returns what the intake did with it."""
        if self.intake is None:
            raise ApplicationError(
                "this worker has no intake to send to", type=NO_INTAKE, non_retryable=True
            )
        try:
            response = self.intake.post(json.dumps(hint.body()).encode())
        except requests.RequestException as error:
            raise ApplicationError(
                f"intake unreachable: {type(error).__name__}", type=INTAKE_UNAVAILABLE
            ) from error
        sent = Sent(number=hint.number, event=hint.event, modification_date=hint.modification_date)
        if response.status_code < 300:
            action = str(response.json().get("action"))
            log.info("backfill.sent", case_number=hint.number, case_event=hint.event, action=action)
            return sent.model_copy(update={"action": action})
        failure = intake_failure(response.status_code, _detail(response), _retry_after(response))
        if failure.type == INTAKE_REFUSED:
            log.warning("backfill.refused", case_number=hint.number, status=response.status_code)
        raise failure


def intake_failure(status: int, detail: str, retry_after: timedelta | None) -> ApplicationError:
    """The error for an intake answer that is not 2xx: retryable, final for the run, or final
    for this case only."""
    message = f"intake answered {status}: {detail}"
    if status in RETRYABLE_STATUSES:
        delay = min(retry_after, LONGEST_RETRY_AFTER) if retry_after else None
        return ApplicationError(message, type=INTAKE_UNAVAILABLE, next_retry_delay=delay)
    if status in (401, 403):
        return ApplicationError(message, type=INTAKE_AUTH_FAILED, non_retryable=True)
    return ApplicationError(message, type=INTAKE_REFUSED, non_retryable=True)


def _modified(incident: Incident) -> datetime:
    """When the case last changed; a case without the date (TOPdesk always sets it) counts
    as changed long ago, outside every window."""
    return incident.modification_date or datetime.min.replace(tzinfo=UTC)


def _retry_after(response: requests.Response) -> timedelta | None:
    value = response.headers.get("Retry-After", "").strip()
    return timedelta(seconds=int(value)) if value.isdigit() else None


def _detail(response: requests.Response) -> str:
    """The intake's `detail`, short: it names a field or a reason, never the body's values."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    return str(body.get("detail", "") if isinstance(body, dict) else body)[:300]
