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

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel

from domain import identifiers
from domain.cases import CaseEnd, CaseTimings
from domain.forms import (
    InvalidAnswer,
    format_date,
    normalise_label,
    parse_date,
    parse_percentage,
    read_answers,
)


class PayBasis(StrEnum):
    MONTHLY = "månedslønn"
    HOURLY = "timelønn"
    ASSIGNMENT = "oppdrag"


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


# field → (label shown to the caller, other labels a form may use for it)
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "name": ("Navn", ("Navn på nyansatt", "Fullt navn")),
    "national_id": ("Fødselsnummer", ("D-nummer", "Fødselsnummer/D-nummer", "Fødselsnr")),
    "start_date": ("Startdato", ("Tiltredelsesdato",)),
    "end_date": ("Sluttdato", ()),
    "bank_account": ("Kontonummer", ("Bankkontonummer", "Kontonr")),
    "archive_case": ("ePhorte-nummer", ("ePhortenummer", "Saksnummer i ePhorte", "Saksnummer")),
    "pay_basis": ("Lønnsform", ()),
    "position_percentage": ("Stillingsprosent", ("Stillingsandel",)),
    "unit": ("Enhet", ("Organisasjonsenhet",)),
    "job_title": ("Stillingstittel", ("Stilling",)),
}
REQUIRED = ("name", "national_id", "start_date", "bank_account", "archive_case", "pay_basis")

LABELS: Mapping[str, str] = {
    normalise_label(label): field
    for field, (shown, aliases) in FIELDS.items()
    for label in (shown, *aliases)
}

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

MISSING_REASON = {
    "start_date": "Startdatoen må være avklart før saken sendes.",
    "bank_account": "Vi kan ikke registrere den nyansatte i lønnssystemet uten kontonummer.",
    "archive_case": "Oppgi saksnummeret der den signerte arbeidsavtalen er lagret i ePhorte.",
}

TOA_REFUSAL = (
    "Denne stillingen skal ikke meldes med skjemaet Nyansettelse. Timelønn og oppdrag "
    "bestilles gjennom Tilsetting og arbeidskontrakt (TOA), og stillinger over seks måneder "
    "i denne rutinen må være fastlønnet månedskontrakt. Send bestillingen i TOA, eller svar "
    "i saken med riktig lønnsform hvis den er feil, så ser vi på saken på nytt."
)


def _pay_basis(value: str) -> PayBasis:
    basis = _PAY_BASIS_WORDS.get(normalise_label(value))
    if basis is None:
        raise InvalidAnswer("må være Månedslønn, Timelønn eller Oppdrag")
    return basis


def _text(value: str) -> str:
    return value


def _parsers(today: date) -> dict[str, Callable[[str], object]]:
    return {
        "name": _text,
        "national_id": lambda value: identifiers.national_id(value, today),
        "start_date": parse_date,
        "end_date": parse_date,
        "bank_account": identifiers.bank_account,
        "archive_case": identifiers.archive_case_number,
        "pay_basis": _pay_basis,
        "position_percentage": parse_percentage,
        "unit": _text,
        "job_title": _text,
    }


def check_form(texts: Iterable[str], today: date) -> NewHireCheck:
    """Read the form from the case's texts and check it against the routine.

    Every problem is reported at once, each naming its field, so the caller can fix them all in
    one reply.
    """
    answers = read_answers(texts, LABELS)
    values: dict[str, object] = {}
    problems: list[str] = []
    parsers = _parsers(today)
    for field, (shown, _) in FIELDS.items():
        raw = answers.get(field)
        if raw is None:
            if field in REQUIRED:
                problems.append(f"{shown} mangler. {MISSING_REASON.get(field, '')}".strip())
            continue
        try:
            values[field] = parsers[field](raw)
        except (InvalidAnswer, identifiers.InvalidIdentifier) as error:
            problems.append(f"{shown} er ugyldig: {error}.")
    problems.extend(_date_order_problems(values))
    if problems:
        return NewHireCheck(problems=problems)
    form = NewHireForm.model_validate(values)
    if belongs_to_toa(form):
        return NewHireCheck(refusal=TOA_REFUSAL)
    return NewHireCheck(form=form)


def _date_order_problems(values: Mapping[str, object]) -> list[str]:
    start, end = values.get("start_date"), values.get("end_date")
    if isinstance(start, date) and isinstance(end, date) and end < start:
        return ["Sluttdato er ugyldig: den ligger før startdatoen."]
    return []


def belongs_to_toa(form: NewHireForm) -> bool:
    """Hourly pay and assignments go through TOA, never through this routine."""
    return form.pay_basis is not PayBasis.MONTHLY


class NewHireInput(BaseModel):
    case_number: str
    timings: CaseTimings = CaseTimings()


class NewHireOutcome(StrEnum):
    REGISTERED = "registered"
    REFUSED = CaseEnd.REFUSED.value
    CLOSED_WITHOUT_REPLY = CaseEnd.CLOSED_WITHOUT_REPLY.value
    NOT_APPLICABLE = CaseEnd.NOT_APPLICABLE.value
    WITHDRAWN = CaseEnd.WITHDRAWN.value


CATEGORY = "Nyansettelse"

RECEIVED_REPLY = (
    "Vi har mottatt skjemaet og behandler saken nå. Du får svar her i saken når den nyansatte er "
    "registrert i lønnssystemet og godkjent av leder, eller straks hvis vi trenger mer fra deg."
)


class NewHireResult(BaseModel):
    case_number: str
    outcome: NewHireOutcome
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


def payroll_refused_problem(reason: str) -> str:
    return f"SAP avviste registreringen: {reason}"


def manager_rejected_problem(reason: str | None) -> str:
    because = f": {reason.rstrip('.')}." if reason else "."
    return (
        f"Leder avviste registreringen i SAP{because} Avklar med leder og svar i saken med "
        "rettede opplysninger, så sender vi den til godkjenning på nytt."
    )
