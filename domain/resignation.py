"""Resignation ("Fratredelse ved oppsigelse", seed 001) and the form the employee sends in the DFØ
portal ("oppsigelse": from the employee via the service centre to the personnel approver, seed
000 "Skjemaflyt").

Rules:
- seed 001, "Fratredelse ved oppsigelse": the service centre files the resignation in the
  personnel file in ePhorte, sends the standard termination letter with the checklist to the
  employee with the manager in copy (filed too), and registers the final settlement in SAP, which
  is paid the month after the end date (`domain/final_settlement.py` carries that part);
- seed 001, same section: the routine is not for employees on a TOA contract, who tell their unit,
  which sends the case with the NTNU Hjelp form for hourly, monthly and assignment contracts;
- seed 001, same section: an employee who goes on in another position at NTNU sends no
  resignation to the service centre, but tells their manager;
- notice period (dfo-domain.md §3.1, §6 item 7; statsansatteloven § 22): one month when employed
  for at most a year (probation included), three months when employed for more than a year,
  counted date to date from the day the resignation was given. A shorter period may be agreed
  after the resignation, so an earlier last day is not refused: the case handler is told, and so
  is the employee, with the earliest last day the rule gives.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date

from pydantic import BaseModel

from domain import identifiers, processes
from domain.cases import CaseOutcome, CaseTimings
from domain.forms import Field, FormSpec, format_date, parse_date, text
from domain.payroll_calendar import PayrollCalendar

CATEGORY = processes.RESIGNATION.category


class SubmittedResignation(BaseModel):
    """The resignation as the DFØ portal holds it; the workflow reads it from there, since the
    portal's webhook only names the form."""

    form_id: str
    employee_number: str
    name: str
    email: str
    last_day: date  # the last working day the employee asks for
    submitted: date  # the day the resignation was given: the notice period runs from it
    text: str = ""
    manager: str | None = None  # the personnel approver the portal sent it to


class ResignationCase(BaseModel):
    """What the case says now: the portal's form, with the caller's corrections in the case."""

    name: str
    employee_number: str
    last_day: date
    manager: str | None = None


class ResignationCheck(BaseModel):
    form: ResignationCase | None = None
    problems: list[str] = []


# The labels of the TOPdesk case's request text; the caller corrects a field by answering with
# its label, as in every process's form (`domain/forms.py`).
FORM = FormSpec(
    {
        "name": Field("Navn", text, ("Navn på ansatt",), required=True),
        "employee_number": Field(
            "Ansattnummer", identifiers.employee_number, ("Ansattnr",), required=True
        ),
        "last_day": Field(
            "Siste arbeidsdag",
            parse_date,
            ("Sluttdato",),
            required=True,
            why_required="Oppgi siste arbeidsdag du ber om.",
        ),
        "manager": Field("Leder", text, ("Personalgodkjenner", "Nærmeste leder")),
    }
)


def request_text(resignation: SubmittedResignation) -> str:
    """The portal form as the TOPdesk case's request text: one `Label: value` line per field,
    so that the employee and the case handlers read it in NTNU Hjelp, and `FORM` reads it back."""
    lines = [
        "Skjema: Oppsigelse (Selvbetjeningsportalen)",
        f"Skjema-id: {resignation.form_id}",
        f"Navn: {resignation.name}",
        f"Ansattnummer: {resignation.employee_number}",
        f"E-post: {resignation.email}",
        f"Siste arbeidsdag: {format_date(resignation.last_day)}",
        f"Innsendt: {format_date(resignation.submitted)}",
    ]
    if resignation.manager:
        lines.append(f"Leder: {resignation.manager}")
    if resignation.text:
        lines.append(f"Tekst: {' '.join(resignation.text.split())}")
    return "\n".join(lines)


def brief_description(resignation: SubmittedResignation) -> str:
    return f"Oppsigelse fra {resignation.name}"


def check_form(texts: Iterable[str]) -> ResignationCheck:
    values, problems = FORM.read(texts)
    if problems:
        return ResignationCheck(problems=problems)
    return ResignationCheck(form=ResignationCase.model_validate(values))


# -- the notice period -------------------------------------------------------------------------


def notice_months(start_date: date, given: date) -> int:
    """The employee's notice period in months: three after more than a year in the job, else one
    (dfo-domain.md §3.1). Exactly one year is not more than a year."""
    return 3 if given > years_after(start_date, 1) else 1


def earliest_last_day(start_date: date, given: date) -> date:
    """The last day the notice rule allows: date to date from the day the resignation was given
    (15 March plus one month is 15 April), at the month's end when it has no such date."""
    return months_after(given, notice_months(start_date, given))


