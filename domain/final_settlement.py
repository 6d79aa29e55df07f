"""Final settlement ("Sluttoppgjør", seed 001 "Annen fratredelse") and its form "Fratredelse".

Rules:
- seed 001: when the end date is settled, the unit sends the form Fratredelse; the service centre
  registers the final settlement in SAP;
- seed 001: the final settlement is paid the month after the end date (the payroll run of the
  month after); registered after that run's cut-off, it is paid with the next run that takes it
  (`PayrollCalendar.settlement_run`), and the caller is told that run;
- seed 000: while the case waits for that run it is "På vent", and the caller is told why and
  until when.
The reasons the form accepts are seed 001's: end of a temporary post, lack of funding, main
position outside NTNU, death — and resignation, whose own routine ends here too.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import StrEnum

from pydantic import BaseModel

from domain import identifiers, processes
from domain.cases import CaseOutcome, CaseTimings
from domain.employment import Employment
from domain.extension import late_decision_warning
from domain.forms import Field, FormSpec, InvalidAnswer, format_date, normalise_label, parse_date
from domain.forms import text as free_text
from domain.payroll_calendar import PayrollCalendar, settlement_pay_day

CATEGORY = processes.FINAL_SETTLEMENT.category


class TerminationReason(StrEnum):
    TEMPORARY_POST_ENDS = "midlertidig stilling slutter"
    NO_FUNDING = "manglende finansiering"
    MAIN_POSITION_ELSEWHERE = "hovedstilling utenfor NTNU"
    DEATH = "dødsfall"
    RESIGNATION = "oppsigelse"


_REASON_WORDS = {
    normalise_label(word): reason
    for reason, words in {
        TerminationReason.TEMPORARY_POST_ENDS: ("midlertidig", "midlertidig stilling slutter"),
        TerminationReason.NO_FUNDING: ("manglende finansiering", "finansiering"),
        TerminationReason.MAIN_POSITION_ELSEWHERE: (
            "hovedstilling utenfor NTNU",
            "hovedstilling utenfor ntnu",
        ),
        TerminationReason.DEATH: ("dødsfall", "død"),
        TerminationReason.RESIGNATION: ("oppsigelse",),
    }.items()
    for word in words
}


def _reason(value: str) -> TerminationReason:
    reason = _REASON_WORDS.get(normalise_label(value))
    if reason is None:
        raise InvalidAnswer(
            "må være Midlertidig, Manglende finansiering, Hovedstilling utenfor NTNU, "
            "Dødsfall eller Oppsigelse"
        )
    return reason


class SettlementForm(BaseModel):
    name: str
    employee_number: str
    end_date: date
    reason: TerminationReason
    manager: str | None = None


class SettlementOrder(SettlementForm):
    """A final settlement another process orders (resignation, full pension) for its own case:
    what the form would have said. A process that sends its own letter (pension) asks for no
    termination letter."""

    termination_letter: bool = True


class SettlementCheck(BaseModel):
    form: SettlementForm | None = None
    problems: list[str] = []


FORM = FormSpec(
    {
        "name": Field("Navn", free_text, ("Navn på ansatt",), required=True),
        "employee_number": Field(
            "Ansattnummer", identifiers.employee_number, ("Ansattnr",), required=True
        ),
        "end_date": Field(
            "Sluttdato",
            parse_date,
            ("Siste arbeidsdag",),
            required=True,
            why_required="Skjemaet sendes når sluttdatoen er avklart.",
        ),
        "reason": Field("Årsak", _reason, ("Fratredelsesårsak",), required=True),
        # Optional when read, so that forms sent before the letter was sent still read the same;
        # a settlement that needs the letter asks for it (`letter_problems`).
        "manager": Field("Leder", free_text, ("Nærmeste leder", "Leders navn")),
    }
)


def check_form(texts: Iterable[str]) -> SettlementCheck:
    values, problems = FORM.read(texts)
    if problems:
        return SettlementCheck(problems=problems)
    return SettlementCheck(form=SettlementForm.model_validate(values))


def needs_termination_letter(form: SettlementForm) -> bool:
    """Seed 001, "Annen fratredelse": the standard termination letter with the checklist goes to
    the employee with the manager in copy. Not on death: the checklist is for someone leaving,
    and the estate is contacted by the unit, not by a form letter."""
    return form.reason is not TerminationReason.DEATH


def letter_problems(form: SettlementForm) -> list[str]:
    if needs_termination_letter(form) and not form.manager:
        return [
            "Leder mangler. Fratredelsesbrevet sendes til den ansatte med leder på kopi; "
            "oppgi lederens navn."
        ]
    return []


# The reasons for which the employer ends the employment: a temporary post ends, or its funding.
EMPLOYER_ENDS = frozenset({TerminationReason.TEMPORARY_POST_ENDS, TerminationReason.NO_FUNDING})


def late_notice_warning(form: SettlementForm, employment: Employment, today: date) -> str | None:
    """The warning for the unit when the form ends a temporary employment of more than one year
    less than a month before its end date: the employee must have had notice by then (seed
    001, "Annen fratredelse", as for an extension decided late). Not for a permanent position
    in SAP, nor for an employee who resigned or died."""
    if form.reason not in EMPLOYER_ENDS or employment.end_date is None:
        return None
    return late_decision_warning(employment.model_copy(update={"end_date": form.end_date}), today)


def settlement_moved(form: SettlementForm, end_date: date) -> bool:
    return form.end_date != end_date


class FinalSettlementInput(BaseModel):
    """`order` set: a child of another process, working on that process's case (`category`)."""

    case_number: str
    timings: CaseTimings = CaseTimings()
    calendar: PayrollCalendar = PayrollCalendar()
    order: SettlementOrder | None = None
    category: str = CATEGORY


