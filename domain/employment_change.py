"""Other changes to an employment ("Andre endringer arbeidsforhold", seed 001): one TOPdesk form
for six kinds of change, each registered in SAP, and the checks before registering.

Rules, each from seed 001's section of the kind:
- "Endre kontering": the cost allocation may go back in time, but only to 1 January 2023; the
  controller re-posts any period before that;
- "Endre stillingsandel": documentation in the case or in ePhorte; a lasting reduction is a
  partial resignation (the employee resigns that part, filed in ePhorte) with a partial final
  settlement, paid the month after the last day in the larger share;
- "Endre organisasjonsenhet": temporary reassignment, acting appointment, internal leave or a
  permanent move of one employee, never several in a larger reorganisation; at most two
  employments in SAP (SAP refuses a third), and moving a whole position makes it a new main one;
- "Endre lønn": the agreement type matters (salary grade or annual salary; SAP refuses the
  wrong one); HTA 2.5.1 is not this routine; the salary letter goes to the employee with the
  manager in copy and is filed in the personnel file;
- "Endre arbeidsland": a period from and to, one country at a time (several periods go by the
  travel planner, "Reiseplanlegger");
- "Faste tillegg": the allowance and its amount.
Kontering, position share, unit and salary go to the manager for approval in SAP ("Skjema sendes
til leder for godkjenning"); work country and fixed allowances are registered directly.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from pydantic import BaseModel

from domain import processes
from domain.cases import CaseOutcome, CaseTimings
from domain.employment import Employment
from domain.employment_change_form import (
    ChangeCheck,
    ChangeKind,
    EmploymentChangeForm,
    PayScheme,
    UnitReason,
    check_form,
)
from domain.forms import format_date
from domain.payroll_calendar import PayrollCalendar

__all__ = ["ChangeCheck", "ChangeKind", "EmploymentChangeForm", "PayScheme", "UnitReason",
           "check_form"]  # fmt: skip

CATEGORY = processes.EMPLOYMENT_CHANGE.category

RECEIVED_REPLY = (
    "Vi har mottatt skjemaet og behandler saken nå. Du får svar her i saken når endringen er "
    "registrert i lønnssystemet, eller straks hvis vi trenger mer fra deg."
)


def employment_problems(form: EmploymentChangeForm, now: Employment) -> list[str]:
    """What stops this change of this employment, in words for the caller."""
    if form.kind is ChangeKind.POSITION_SHARE:
        assert form.share is not None
        if form.share == now.position_percentage:
            return [f"Ny stillingsandel er den samme som i dag ({now.position_percentage} %)."]
        if partial_resignation(form, now) and form.documentation == "vedlagt":
            return [
                "En varig reduksjon av stillingen er en delvis oppsigelse: den ansatte må si opp "
                "den delen av stillingen. Oppgi ePhorte-nummeret der oppsigelsen er lagret."
            ]
    if form.kind is ChangeKind.UNIT:
        if form.unit == now.unit:
            return [f"Den ansatte er allerede i organisasjonsenheten {form.unit}."]
        if (form.moved_share or now.position_percentage) > now.position_percentage:
            return [f"Andel som flyttes kan ikke være mer enn stillingen ({now.position_percentage}"
                    " %)."]  # fmt: skip
    return []


def partial_resignation(form: EmploymentChangeForm, now: Employment) -> bool:
    """Seed 001: a lasting reduction of the position is a partial resignation."""
    share = form.share
    return (
        form.kind is ChangeKind.POSITION_SHARE
        and bool(form.lasting)
        and (share is not None and share < now.position_percentage)
    )


def partial_settlement_run(form: EmploymentChangeForm, calendar: PayrollCalendar) -> date:
    """The partial final settlement is paid with the run of the month after the last day in the
    larger share (seed 001, as for a final settlement)."""
    return calendar.settlement_run_after(form.from_date - timedelta(days=1))


class EmploymentChangeInput(BaseModel):
    case_number: str
    timings: CaseTimings = CaseTimings()
    calendar: PayrollCalendar = PayrollCalendar()  # for a partial final settlement


class EmploymentChangeResult(BaseModel):
    case_number: str
    outcome: CaseOutcome
    kind: ChangeKind | None = None
    registration_id: str | None = None
    journal_post: str | None = None  # the salary letter in the personnel file


def moves_whole_position(form: EmploymentChangeForm, now: Employment) -> bool:
    """Seed 001: moving a whole position to another unit makes it a new main position in SAP;
    moving a part makes a second employment."""
    moved = form.moved_share or now.position_percentage
    return form.kind is ChangeKind.UNIT and moved >= now.position_percentage


def new_salary(form: EmploymentChangeForm) -> str:
    """The new salary as the letter and the reply name it, on the employee's agreement."""
    if form.pay_scheme is PayScheme.GRADE:
        return f"lønnstrinn {form.grade}"
    return f"årslønn {_kroner(form.annual_salary)}"