def short_notice(start_date: date, given: date, last_day: date) -> date | None:
    """The earliest last day the rule gives, when the requested `last_day` is earlier; else None.
    Not a refusal: a shorter notice may be agreed with the manager."""
    earliest = earliest_last_day(start_date, given)
    return earliest if last_day < earliest else None


def months_after(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def years_after(day: date, years: int) -> date:
    return months_after(day, 12 * years)  # 29 February plus a year is 28 February


# -- input and result --------------------------------------------------------------------------


class ResignationInput(BaseModel):
    form_id: str
    timings: CaseTimings = CaseTimings()
    calendar: PayrollCalendar = PayrollCalendar()


class ResignationResult(BaseModel):
    form_id: str
    outcome: CaseOutcome
    case_number: str | None = None
    end_date: date | None = None
    archived_as: str | None = None  # the resignation's journal post in the personnel file
    settlement_id: str | None = None
    paid_on: date | None = None


# -- texts for people --------------------------------------------------------------------------

RECEIVED_REPLY = (
    "Vi har mottatt oppsigelsen du sendte i Selvbetjeningsportalen, og behandler den nå. Du kan "
    "følge saken her i NTNU Hjelp. Du får svar her når oppsigelsen er behandlet, eller straks "
    "hvis vi trenger mer fra deg."
)

OTHER_POSITION_REPLY = (
    "Du fortsetter i en annen stilling ved NTNU. Da trenger ikke Tjenestesenteret å behandle en "
    "oppsigelse, og vi har ikke registrert noe. Gi beskjed til lederen din om overgangen. Saken "
    "er fullført."
)


def toa_refusal(unit: str | None, unit_email: str | None) -> str:
    """Seed 001: TOA contracts are ended through the unit and the NTNU Hjelp form for hourly,
    monthly and assignment contracts, not by this routine."""
    where = ""
    if unit and unit_email:
        where = f" ({unit}, {unit_email})"
    elif unit or unit_email:
        where = f" ({unit or unit_email})"
    return (
        "Du har en TOA-kontrakt (time-, måneds- eller oppdragskontrakt). Denne rutinen for "
        "oppsigelse gjelder ikke for TOA-kontrakter, så vi har ikke registrert noe. Gi beskjed "
        f"til enheten din{where}; enheten sender saken til Tjenestesenteret i NTNU Hjelp med "
        "skjemaet «Time-, måned- og oppdragskontrakt». Saken er fullført."
    )


def _months(count: int) -> str:
    return "én måned" if count == 1 else f"{count} måneder"


def short_notice_reply(months: int, given: date, earliest: date, requested: date) -> str:
    return (
        f"Merk: Oppsigelsestiden din er {_months(months)}, regnet fra {format_date(given)} da du "
        f"leverte oppsigelsen. Tidligste siste arbeidsdag er derfor {format_date(earliest)}, med "
        "mindre du har avtalt en kortere oppsigelsestid med lederen din. Vi behandler oppsigelsen "
        f"med siste arbeidsdag {format_date(requested)} slik du ba om; har du ikke avtalt det med "
        "lederen din, ta det opp med lederen nå."
    )


def short_notice_note(
    months: int, start_date: date, given: date, earliest: date, requested: date
) -> str:
    return (
        f"Kort oppsigelsestid: ansatt siden {format_date(start_date)}, oppsigelsestid "
        f"{_months(months)} fra {format_date(given)}, tidligste siste arbeidsdag "
        f"{format_date(earliest)}. Den ansatte ber om {format_date(requested)}. Sjekk med leder at "
        "kortere oppsigelsestid er avtalt; sluttoppgjøret registreres med ønsket dato."
    )


def archive_title(resignation: SubmittedResignation) -> str:
    return f"Oppsigelse fra {resignation.name} ({resignation.form_id})"


def archive_text(resignation: SubmittedResignation) -> str:
    """The resignation as filed: the form's fields and the employee's own words."""
    words = f"\n\n{resignation.text}" if resignation.text else ""
    return request_text(resignation) + words + "\n"


def withdrawn_after_filing_note(journal_post: str) -> str:
    """Seed 001 files the resignation first; a journal post cannot be taken back, so the case
    handler is told it stays. Whether a withdrawn resignation is accepted is the employer's call
    (dfo-domain.md §3.1)."""
    return (
        f"Saken er trukket før sluttoppgjøret. Oppsigelsen er arkivert i personalmappen "
        f"(journalpost {journal_post}) og blir liggende der, for en journalpost kan ikke tas "
        "tilbake. Om det godtas at oppsigelsen trekkes, avgjør arbeidsgiver; arkiver i så fall et "
        "notat om det."
    )
