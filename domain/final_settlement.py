"""Final settlement ("Sluttoppgjør", seed 001 "Annen fratredelse") and its form "Fratredelse".

Rules:
- seed 001: when the end date is settled, the unit sends the form Fratredelse; the service centre
  registers the final settlement in SAP;
- seed 001: the final settlement is paid the month after the end date (the payroll run of the
  month after, `PayrollCalendar.settlement_run_after`);
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

from domain import identifiers
from domain.cases import CaseOutcome, CaseTimings
from domain.forms import Field, FormSpec, InvalidAnswer, format_date, normalise_label, parse_date
from domain.forms import text as free_text
from domain.payroll_calendar import PayrollCalendar

CATEGORY = "Fratredelse"


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
    }
)


def check_form(texts: Iterable[str]) -> SettlementCheck:
    values, problems = FORM.read(texts)
    if problems:
        return SettlementCheck(problems=problems)
    return SettlementCheck(form=SettlementForm.model_validate(values))


class FinalSettlementInput(BaseModel):
    case_number: str
    timings: CaseTimings = CaseTimings()
    calendar: PayrollCalendar = PayrollCalendar()


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
        f"Sluttoppgjøret er registrert i SAP. Det utbetales med lønnskjøringen "
        f"{format_date(run)}, måneden etter sluttdatoen {format_date(end_date)}. Saken står på "
        f"vent til da, og vi tar den opp igjen når utbetalingen er bekreftet."
    )


def paid_reply(run: date) -> str:
    return f"Sluttoppgjøret er utbetalt med lønnskjøringen {format_date(run)}. Saken er fullført."
