"""Retirement ("Pensjon", seed 001): the employee's form and the rules before and around the
pension message to Statens pensjonskasse (SPK).

Rules:
- seed 001, "Pensjon": the employee sends the form in NTNU Hjelp; the service centre registers the
  pension message to SPK, sends the standard pension letter to the employee with the manager in
  copy, files letter, SPK message and the confirmation from NTNU Hjelp in the personnel file, and
  registers the change of position percentage (partial pension) or the final settlement (full
  pension) in SAP;
- dfo-domain.md §3.4: a pension starts on the first of a month, so "Fra dato" must be a first;
- dfo-domain.md §3.4: SPK must have the message at least two months before the pension date to
  guarantee payment from that date, and takes it at the earliest four months before. Later than
  two months is sent anyway, with a warning to the caller and a note for the case handler; earlier
  than four months waits "På vent" until the day four months before (seed 000: why, and until
  when). §6 item 9 suggests planning for three months (an older SPH rule); SPK's current page says
  two, and that is what the warning uses;
- seed 001, "Pensjon" (and §3.4): partial pension means resigning part of the position, so the new
  position percentage must be lower than today's; dfo-domain.md §3.4: partial (old) AFP needs a
  reduction of at least ten percentage points.

Why "Ny stillingsprosent" is asked, not derived from the uttaksgrad: the two are not tied to each
other in general. Alderspensjon from SPK for those born 1963 or later is taken in grades
(20/40/50/60/80/100 %) and may be combined with work without any reduction (dfo-domain.md §3.6),
while partial AFP and the older alderspensjon hang on how much of the position is resigned, with
thresholds of their own (§3.4). Neither "position * (100 - uttaksgrad) / 100" nor
"100 - uttaksgrad" is a rule SPK or seed 001 states; either would register in SAP a percentage the
employee and the manager never agreed to. So the employee states it, and it is checked against
today's percentage in SAP.

Not checked (dfo-domain.md §3.5, §3.6): the age limit and the earliest pension age, since the form
and SAP's employment carry no birth date; the grades SPK allows, since they depend on the year of
birth.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel

from domain import identifiers
from domain.cases import CaseOutcome, CaseTimings
from domain.employment import Employment
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
from domain.payroll_calendar import PayrollCalendar

# dfo-domain.md §3.4: the window in which SPK takes a pension message, in months before the date.
EARLIEST_MONTHS_BEFORE = 4
ON_TIME_MONTHS_BEFORE = 2
# dfo-domain.md §3.4: partial (old) AFP reduces the position by at least ten percentage points.
AFP_MINIMUM_REDUCTION = Decimal(10)
FULL_PENSION = 100


class PensionKind(StrEnum):
    """What the employee retires on; the values are SPK's message types."""

    RETIREMENT = "alderspensjon"
    AFP = "afp"


class PensionType(StrEnum):
    """What the message is about. SPK is told of a death too, so that survivors' pension can be
    assessed (dfo-domain.md §3.4)."""

    RETIREMENT = "alderspensjon"
    AFP = "afp"
    DISABILITY = "uforepensjon"
    DEATH = "dodsfall"


_KIND_WORDS = {
    normalise_label(word): kind
    for kind, words in {
        # TOPdesk's subcategories (Delvis alderspensjon, Delvis AFP) name the kind too; whether
        # it is partial is the uttaksgrad's business.
        PensionKind.RETIREMENT: ("alderspensjon", "delvis alderspensjon", "hel alderspensjon"),
        PensionKind.AFP: ("afp", "delvis afp", "hel afp", "avtalefestet pensjon"),
    }.items()
    for word in words
}


def _kind(value: str) -> PensionKind:
    kind = _KIND_WORDS.get(normalise_label(value))
    if kind is None:
        raise InvalidAnswer("må være Alderspensjon eller AFP")
    return kind


def _uttaksgrad(value: str) -> int:
    """The share of the pension taken out, a whole percentage (SPK's message takes no fraction)."""
    percentage = parse_percentage(value)
    if percentage != percentage.to_integral_value():
        raise InvalidAnswer("må være et helt tall mellom 1 og 100")
    return int(percentage)


def _first_of_month(value: str) -> date:
    """dfo-domain.md §3.4: SPK pays a pension from the first of a month."""
    day = parse_date(value)
    if day.day != 1:
        following = months_before(day.replace(day=1), -1)
        raise InvalidAnswer(
            "må være den første i en måned, fordi pensjonen utbetales fra den første i måneden "
            f"(for eksempel {format_date(following)})"
        )
    return day


class PensionForm(BaseModel):
    """A pension form whose every answer has passed the checks; `new_position` is set for a
    partial pension only."""

    name: str
    employee_number: str
    kind: PensionKind
    percentage: int
    from_date: date
    manager: str
    new_position: Decimal | None = None

    @property
    def full(self) -> bool:
        return self.percentage >= FULL_PENSION

    def plan(self) -> tuple[object, ...]:
        """What the pension message and the registration in SAP are made of: a change in any of
        these is a new plan (the name and the manager only change the letter's addressees)."""
        return (
            self.employee_number,
            self.kind,
            self.percentage,
            self.from_date,
            self.new_position,
        )

    def message(self) -> tuple[object, ...]:
        """What the SPK message says: a change here withdraws the message sent and sends anew."""
        return (self.employee_number, self.kind, self.percentage, self.from_date)


