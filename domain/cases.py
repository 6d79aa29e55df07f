"""Case states: where a case waits, and how that shows in TOPdesk ("NTNU Hjelp").

The processing-status names are the service centre's own (seed 000, "Statuser i NTNU Hjelp");
they are instance configuration in TOPdesk, so they are looked up by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.calendar_day import OSLO
from domain.caller_questions import (
    CLOSED_WITHOUT_REPLY,
    answer_deadline,
    ask_caller,
    manager_rejected_problem,
    payroll_refused_problem,
    question,
    remind_caller,
    unknown_employee_problem,
)
from domain.sla import COUNTED_FROM_DUE, SlaClock
from domain.summer import SummerPeriod

# What the caller is asked, and by when, is `caller_questions.py`'s; the workflows import it from
# here, as before it moved.
__all__ = [
    "CLOSED_WITHOUT_REPLY",
    "answer_deadline",
    "ask_caller",
    "manager_rejected_problem",
    "payroll_refused_problem",
    "question",
    "remind_caller",
    "unknown_employee_problem",
]


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
    # A resignation or full pension whose final settlement (a child workflow on the same case)
    # now carries the case: the child shows the wait; the parent only waits for it.
    HANDED_OVER = "handed_over"
    NEEDS_OPERATOR = "needs_operator"  # a system refused a step for good: a person decides
    DONE = "done"


# How a case handler says where a case stands, in a sentence (Temporal UI's details, the radar's
# notes) and as a heading (`state_label`: the KPI report). The words are TOPdesk's status names
# where the state is one, so a case reads alike in TOPdesk, Temporal UI and the report.
STATE_TEXT: dict[WaitState, str] = {
    WaitState.WORKING: "i arbeid",
    WaitState.AWAITING_CALLER: "venter på bruker",
    WaitState.ON_HOLD: "på vent",
    WaitState.AWAITING_APPROVAL: "venter på leders godkjenning",
    WaitState.AWAITING_PAYROLL: "venter på lønnskjøringen",
    WaitState.HANDED_OVER: "overlatt til sluttoppgjøret",
    WaitState.NEEDS_OPERATOR: "venter på saksbehandler",
    WaitState.DONE: "fullført",
}


def state_label(state: WaitState) -> str:
    """ "Venter på bruker": the state's wording as a heading."""
    text = STATE_TEXT[state]
    return text[0].upper() + text[1:]


TOPDESK_STATUS_OF: dict[WaitState, TopdeskStatus] = {
    WaitState.WORKING: TopdeskStatus.IN_PROGRESS,
    WaitState.AWAITING_CALLER: TopdeskStatus.AWAITING_CALLER,
    WaitState.ON_HOLD: TopdeskStatus.ON_HOLD,
    WaitState.AWAITING_APPROVAL: TopdeskStatus.IN_PROGRESS,
    WaitState.AWAITING_PAYROLL: TopdeskStatus.ON_HOLD,
    WaitState.HANDED_OVER: TopdeskStatus.IN_PROGRESS,  # as WORKING was, until the child writes
    WaitState.NEEDS_OPERATOR: TopdeskStatus.IN_PROGRESS,  # not written: TOPdesk may refuse
    WaitState.DONE: TopdeskStatus.COMPLETED,
}


