"""The new-hire form ("Nyansettelse") and the checks the service centre makes before registering.

Rules from seed 001, "Nyansettelse":
- the routine does not cover positions created through Tilsetting og arbeidskontrakt (TOA), which
  takes assignments, hourly pay and monthly pay that does not come through recruitment; a form
  sent as Nyansettelse comes through recruitment, so a monthly contract of any length is ours;
- positions of more than six months must be fixed-salary monthly contracts, so hourly pay and
  assignments never belong here;
- the start date must be settled before the unit sends the case;
- the service centre cannot register the new hire in the payroll system without a bank account;
- the unit sends the case with the ePhorte number of the signed contract in the personnel file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel

from domain import identifiers, processes
from domain.cases import CaseOutcome, CaseTimings
from domain.forms import (
    Field,
    FormSpec,
    InvalidAnswer,
    format_date,
    normalise_label,
    parse_date,
    parse_percentage,
    read_answers,
    text,
)


class PayBasis(StrEnum):
    MONTHLY = "månedslønn"
    HOURLY = "timelønn"
    ASSIGNMENT = "oppdrag"


# Seed 001: hourly pay and assignments go through TOA, never through this routine.
TOA_PAY_BASES = frozenset({PayBasis.HOURLY, PayBasis.ASSIGNMENT})


class NewHireForm(BaseModel):
    """A new-hire form whose every answer has passed the checks."""

    name: str
    national_id: str
    start_date: date
    end_date: date | None = None
    bank_account: str
    archive_case: str
    pay_basis: PayBasis
    position_percentage: Decimal = Decimal(100)
    unit: str | None = None
    job_title: str | None = None


class NewHireCheck(BaseModel):
    """The verdict on a form: a usable form, things the caller must fix, or a refusal."""

    form: NewHireForm | None = None
    problems: list[str] = []
    refusal: str | None = None


TOA_REFUSAL = (
    "Timelønn og oppdrag meldes ikke med skjemaet Nyansettelse; den rutinen gjelder ikke "
    "stillinger som opprettes gjennom Tilsetting og arbeidskontrakt (TOA). Den som har rollen "
    "behovshaver kontrakt ved enheten, bestiller kontrakten i TOA, og Tjenestesenteret oppretter "
    "den i Selvbetjeningsportalen. Gjelder saken en fastlønnet månedskontrakt fra rekruttering, "
    "send skjemaet Nyansettelse på nytt med Lønnsform: Månedslønn."
)


_PAY_BASIS_WORDS = {
    "fastlønn": PayBasis.MONTHLY,
    "fast lønn": PayBasis.MONTHLY,
    "månedslønn": PayBasis.MONTHLY,
    "fastlønnet månedskontrakt": PayBasis.MONTHLY,
    "timelønn": PayBasis.HOURLY,
    "time": PayBasis.HOURLY,
    "oppdrag": PayBasis.ASSIGNMENT,
    "honorar": PayBasis.ASSIGNMENT,
}


def _pay_basis(value: str) -> PayBasis:
    basis = _PAY_BASIS_WORDS.get(normalise_label(value))
    if basis is None:
        raise InvalidAnswer("må være Månedslønn, Timelønn eller Oppdrag")
    return basis


def form_spec(today: date) -> FormSpec:
    """The form *Nyansettelse*; `today` is the day a fødselsnummer's birth date is checked on."""
    return FormSpec(
        {
            "name": Field("Navn", text, ("Navn på nyansatt", "Fullt navn"), required=True),
            "national_id": Field(
                "Fødselsnummer",
                lambda value: identifiers.national_id(value, today),
                ("D-nummer", "Fødselsnummer/D-nummer", "Fødselsnr"),
                required=True,
            ),
            "start_date": Field(
                "Startdato",
                parse_date,
                ("Tiltredelsesdato",),
                required=True,
                why_required="Startdatoen må være avklart før saken sendes.",
            ),
            "end_date": Field("Sluttdato", parse_date),
            "bank_account": Field(
                "Kontonummer",
                identifiers.bank_account,
                ("Bankkontonummer", "Kontonr"),
                required=True,
                why_required="Vi kan ikke registrere den nyansatte i lønnssystemet uten "
                "kontonummer.",
            ),
            "archive_case": Field(
                "ePhorte-nummer",
                identifiers.archive_case_number,
                ("ePhortenummer", "Saksnummer i ePhorte", "Saksnummer"),
                required=True,
                why_required="Oppgi saksnummeret der den signerte arbeidsavtalen er lagret i "
                "ePhorte.",
            ),
            "pay_basis": Field("Lønnsform", _pay_basis, required=True),
            "position_percentage": Field("Stillingsprosent", parse_percentage, ("Stillingsandel",)),
            "unit": Field("Enhet", text, ("Organisasjonsenhet",)),
            "job_title": Field("Stillingstittel", text, ("Stilling",)),
        }
    )


def label(field: str) -> str:
    """The label the caller knows a field by."""
    return form_spec(date.min).fields[field].label


def form_unit(texts: Iterable[str]) -> str | None:
    """The unit the form names, read even when the form fails its checks: an incomplete or
    refused case is exactly one its unit must act on, so visibility should show the unit."""
    return read_answers(texts, form_spec(date.min).labels).get("unit")


def check_form(texts: Iterable[str], today: date) -> NewHireCheck:
    """Read the form from the case's texts and check it against the routine.

    Hourly pay and assignments are refused before anything else is checked: the routine does
    not apply to them at all, so asking the caller to complete the form first would waste a
    round trip and point the wrong way.
    """
    texts = list(texts)
    if _pay_basis_given(texts) in TOA_PAY_BASES:
        return NewHireCheck(refusal=TOA_REFUSAL)
    values, problems = form_spec(today).read(texts)
    problems.extend(_date_order_problems(values))
    if problems:
        return NewHireCheck(problems=problems)
    return NewHireCheck(form=NewHireForm.model_validate(values))


def _pay_basis_given(texts: Iterable[str]) -> PayBasis | None:
    """The pay basis the form names, if it names a known one; the other answers unread."""
    raw = read_answers(texts, form_spec(date.min).labels).get("pay_basis")
    if raw is None:
        return None
    try:
        return _pay_basis(raw)
    except InvalidAnswer:
        return None  # the full read reports it, naming the choices


def _date_order_problems(values: Mapping[str, object]) -> list[str]:
    start, end = values.get("start_date"), values.get("end_date")
    if isinstance(start, date) and isinstance(end, date) and end < start:
        return ["Sluttdato er ugyldig: den ligger før startdatoen."]
    return []


class NewHireInput(BaseModel):
    case_number: str
    timings: CaseTimings = CaseTimings()


CATEGORY = processes.NEW_HIRE.category

RECEIVED_REPLY = (
    "Vi har mottatt skjemaet og behandler saken nå. Du får svar her i saken når den nyansatte er "
    "registrert i lønnssystemet og godkjent av leder, eller straks hvis vi trenger mer fra deg."
)


class NewHireResult(BaseModel):
    case_number: str
    outcome: CaseOutcome
    registration_id: str | None = None
    employee_number: str | None = None


def registered_reply(start_date: date, employee_number: str) -> str:
    return (
        f"Den nyansatte er registrert i SAP med startdato {format_date(start_date)} og godkjent "
        f"av leder. Ansattnummer: {employee_number}. Saken er fullført."
    )


def start_date_moved_reply(start_date: date) -> str:
    return (
        f"Startdatoen er endret til {format_date(start_date)} i SAP. "
        "Endringen er sendt til leder for ny godkjenning."
    )