class FinalSettlementResult(BaseModel):
    case_number: str
    outcome: CaseOutcome
    registration_id: str | None = None
    paid_on: date | None = None


RECEIVED_REPLY = (
    "Vi har mottatt skjemaet om fratredelse og behandler saken nå. Du får svar her i saken når "
    "sluttoppgjøret er registrert, eller straks hvis vi trenger mer fra deg."
)


def on_hold_reply(end_date: date, run: date) -> str:
    """Seed 000: a case on hold tells why, and when it will be taken up again."""
    return (
        f"Sluttoppgjøret er registrert i SAP. {_paid_with(end_date, run)} Saken står på vent til "
        "da, og vi tar den opp igjen når utbetalingen er bekreftet."
    )


def moved_reply(end_date: date, run: date) -> str:
    return (
        f"Sluttdatoen er endret til {format_date(end_date)}, og sluttoppgjøret er flyttet i SAP. "
        f"{_paid_with(end_date, run)} Saken står på vent til da."
    )


def _paid_with(end_date: date, run: date) -> str:
    """Which run pays, and why that one: the month after the end date, or a later run when the
    registration came after the cut-off of that month's run (`PayrollCalendar.settlement_run`)."""
    due = settlement_pay_day(end_date)
    if run <= due:
        return (
            f"Det utbetales med lønnskjøringen {format_date(run)}, måneden etter sluttdatoen "
            f"{format_date(end_date)}."
        )
    return (
        f"Fristen for lønnskjøringen {format_date(due)}, måneden etter sluttdatoen "
        f"{format_date(end_date)}, var passert da sluttoppgjøret ble registrert, så det "
        f"utbetales med lønnskjøringen {format_date(run)}."
    )


def death_pension_message_note(receipt_id: str) -> str:
    return (
        f"Pensjonsmelding om dødsfall er sendt til Statens pensjonskasse ({receipt_id}). "
        "Fratredelsesbrev sendes ikke ved dødsfall; enheten tar kontakt med de etterlatte."
    )


def paid_reply(run: date) -> str:
    return f"Sluttoppgjøret er utbetalt med lønnskjøringen {format_date(run)}. Saken er fullført."