def _kroner(amount: object) -> str:
    return f"{amount:,.0f} kr".replace(",", " ")


def _period(form: EmploymentChangeForm) -> str:
    until = f" til {format_date(form.to_date)}" if form.to_date else ""
    return f"fra {format_date(form.from_date)}{until}"


def _what(form: EmploymentChangeForm) -> str:
    """The change in words: "ny stillingsandel 80 %"."""
    words: dict[ChangeKind, Callable[[], str]] = {
        ChangeKind.COST_ALLOCATION: lambda: f"ny kontering «{form.cost_allocation}»",
        ChangeKind.POSITION_SHARE: lambda: f"ny stillingsandel {form.share} %",
        ChangeKind.UNIT: lambda: f"ny organisasjonsenhet {form.unit} ({form.unit_reason})",
        ChangeKind.SALARY: lambda: f"ny lønn, {new_salary(form)},",
        ChangeKind.WORK_COUNTRY: lambda: f"arbeidsland {form.country}",
        ChangeKind.FIXED_ALLOWANCE: lambda: (
            f"fast tillegg «{form.allowance}» på {_kroner(form.amount)}"
        ),
    }
    return words[form.kind]()


class Registered(BaseModel):
    """What the reply on completion says besides the change itself."""

    settlement_run: date | None = None  # a partial final settlement's payroll run
    new_main_position: bool = False
    letter_filed: bool = False


def registered_reply(form: EmploymentChangeForm, done: Registered) -> str:
    approved = " og godkjent av leder" if form.kind.needs_approval else ""
    parts = [f"Endringen er registrert i SAP: {_what(form)} {_period(form)}{approved}."]
    if done.settlement_run is not None:
        parts.append(
            "Den varige reduksjonen er en delvis oppsigelse, og delvis sluttoppgjør utbetales "
            f"med lønnskjøringen {format_date(done.settlement_run)}."
        )
    if done.new_main_position:
        parts.append("Hele stillingen er flyttet, så den er ny hovedstilling i SAP.")
    if done.letter_filed:
        parts.append(
            "Brev om ny lønn er sendt til den ansatte med leder på kopi og lagret i personalmappen."
        )
    return " ".join([*parts, "Saken er fullført."])


NOTED_FOR_HANDLER = (
    "Innmelder har skrevet i saken mens endringen venter på leders godkjenning, uten å endre "
    "det som er registrert. Se svaret; andre endringer må føres manuelt i SAP."
)

REGISTERED_ANEW_REPLY = (
    "Skjemaet er endret mens leder behandlet registreringen. Den første registreringen er "
    "trukket i SAP, og endringen registreres på nytt og sendes til leder for godkjenning."
)


def change_not_used(problems: list[str]) -> str:
    return (
        "Endringen kunne ikke brukes: "
        + " ".join(problems)
        + " Registreringen venter fortsatt på leders godkjenning slik den ble sendt først."
    )
