"""A case that comes back: the caller writes in a case whose routine has finished.

Seed 001 ("Nyansettelse"): a start date changed after the contract is signed comes as an update
of the case in NTNU Hjelp, usually after the case is *Fullført*. TOPdesk reopens the case
("Gjenåpnet av bruker") and sends its webhook, but no workflow runs to take it. Nothing a caller
writes may vanish: saksflyt carries what it understands (a new hire's new start date) to SAP,
and gives everything else to a case handler with a note, in the status seed 002 gives a case an
operator has been given ("Tildelt").

Rules:
- only a registered new hire can be carried: its registration is in SAP, and a new start date is
  a change the new-hire routine already makes while the manager decides;
- any other answer the caller's reply gives (a bank account, a percentage...) is not registered
  by saksflyt after the routine ended: the case handler is told which;
- anything else (another process, a case that ended without a registration, a reply that
  changes no start date, a form that no longer passes its checks) goes to the case handler.
"""

from __future__ import annotations

import hashlib
from datetime import date

from pydantic import BaseModel, Field

from domain import processes
from domain.cases import ESCALATION_LADDER, CaseOutcome, CaseTimings
from domain.forms import format_date, read_answers
from domain.new_hire import form_spec, label

# Seed 000: the case handlers' group, the ladder's second rung (the first is user support).
CASE_HANDLERS = ESCALATION_LADDER[1]
EVENT_WORDS = {"caller_replied": "skrev i saken", "reopened": "åpnet saken igjen"}


class CameBackInput(BaseModel):
    """What the intake knows when a caller's event finds the case's workflow finished: the
    case, its process and category, the event, and what the finished workflow returned."""

    case_number: str
    process: str
    category: str
    event: str = "caller_replied"
    outcome: str | None = None  # the finished workflow's outcome (CaseOutcome's value)
    registration_id: str | None = None
    timings: CaseTimings = Field(default_factory=CaseTimings)


class CameBackResult(BaseModel):
    case_number: str
    carried: bool  # True: the change reached SAP; False: left to a case handler
    start_date: date | None = None
    reason: str | None = None  # why a case handler has it


def came_back_id(case_number: str, event_key: str) -> str:
    """One workflow per event: `came-back-<case>-<hash of the event key>` (the key may be long,
    and is the sender's own text)."""
    digest = hashlib.sha256(event_key.encode()).hexdigest()[:16]
    return f"came-back-{case_number}-{digest}"


def not_carried(came: CameBackInput) -> str | None:
    """Why saksflyt cannot carry this case's new event itself; None when it may try (a
    registered new hire)."""
    if came.process != processes.NEW_HIRE.name:
        return f"saksflyt fører ingen endringer i en avsluttet sak av typen {came.category}"
    if came.outcome != CaseOutcome.REGISTERED.value or came.registration_id is None:
        return f"nyansettelsen ble ikke registrert i SAP (utfall: {came.outcome or 'ukjent'})"
    return None


def other_answers(reply: str) -> list[str]:
    """The labels of the new-hire fields the reply answers, besides the start date: changes
    saksflyt does not make after the routine ended."""
    answers = read_answers([reply], form_spec(date.min).labels)
    return [label(field) for field in answers if field != "start_date"]


def handler_note(event: str, why: str) -> str:
    """The case handler's note: what came, and that saksflyt did nothing with it."""
    what = EVENT_WORDS.get(event, "skrev i saken")
    return (
        f"Innmelder {what} etter at saken var avsluttet. Saksflyt har ikke gjort noe med det: "
        f"{why}. Saken må følges opp av saksbehandler."
    )


def others_note(labels: list[str]) -> str:
    return (
        "Innmelder har også endret " + ", ".join(labels) + " etter at saken var avsluttet. "
        "Saksflyt har bare flyttet startdatoen; resten må føres manuelt i SAP."
    )


def unchanged_start_date(start_date: date) -> str:
    return f"svaret endrer ikke startdatoen, som står i SAP som {format_date(start_date)}"


def form_problems(problems: list[str]) -> str:
    return "skjemaet består ikke kontrollen etter endringen: " + " ".join(problems)


def rejected(reason: str | None) -> str:
    return "leder avviste den nye startdatoen i SAP" + (f" ({reason})" if reason else "")
