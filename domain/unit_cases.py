"""The cases the follow-ups open to the units (`domain.follow_ups`): one per unit, found again
by its external number, and what it tells the unit."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import date

from pydantic import BaseModel

from domain.employment import Employment
from domain.follow_ups import FollowUpReason, WatchPlan, follow_up_reason, pay_stop_from
from domain.forms import format_date

# Seed 001 names the form "Andre endringer arbeidsforhold" for changes to an employment that have
# no form of their own; the cases saksflyt opens to a unit about its employees go there too.
UNIT_CASE_CATEGORY = "Andre endringer arbeidsforhold"

# TOPdesk's externalNumber holds at most 60 characters.
EXTERNAL_NUMBER_LENGTH = 60


class UnitGroup(BaseModel):
    """The employees of one unit, and who at the unit is told."""

    unit: str
    caller_email: str
    employees: list[Employment]


UNKNOWN_UNIT = "Ukjent enhet"


def by_unit(employees: Iterable[Employment], fallback_email: str) -> list[UnitGroup]:
    """Group per unit (SAP's organisasjon), in the order of the units' names. The unit is told at
    the address SAP has for it (`enhet_epost`); without one, the service centre's address."""
    groups: dict[str, list[Employment]] = {}
    for employee in employees:
        groups.setdefault(employee.unit or UNKNOWN_UNIT, []).append(employee)
    return [
        UnitGroup(
            unit=unit,
            caller_email=next((e.unit_email for e in members if e.unit_email), fallback_email),
            employees=members,
        )
        for unit, members in sorted(groups.items())
    ]


def unit_case_key(workflow_id: str, unit: str) -> str:
    """The case's external number: one per workflow run and unit, so a retry or a second run of
    the same workflow finds the case it opened instead of opening another. It fits TOPdesk's 60
    characters: the unit is a digest, and so is a workflow id too long to keep."""
    unit_part = _digest(unit, 10)
    if len(workflow_id) + 1 + len(unit_part) > EXTERNAL_NUMBER_LENGTH:
        workflow_id = _digest(workflow_id, 32)
    return f"{workflow_id}/{unit_part}"


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


# -- texts for the units ----------------------------------------------------------------------

_MONTHS = [
    "januar",
    "februar",
    "mars",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "desember",
]


def month_name(day: date) -> str:
    return f"{_MONTHS[day.month - 1]} {day.year}"


def _line(employee: Employment, extra: str = "") -> str:
    end = format_date(employee.end_date) if employee.end_date else "ingen"
    name = employee.name or "Uten navn"
    return f"- {name}, ansattnr. {employee.employee_number}, sluttdato {end}{extra}"


def watch_case_brief(unit: str) -> str:
    return f"Lønn stoppet ved sluttdato: {unit}"


def watch_case_text(unit: str, plan: WatchPlan, employees: Sequence[Employment]) -> str:
    """What was done and what the unit must do (seed 001: send Forlengelse or Fratredelse)."""
    lines = "\n".join(
        _line(e, f", lønn stoppet fra {format_date(pay_stop_from(e.end_date))}")
        for e in employees
        if e.end_date is not None
    )
    return (
        "Hei!\n"
        f"Før lønnskjøringen {format_date(plan.pay_day)} har Tjenestesenteret for lønn og HR gått "
        f"gjennom ansatte ved {unit} som når sluttdato før utgangen av "
        f"{month_name(plan.pay_day)}. Lønnssystemet avslutter ikke lønna automatisk ved "
        "sluttdato, og vi har ikke fått beskjed om at disse skal forlenges eller fratre:\n"
        f"{lines}\n\n"
        "Vi har derfor stoppet lønnen deres i SAP fra dagen etter sluttdatoen, så det ikke "
        "utbetales lønn som må kreves tilbake.\n\n"
        "Dette må enheten gjøre for hver av dem:\n"
        "- Skal arbeidsforholdet forlenges: send skjemaet Forlengelse i NTNU Hjelp med "
        "ePhorte-nummeret til det signerte forlengelsesbrevet, og svar i denne saken, så "
        "opphever vi lønnsstoppen.\n"
        "- Skal den ansatte fratre: send skjemaet Fratredelse i NTNU Hjelp, så registrerer vi "
        "sluttoppgjøret.\n"
        f"Frist for å komme med i lønnskjøringen {format_date(plan.pay_day)} er "
        f"{format_date(plan.cutoff)}."
    )


def follow_up_case_brief(unit: str) -> str:
    return f"Mangler sluttoppgjør: {unit}"


def follow_up_case_text(unit: str, today: date, employees: Sequence[Employment]) -> str:
    """Seed 001: the quarterly report's two lists, and the clarification asked of the unit."""
    sections = []
    past = [e for e in employees if follow_up_reason(e, today) is FollowUpReason.PAST_END_DATE]
    stopped = [e for e in employees if follow_up_reason(e, today) is FollowUpReason.PAY_STOPPED]
    if past:
        lines = "\n".join(_line(e) for e in past)
        sections.append(
            f"Har nådd sluttdato, men får fortsatt lønn og mangler sluttoppgjør:\n{lines}"
        )
    if stopped:
        lines = "\n".join(
            _line(e, f", lønn stoppet fra {format_date(e.pay_stopped_from)}")
            for e in stopped
            if e.pay_stopped_from is not None
        )
        sections.append(f"Lønnen er stoppet, men sluttoppgjør mangler:\n{lines}")
    body = "\n\n".join(sections)
    return (
        "Hei!\n"
        "Tjenestesenteret for lønn og HR tar hvert kvartal ut en rapport over ansatte som har "
        f"sluttet uten at sluttoppgjør er registrert. Per {format_date(today)} gjelder det disse "
        f"ansatte ved {unit}:\n\n"
        f"{body}\n\n"
        "Avklar med leder hva som gjelder for hver av dem:\n"
        "- Har den ansatte sluttet: send skjemaet Fratredelse i NTNU Hjelp, så registrerer vi "
        "sluttoppgjøret.\n"
        "- Skal arbeidsforholdet fortsette: send skjemaet Forlengelse i NTNU Hjelp, og svar i "
        "denne saken."
    )
