"""Extension of a temporary contract ("Forlengelse", seed 001) and the checks before registering.

Rules:
- seed 001, "Forlengelse": the unit stores the signed extension letter in the personnel file in
  ePhorte and sends the case with its ePhorte number; the service centre registers the extension
  in SAP with the new end date, and the form goes to the manager for approval;
- the new end date must lie after the current one (an extension that ends earlier is a
  termination, which has its own routine);
- seed 001, "Annen fratredelse": a temporary employee of more than one year must be told at
  least one month before the end date; a decision that comes later is told to the unit
  (dfo-domain.md §3.2: late notice prolongs the employment).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date

from pydantic import BaseModel

from domain import identifiers, processes
from domain.cases import CaseOutcome, CaseTimings
from domain.employment import Employment
from domain.forms import Field, FormSpec, format_date, parse_date, text

CATEGORY = processes.EXTENSION.category

RECEIVED_REPLY = (
    "Vi har mottatt skjemaet og behandler saken nå. Du får svar her i saken når forlengelsen er "
    "registrert i lønnssystemet og godkjent av leder, eller straks hvis vi trenger mer fra deg."
)


class ExtensionForm(BaseModel):
    name: str
    employee_number: str
    new_end_date: date
    archive_case: str


class ExtensionCheck(BaseModel):
    form: ExtensionForm | None = None
    problems: list[str] = []


FORM = FormSpec(
    {
        "name": Field("Navn", text, ("Navn på ansatt",), required=True),
        "employee_number": Field(
            "Ansattnummer", identifiers.employee_number, ("Ansattnr",), required=True
        ),
        "new_end_date": Field(
            "Ny sluttdato",
            parse_date,
            ("Sluttdato",),
            required=True,
            why_required="Oppgi datoen forlengelsen varer til.",
        ),
        "archive_case": Field(
            "ePhorte-nummer",
            identifiers.archive_case_number,
            ("ePhortenummer", "Saksnummer i ePhorte", "Saksnummer"),
            required=True,
            why_required="Oppgi saksnummeret der det signerte forlengelsesbrevet er lagret i "
            "ePhorte.",
        ),
    }
)


def check_form(texts: Iterable[str]) -> ExtensionCheck:
    values, problems = FORM.read(texts)
    if problems:
        return ExtensionCheck(problems=problems)
    return ExtensionCheck(form=ExtensionForm.model_validate(values))


def extension_problems(form: ExtensionForm, employment: Employment) -> list[str]:
    """What stops this extension of this employment, in words for the caller."""
    if employment.end_date is None:
        return ["Den ansatte har fast stilling i SAP (ingen sluttdato), så det er ingenting å "
                "forlenge. Sjekk ansattnummeret."]  # fmt: skip
    if form.new_end_date <= employment.end_date:
        return [
            f"Ny sluttdato må være etter nåværende sluttdato {format_date(employment.end_date)}. "
            "Skal arbeidsforholdet avsluttes tidligere, bruk skjemaet Fratredelse."
        ]
    return []


def late_decision_warning(employment: Employment, today: date) -> str | None:
    """The warning for the unit when a temporary employee of more than one year is told of the
    decision less than one month before the end date (seed 001, "Annen fratredelse")."""
    end = employment.end_date
    if end is None or not _more_than_a_year(employment.start_date, end):
        return None
    if today <= _one_month_before(end):
        return None
    return (
        "Merk: Den ansatte har vært midlertidig ansatt i mer enn ett år, og skal ha beskjed om "
        f"forlengelse eller fratreden senest én måned før sluttdatoen {format_date(end)}. "
        "Beskjeden kommer for sent; sørg for at den ansatte får den skriftlig nå."
    )


def _more_than_a_year(start: date, end: date) -> bool:
    return end > _years_after(start, 1)


def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _one_month_before(day: date) -> date:
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


class ExtensionInput(BaseModel):
    case_number: str
    timings: CaseTimings = CaseTimings()


class ExtensionResult(BaseModel):
    case_number: str
    outcome: CaseOutcome
    registration_id: str | None = None
    new_end_date: date | None = None


def registered_reply(new_end_date: date, confirmed: bool = False) -> str:
    letter = (
        " Den ansatte har fått en bekreftelse, som er lagret i personalmappen." if confirmed else ""
    )
    return (
        f"Forlengelsen er registrert i SAP med ny sluttdato {format_date(new_end_date)} og "
        f"godkjent av leder.{letter} Saken er fullført."
    )


NOTED_FOR_HANDLER = (
    "Innmelder har skrevet i saken mens forlengelsen venter på leders godkjenning. "
    "Se svaret; endringer må føres manuelt i SAP."
)


def end_date_moved_reply(new_end_date: date) -> str:
    return (
        f"Ny sluttdato er endret til {format_date(new_end_date)}. Forlengelsen er registrert på "
        "nytt i SAP med den nye datoen og sendt til leder for godkjenning."
    )


def change_not_used(problems: list[str]) -> str:
    return (
        "Endringen kunne ikke brukes: "
        + " ".join(problems)
        + " Forlengelsen venter fortsatt på leders godkjenning med datoen vi registrerte først."
    )


def too_late_to_move_reply(new_end_date: date) -> str:
    return (
        f"Leder hadde allerede godkjent forlengelsen da ny sluttdato {format_date(new_end_date)} "
        "kom. Send et nytt skjema Forlengelse for den nye datoen."
    )
