"""Case states: where a case waits, and how that shows in TOPdesk ("NTNU Hjelp").

The processing-status names are the service centre's own (seed 000, "Statuser i NTNU Hjelp");
they are instance configuration in TOPdesk, so they are looked up by name.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel


class TopdeskStatus(StrEnum):
    REGISTERED = "Registrert"
    ASSIGNED = "Tildelt"
    IN_PROGRESS = "I arbeid"
    AWAITING_CALLER = "Venter på bruker"
    ON_HOLD = "På vent"
    UPDATED_BY_CALLER = "Oppdatert av bruker"
    COMPLETED = "Fullført"
    CLOSED = "Lukket"
    REOPENED_BY_CALLER = "Gjenåpnet av bruker"


class WaitState(StrEnum):
    """Where a case stands; every value but `done` is a reason the case is not finished yet."""

    WORKING = "working"
    AWAITING_CALLER = "awaiting_caller"
    ON_HOLD = "on_hold"
    AWAITING_APPROVAL = "awaiting_approval"
    AWAITING_PAYROLL = "awaiting_payroll"
    DONE = "done"


TOPDESK_STATUS_OF: dict[WaitState, TopdeskStatus] = {
    WaitState.WORKING: TopdeskStatus.IN_PROGRESS,
    WaitState.AWAITING_CALLER: TopdeskStatus.AWAITING_CALLER,
    WaitState.ON_HOLD: TopdeskStatus.ON_HOLD,
    WaitState.AWAITING_APPROVAL: TopdeskStatus.IN_PROGRESS,
    WaitState.AWAITING_PAYROLL: TopdeskStatus.ON_HOLD,
    WaitState.DONE: TopdeskStatus.COMPLETED,
}


class CaseTimings(BaseModel):
    """How long a case waits before saksflyt acts on its own.

    TOPdesk completes a case that has waited for the caller for ten days (seed 000); saksflyt
    reminds the caller before that and then closes the case itself, with a reply that says why.
    """

    caller_reminder_after: timedelta = timedelta(days=7)
    caller_gives_up_after: timedelta = timedelta(days=10)
    approval_poll_every: timedelta = timedelta(days=1)
    approval_reminder_after: timedelta = timedelta(days=7)


class CaseProgress(BaseModel):
    """What a case handler asks of a running case: where it waits, since when, until when."""

    process: str
    case_number: str
    state: WaitState
    since: datetime
    due: datetime | None = None
    detail: str = ""
    registration_id: str | None = None
