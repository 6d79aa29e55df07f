"""The form "Andre endringer arbeidsforhold" (seed 001) read from the case: which of its six
kinds of change, the fields each kind needs, and what puts a form outside the routine. The rules
are in `domain/employment_change.py`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TypeVar

from pydantic import BaseModel

from domain import identifiers
from domain.forms import (
    Field,
    FormSpec,
    InvalidAnswer,
    format_date,
    normalise_label,
    parse_date,
    parse_percentage,
    text,
)

# Seed 001, "Endre kontering": the centre posts back in time from this day on.
EARLIEST_COST_ALLOCATION = date(2023, 1, 1)


class ChangeKind(StrEnum):
    COST_ALLOCATION = "kontering"
    POSITION_SHARE = "stillingsandel"
    UNIT = "organisasjonsenhet"
    SALARY = "lønn"
    WORK_COUNTRY = "arbeidsland"
    FIXED_ALLOWANCE = "faste tillegg"

    @property
    def needs_approval(self) -> bool:
        """Seed 001 sends these to the manager; work country and fixed allowances it does not."""
        return self not in (ChangeKind.WORK_COUNTRY, ChangeKind.FIXED_ALLOWANCE)


class UnitReason(StrEnum):
    REASSIGNMENT = "midlertidig omdisponering"
    ACTING = "konstituering"
    INTERNAL_LEAVE = "permisjon annen stilling internt"
    PERMANENT = "permanent flytting"
    REORGANISATION = "omorganisering"


class PayScheme(StrEnum):
    GRADE = "lønnstrinn"
    ANNUAL = "årslønn"


Choice = TypeVar("Choice", bound=StrEnum)


def _choice(kinds: type[Choice], words: dict[str, Choice], value: str) -> Choice:
    word = normalise_label(value)
    found = words.get(word) or next((k for k in kinds if k.value == word), None)
    if found is None:
        raise InvalidAnswer("må være " + ", ".join(k.value.capitalize() for k in kinds))
    return found


def _kind(value: str) -> ChangeKind:
    words = {"lonn": ChangeKind.SALARY, "endring i lønn": ChangeKind.SALARY,
             "fast tillegg": ChangeKind.FIXED_ALLOWANCE, "stillingsprosent":
             ChangeKind.POSITION_SHARE, "enhet": ChangeKind.UNIT}  # fmt: skip
    return _choice(ChangeKind, words, value)


def _unit_reason(value: str) -> UnitReason:
    words = {"omdisponering": UnitReason.REASSIGNMENT, "permanent": UnitReason.PERMANENT,
             "intern permisjon": UnitReason.INTERNAL_LEAVE,
             "omorganisering": UnitReason.REORGANISATION}  # fmt: skip
    return _choice(UnitReason, words, value)


def _pay_scheme(value: str) -> PayScheme:
    return _choice(PayScheme, {"lonnstrinn": PayScheme.GRADE, "arslonn": PayScheme.ANNUAL}, value)


def _lasting(value: str) -> bool:
    word = normalise_label(value)
    if word not in ("varig", "midlertidig"):
        raise InvalidAnswer("må være Varig eller Midlertidig")
    return word == "varig"


def _grade(value: str) -> int:
    digits = re.sub(r"^\s*(ltr|lønnstrinn)\.?\s*", "", value, flags=re.IGNORECASE)
    if not digits.isdigit() or not 1 <= int(digits) <= 101:
        raise InvalidAnswer("må være et lønnstrinn mellom 1 og 101")
    return int(digits)


def _amount(value: str) -> Decimal:
    cleaned = re.sub(r"(?i)kr\.?|,-|\s", "", value).replace(",", ".")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation as error:
        raise InvalidAnswer("må være et beløp i kroner, for eksempel 650 000") from error
    if not amount.is_finite() or amount <= 0:
        raise InvalidAnswer("må være et beløp i kroner over 0")
    return amount


def _count(value: str) -> int:
    if not value.strip().isdigit():
        raise InvalidAnswer("må være et helt tall")
    return int(value)


def _cost_allocation(value: str) -> str:
    if not re.search(r"\d", value):
        raise InvalidAnswer("må oppgi koststed og eventuelt prosjekt, med nummer")
    return value.strip()


def _country(value: str) -> str:
    """One country at a time (seed 001): SAP takes no share of a position in each of two."""
    if re.search(r"[,;/&%+\d]|\bog\b", value, flags=re.IGNORECASE):
        raise InvalidAnswer(
            "må være ett land; SAP kan ikke registrere en andel i ett land og en annen i et "
            "annet. Har den ansatte flere perioder i flere land, kan hen selv sende inn "
            "Reiseplanlegger i NTNU Hjelp"
        )
    if normalise_label(value) in ("norge", "norway", "no"):
        raise InvalidAnswer("er landet den ansatte skal arbeide i under utenlandsoppholdet")
    return value.strip()


def _documentation(value: str) -> str:
    """Attached to the case, or the ePhorte number where it is filed (seed 001)."""
    if normalise_label(value) in ("vedlagt", "vedlegg", "vedlagt i saken", "i saken"):
        return "vedlagt"
    return identifiers.archive_case_number(value)


_DATE_HELP = "Oppgi datoen endringen gjelder fra."
FORM = FormSpec(
    {
        "kind": Field("Endringstype", _kind, ("Type endring", "Endring"), required=True,
                      why_required="Oppgi hva som skal endres: Kontering, Stillingsandel, "
                      "Organisasjonsenhet, Lønn, Arbeidsland eller Faste tillegg."),
        "name": Field("Navn", text, ("Navn på ansatt",), required=True),
        "employee_number": Field(
            "Ansattnummer", identifiers.employee_number, ("Ansattnr",), required=True
        ),
        "from_date": Field("Fra dato", parse_date, ("Gjelder fra", "Fra og med"), required=True,
                           why_required=_DATE_HELP),
        "to_date": Field("Til dato", parse_date, ("Til og med", "Gjelder til")),
        "cost_allocation": Field("Ny kontering", _cost_allocation, ("Kontering",)),
        "share": Field("Ny stillingsandel", parse_percentage, ("Stillingsandel",)),
        "lasting": Field("Varighet", _lasting),
        "documentation": Field("Dokumentasjon", _documentation),
        "unit": Field("Ny organisasjonsenhet", text, ("Organisasjonsenhet", "Ny enhet")),
        "unit_reason": Field("Bruk", _unit_reason, ("Årsak",)),
        "employees": Field("Antall ansatte", _count),
        "moved_share": Field("Andel som flyttes", parse_percentage),
        "pay_scheme": Field("Lønnsavtale", _pay_scheme, ("Avtale",)),
        "grade": Field("Nytt lønnstrinn", _grade, ("Lønnstrinn",)),
        "annual_salary": Field("Ny årslønn", _amount, ("Årslønn",)),
        "basis": Field("Hjemmel", text, ("Forhandlingshjemmel",)),
        "manager": Field("Leder", text, ("Nærmeste leder", "Leders navn")),
        "country": Field("Arbeidsland", _country, ("Land",)),
        "allowance": Field("Tillegg", text, ("Type tillegg",)),
        "amount": Field("Beløp", _amount, ("Beløp per år",)),
    }
)  # fmt: skip

# What each kind must name besides the employee and the date; a temporary change also its end.
_NEEDS = {
    ChangeKind.COST_ALLOCATION: ("cost_allocation",),
    ChangeKind.POSITION_SHARE: ("share", "lasting", "documentation"),
    ChangeKind.UNIT: ("unit", "unit_reason"),
    ChangeKind.SALARY: ("pay_scheme", "basis", "manager"),
    ChangeKind.WORK_COUNTRY: ("country", "to_date"),
    ChangeKind.FIXED_ALLOWANCE: ("allowance", "amount"),
}
_PAY_FIELD = {PayScheme.GRADE: "grade", PayScheme.ANNUAL: "annual_salary"}


class EmploymentChangeForm(BaseModel):
    kind: ChangeKind
    name: str
    employee_number: str
    from_date: date
    to_date: date | None = None
    cost_allocation: str | None = None
    share: Decimal | None = None
    lasting: bool | None = None
    documentation: str | None = None
    unit: str | None = None
    unit_reason: UnitReason | None = None
    employees: int | None = None
    moved_share: Decimal | None = None
    pay_scheme: PayScheme | None = None
    grade: int | None = None
    annual_salary: Decimal | None = None
    basis: str | None = None
    manager: str | None = None
    country: str | None = None
    allowance: str | None = None
    amount: Decimal | None = None

    def change(self) -> EmploymentChangeForm:
        """What SAP is asked to register: the form without the names that do not go there, so
        that a changed name or manager is no new registration."""
        return self.model_copy(update={"name": "", "manager": None})

    @property
    def temporary(self) -> bool:
        if self.kind is ChangeKind.POSITION_SHARE:
            return self.lasting is False
        if self.kind is ChangeKind.UNIT:
            return self.unit_reason is not UnitReason.PERMANENT
        return False


class ChangeCheck(BaseModel):
    form: EmploymentChangeForm | None = None
    problems: list[str] = []
    refusal: str | None = None  # not this routine at all: the case is completed with the way


def check_form(texts: Iterable[str], today: date) -> ChangeCheck:
    values, problems = FORM.read(texts)
    kind = values.get("kind")
    if not isinstance(kind, ChangeKind):
        return ChangeCheck(problems=problems)
    if refusal := _refusal(values):
        return ChangeCheck(refusal=refusal)
    needed = [*_NEEDS[kind], *_pay_field(values)]
    if _temporary(kind, values):
        needed.append("to_date")
    problems += [_missing(name, kind) for name in needed if name not in values and
                 f"{FORM.fields[name].label} er ugyldig" not in " ".join(problems)]  # fmt: skip
    if problems:
        return ChangeCheck(problems=problems)
    form = EmploymentChangeForm.model_validate(values)
    return ChangeCheck(form=form, problems=_date_problems(form))


def _pay_field(values: dict[str, object]) -> list[str]:
    scheme = values.get("pay_scheme")
    return [_PAY_FIELD[scheme]] if isinstance(scheme, PayScheme) else []


def _temporary(kind: ChangeKind, values: dict[str, object]) -> bool:
    if kind is ChangeKind.POSITION_SHARE:
        return values.get("lasting") is False
    return kind is ChangeKind.UNIT and values.get("unit_reason") not in (None, UnitReason.PERMANENT)


def _missing(name: str, kind: ChangeKind) -> str:
    why = "en periode har en slutt" if name == "to_date" else f"endring av {kind.value}"
    return f"{FORM.fields[name].label} mangler. Det trengs ved {why}."


def _refusal(values: dict[str, object]) -> str | None:
    """What seed 001 puts outside this routine, with the way there."""
    if values.get("kind") is ChangeKind.UNIT and (
        values.get("unit_reason") is UnitReason.REORGANISATION
        or int(str(values.get("employees") or 1)) > 1
    ):
        return (
            "Endring av organisasjonsenhet i dette skjemaet gjelder én ansatt om gangen. Flytting "
            "av flere ansatte som del av en større omorganisering følger ikke denne rutinen; ta "
            "kontakt med Tjenestesenteret for lønn og HR for å avtale gjennomføringen. Saken er "
            "avsluttet uten endring i SAP."
        )
    basis = str(values.get("basis") or "")
    if values.get("kind") is ChangeKind.SALARY and re.search(r"2\.5\.1(?!\d)", basis):
        return (
            "Lønnsendringer etter HTA 2.5.1 inngår ikke i denne rutinen og gjennomføres som før; "
            "de skal ikke meldes i skjemaet Andre endringer arbeidsforhold. Saken er avsluttet "
            "uten endring i SAP."
        )
    return None


def _date_problems(form: EmploymentChangeForm) -> list[str]:
    problems = []
    if form.to_date is not None and form.to_date < form.from_date:
        problems.append(f"Til dato må være etter fra dato {format_date(form.from_date)}.")
    if form.kind is ChangeKind.COST_ALLOCATION and form.from_date < EARLIEST_COST_ALLOCATION:
        problems.append(
            f"Fra dato kan ikke være før {format_date(EARLIEST_COST_ALLOCATION)}: så langt tilbake "
            "konterer Tjenestesenteret i SAP. Perioden før må controller eller prosjektøkonom "
            "ompostere selv."
        )
    return problems