class PensionCheck(BaseModel):
    form: PensionForm | None = None
    problems: list[str] = []


FORM = FormSpec(
    {
        "name": Field("Navn", text, ("Navn på ansatt",), required=True),
        "employee_number": Field(
            "Ansattnummer", identifiers.employee_number, ("Ansattnr",), required=True
        ),
        "kind": Field(
            "Pensjonstype", _kind, ("Type pensjon",), required=True,
            why_required="Oppgi Alderspensjon eller AFP.",
        ),
        "percentage": Field(
            "Uttaksgrad", _uttaksgrad, ("Uttaksgrad i prosent", "Pensjonsgrad"), required=True,
            why_required="Oppgi hvor mange prosent pensjon du tar ut; 100 er hel pensjon.",
        ),
        "from_date": Field(
            "Fra dato", _first_of_month, ("Pensjonsdato", "Fra og med", "Fradato"), required=True,
            why_required="Oppgi datoen pensjonen skal starte, den første i en måned.",
        ),
        "manager": Field(
            "Leder", text, ("Nærmeste leder", "Leders navn"), required=True,
            why_required="Lederen din får pensjonsbrevet i kopi.",
        ),
        "new_position": Field("Ny stillingsprosent", parse_percentage, ("Ny stillingsandel",)),
    }
)  # fmt: skip

NEW_POSITION_MISSING = (
    "Ny stillingsprosent mangler. Ved delvis pensjon sier du opp en del av stillingen din; oppgi "
    "stillingsprosenten du skal ha fra pensjonen starter."
)


def check_form(texts: Iterable[str], today: date) -> PensionCheck:
    """Read the form from the case's texts; `today` is the day a pension date must not precede."""
    values, problems = FORM.read(texts)
    from_date = values.get("from_date")
    if isinstance(from_date, date) and from_date < today:
        problems.append(
            f"Fra dato er ugyldig: {format_date(from_date)} har allerede passert. Oppgi datoen "
            "pensjonen skal starte."
        )
    percentage = values.get("percentage")
    if isinstance(percentage, int) and percentage < FULL_PENSION:
        if "new_position" not in values:
            problems.append(NEW_POSITION_MISSING)
    else:
        values.pop("new_position", None)  # full pension ends the position: nothing to register
    if problems:
        return PensionCheck(problems=problems)
    return PensionCheck(form=PensionForm.model_validate(values))


def employment_problems(form: PensionForm, employment: Employment) -> list[str]:
    """What stops this pension for this employment, in words for the caller."""
    if form.full or form.new_position is None:
        return []
    current = employment.position_percentage
    if form.new_position >= current:
        return [
            f"Ny stillingsprosent er ugyldig: {form.new_position} % må være lavere enn "
            f"stillingsprosenten du har i dag ({current} %), fordi du ved delvis pensjon sier opp "
            "en del av stillingen."
        ]
    if form.kind is PensionKind.AFP and current - form.new_position < AFP_MINIMUM_REDUCTION:
        return [
            "Ny stillingsprosent er ugyldig: ved delvis AFP må stillingen reduseres med minst "
            f"{AFP_MINIMUM_REDUCTION} prosentpoeng, altså til høyst "
            f"{current - AFP_MINIMUM_REDUCTION} % (i dag {current} %)."
        ]
    return []


def months_before(day: date, months: int) -> date:
    """The same day `months` earlier, the last of the month where that day does not exist."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def spk_opens(from_date: date) -> date:
    """The first day SPK takes the message: four months before the pension date (§3.4)."""
    return months_before(from_date, EARLIEST_MONTHS_BEFORE)


def spk_on_time_by(from_date: date) -> date:
    """The last day a message guarantees payment from the pension date: two months before."""
    return months_before(from_date, ON_TIME_MONTHS_BEFORE)


def is_late(from_date: date, today: date) -> bool:
    return today > spk_on_time_by(from_date)


def last_working_day(form: PensionForm) -> date:
    """A full pension ends the position the day before the pension starts."""
    return form.from_date - timedelta(days=1)


class PensionInput(BaseModel):
    case_number: str
    timings: CaseTimings = CaseTimings()
    calendar: PayrollCalendar = PayrollCalendar()  # for the final settlement of a full pension


class PensionResult(BaseModel):
    case_number: str
    outcome: CaseOutcome
    receipt_id: str | None = None  # SPK's receipt for the message that stands
    from_date: date | None = None
    registration_id: str | None = None  # the position change in SAP (partial pension)
    settlement_id: str | None = None  # the final settlement in SAP (full pension)
    archive_case: str | None = None  # the personnel file in ePhorte
    journal_posts: list[str] = []


class OperatorOverride(BaseModel):
    """A case handler sends the pension message at once, before the four months; `event_id`
    makes a repeated signal a no-op, `operator` and `reason` go into the case's note."""

    event_id: str
    operator: str
    reason: str