class Approval(StrEnum):
    """Where the manager's approval of a registration stands, as SAP reports it."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"  # taken back by saksflyt when the case was withdrawn


class CaseOutcome(StrEnum):
    """How a case ended: its routine went through, or it ended before (`CaseClosed`)."""

    REGISTERED = "registered"  # registered in SAP and approved
    PAID = "paid"  # a final settlement paid with its payroll run
    DECIDED = "decided"  # an application the manager decided (granted or not, see the result)
    REFUSED = "refused"
    CLOSED_WITHOUT_REPLY = "closed_without_reply"
    NOT_APPLICABLE = "not_applicable"  # the case is not a form of this process
    WITHDRAWN = "withdrawn"  # the caller closed the case
    ENDED_BY_OPERATOR = "ended_by_operator"  # a system refused a step; a person ended the case


class CaseTimings(BaseModel):
    """How long a case waits before saksflyt acts on its own.

    TOPdesk completes a case that has waited for the caller for ten days (seed 000); saksflyt
    reminds the caller before that, names a last day to answer that ends before TOPdesk's ten
    days run out, and closes the case itself at the end of that day, with a reply that says why.
    """

    caller_reminder_after: timedelta = timedelta(days=7)
    caller_gives_up_after: timedelta = timedelta(days=9)
    approval_poll_every: timedelta = timedelta(days=1)
    approval_reminder_after: timedelta = timedelta(days=7)
    escalation_every: timedelta = timedelta(days=5)
    # The summer rule (seed 002, `domain/summer.py`): in this period a wait for the caller shows
    # "På vent" and never closes. None: off (the input's default; the intake sets the period).
    summer: SummerPeriod | None = None


class OperatorAction(BaseModel):
    """A person acted on the case from outside its routine (a bulk signal, a cancel, a retry):
    sent to the workflow before the action itself, so that its history says who and why."""

    event_id: str
    operator: str
    action: str
    reason: str
    detail: str = ""


class RadarFlag(BaseModel):
    """The stuck-case radar found the case past a limit. `reason` is `wait` (in its wait state
    past `limit_days`) or `sla_due` / `sla_expired` (its SLA clock past that mark); `state` is
    the wait state the radar saw, so a case that has moved on since ignores the flag."""

    event_id: str
    reason: str
    limit_days: float
    state: str | None = None


class CaseProgress(BaseModel):
    """What a case handler asks of a running case: where it waits, since when, until when."""

    process: str
    case_number: str
    state: WaitState
    since: datetime
    due: datetime | None = None
    detail: str = ""
    registration_id: str | None = None
    escalation_level: int = 0
    unit: str | None = None
    employee_key: str | None = None  # a pseudonym (domain.identifiers.employee_key)
    sla: SlaClock = Field(default_factory=SlaClock)
    sla_notified: bool = False
    operator_actions: list[OperatorAction] = Field(default_factory=list)


# Seed 000, "Avvikshåndtering": a deviation is handled at the lowest level possible and escalated
# through these rungs, one at a time. Each rung is a TOPdesk operator group.
ESCALATION_LADDER = (
    "Brukerstøtte lønn og HR",
    "Saksbehandling lønn og HR",
    "Prosessansvarlig lønn og HR",
    "Leder Tjenestesenteret for lønn og HR",
)


def rungs_due(waited: timedelta, limit: timedelta, every: timedelta) -> int:
    """How many rungs a case that has waited `waited` past the start of its wait should have
    climbed: the first at `limit`, then one more every `every`, up to the top of the ladder."""
    if waited < limit:
        return 0
    return min(len(ESCALATION_LADDER), 1 + (waited - limit) // every)


def escalation_note(level: int, why: str) -> str:
    """The note a rung leaves for the group that now has the case."""
    group = ESCALATION_LADDER[level - 1]
    top = " Dette er øverste trinn." if level == len(ESCALATION_LADDER) else ""
    return f"Avvik, eskalert til trinn {level} ({group}): {why}{top}"


def withdrawn_note(undone: Sequence[str], left: Sequence[str] = ()) -> str:
    """What the case handler must know of a withdrawal: what was taken back, newest first, and
    what could not be and must be reversed by hand."""
    lines = ["Saken er trukket."]
    if undone:
        lines.append("Saksflyt har tatt tilbake, i omvendt rekkefølge: " + "; ".join(undone) + ".")
    if left:
        lines.append("Kunne ikke tas tilbake, må reverseres manuelt: " + "; ".join(left) + ".")
    return " ".join(lines)


class CaseEvent(BaseModel):
    """Something happened in TOPdesk (the caller replied, the case was reopened).

    Signals arrive at least once; `event_id` lets the workflow ignore a repeat.
    """

    event_id: str
    kind: str = "caller_replied"


class ApprovalDecision(BaseModel):
    """The DFØ portal's word that the manager decided: a hint, SAP is asked before acting."""

    event_id: str
    registration_id: str | None = None
    approved: bool
    reason: str | None = None


def case_summary(category: str, case_number: str) -> str:
    """The one line Temporal UI shows for a case's workflow: "Nyansettelse I2411-0042"."""
    return f"{category} {case_number}".strip()


def case_details(category: str, progress: CaseProgress) -> str:
    """Where the case stands, for Temporal UI: "Nyansettelse I2411-0042 — venter på leders
    godkjenning siden 12.11, frist 19.11". What the caller was asked is left out: it may quote
    what they wrote."""
    what = STATE_TEXT[progress.state]
    if progress.detail and progress.state is not WaitState.AWAITING_CALLER:
        what = progress.detail if progress.detail.startswith(what) else f"{what}: {progress.detail}"
    text = f"{case_summary(category, progress.case_number)} — {what}"
    text += f" siden {progress.since.astimezone(OSLO):%d.%m}"
    if progress.due is not None:
        text += f", frist {progress.due.astimezone(OSLO):%d.%m}"
    return text


def _days_text(days: float) -> str:
    return f"{days:.1f}".replace(".", ",")


def stuck_why(state: WaitState, days: float, limit: float) -> str:
    """Why the radar escalates a case that has not moved: what it waits for, and how long."""
    counted = "etter sin egen frist" if state in COUNTED_FROM_DUE else ""
    name = STATE_TEXT[state]
    return (
        f"saken har stått «{name}» i {_days_text(days)} virkedager {counted}".rstrip()
        + f" (grensen er {_days_text(limit)})."
    )


def sla_expired_why(elapsed: float, limit: float) -> str:
    return (
        f"behandlingstiden er {_days_text(elapsed)} virkedager, over målet på "
        f"{_days_text(limit)} virkedager (tid saken venter på innmelder er holdt utenfor)."
    )


def sla_due_note(elapsed: float, limit: float) -> str:
    """The case handler's notice that a case has reached its due mark (no escalation yet)."""
    return (
        f"Frist for behandlingstid nådd: saken har vært hos Tjenestesenteret i "
        f"{_days_text(elapsed)} virkedager (varsel ved {_days_text(limit)}). "
        "Saken eskaleres om den passerer målet."
    )
