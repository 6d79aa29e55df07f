"""Extension of a temporary contract (seed 001, "Forlengelse"): the domain rules, and the
workflow on the time-skipping test server against the TOPdesk simulator and the SAP stub."""

from __future__ import annotations

from datetime import date, timedelta

from temporalio.client import WorkflowHandle

from adapters.dfo.sap import Employee
from domain.cases import CaseOutcome, WaitState
from domain.extension import (
    Employment,
    ExtensionForm,
    check_form,
    extension_problems,
    late_decision_warning,
)
from domain.forms import format_date
from tests.harness import Harness

EMPLOYEE = "05001234"
FORM = f"""Skjema: Forlengelse
Navn: Kari Nordmann
Ansattnummer: {EMPLOYEE}
Ny sluttdato: 30.06.2028
ePhorte-nummer: 2026/23456"""


def employment(start: date, end: date | None) -> Employment:
    return Employment(employee_number=EMPLOYEE, start_date=start, end_date=end)


def form(new_end: date) -> ExtensionForm:
    return ExtensionForm(
        name="Kari", employee_number=EMPLOYEE, new_end_date=new_end, archive_case="2026/1"
    )


# -- rules -----------------------------------------------------------------------------------


def test_the_form_keeps_the_employee_numbers_leading_zero_and_names_what_is_missing():
    assert check_form([FORM]).form == ExtensionForm(
        name="Kari Nordmann",
        employee_number="05001234",
        new_end_date=date(2028, 6, 30),
        archive_case="2026/23456",
    )
    missing = check_form(["Navn: Kari\nAnsattnummer: 5001234"]).problems
    assert [p.split(" er ")[0].split(" mangler")[0] for p in missing] == [
        "Ansattnummer",
        "Ny sluttdato",
        "ePhorte-nummer",
    ]


def test_the_new_end_date_must_come_after_the_current_one():
    now = employment(date(2025, 1, 1), date(2027, 6, 30))
    assert extension_problems(form(date(2027, 7, 1)), now) == []
    [problem] = extension_problems(form(date(2027, 6, 30)), now)
    assert "30.06.2027" in problem and "Fratredelse" in problem


def test_a_permanent_position_has_nothing_to_extend():
    [problem] = extension_problems(form(date(2028, 1, 1)), employment(date(2020, 1, 1), None))
    assert "fast stilling" in problem


def test_a_late_decision_for_more_than_a_year_of_temporary_work_warns_the_unit():
    long = employment(date(2025, 1, 1), date(2027, 6, 30))
    assert late_decision_warning(long, date(2027, 5, 30)) is None  # exactly one month before
    warning = late_decision_warning(long, date(2027, 5, 31))
    assert warning is not None and "30.06.2027" in warning


def test_no_warning_for_a_year_or_less_or_for_a_permanent_position():
    short = employment(date(2026, 7, 1), date(2027, 7, 1))  # exactly one year
    assert late_decision_warning(short, date(2027, 6, 30)) is None
    assert late_decision_warning(employment(date(2020, 1, 1), None), date(2027, 1, 1)) is None


def test_one_month_before_the_end_of_march_is_the_end_of_february():
    long = employment(date(2025, 1, 1), date(2027, 3, 31))
    assert late_decision_warning(long, date(2027, 2, 28)) is None
    assert late_decision_warning(long, date(2027, 3, 1)) is not None


# -- the workflow ----------------------------------------------------------------------------


async def start(h: Harness, text: str = FORM) -> tuple[str, WorkflowHandle]:
    number = h.submit(text, "Forlengelse")  # the employee is added to SAP by each test
    return number, await h.start_extension(number)


async def test_an_extension_is_registered_approved_and_moves_the_end_date_in_sap(h: Harness):
    h.sap.add_employee(Employee(ansattnummer=EMPLOYEE, startdato=date(2025, 1, 1),
                                sluttdato=date(2027, 6, 30)))  # fmt: skip
    number, handle = await start(h)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    assert h.status(number) == "I arbeid"
    await h.decide(handle)
    result = await handle.result()

    assert result.outcome is CaseOutcome.REGISTERED
    assert result.new_end_date == date(2028, 6, 30)
    assert h.sap.employee(EMPLOYEE).sluttdato == date(2028, 6, 30)
    assert "30.06.2028" in h.replies(number)[-1] and h.topdesk.get_incident(number).completed


async def test_once_approved_the_employee_gets_the_confirmation_letter_filed_in_the_personnel_file(
    h: Harness,
):
    h.sap.add_employee(Employee(ansattnummer=EMPLOYEE, startdato=date(2025, 1, 1),
                                sluttdato=date(2027, 6, 30)))  # fmt: skip
    number, handle = await start(h)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    personnel_file = h.archive.find_or_create_personnel_file(EMPLOYEE, "-", 2026, "probe")
    assert h.archive.documents(personnel_file.saksnummer) == []  # nothing before the approval
    await h.decide(handle)
    await handle.result()

    [letter] = h.archive.documents(personnel_file.saksnummer)
    assert letter.mottaker and letter.kopi_til is None
    text = h.archive.document_text(letter.journalpostnummer)
    assert "ny sluttdato 30.06.2028" in text and number in text
    assert "bekreftelse" in h.replies(number)[-1]


async def test_an_end_date_not_after_the_current_goes_back_to_the_caller(h: Harness):
    h.sap.add_employee(Employee(ansattnummer=EMPLOYEE, startdato=date(2025, 1, 1),
                                sluttdato=date(2028, 12, 31)))  # fmt: skip
    number, handle = await start(h)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    assert "31.12.2028" in h.replies(number)[-1]
    assert h.sap.registrations() == []

    await h.reply(handle, number, "Ny sluttdato: 30.06.2029")
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    [registration] = h.sap.registrations()
    assert registration.sluttdato == date(2029, 6, 30)


async def test_an_unknown_employee_number_is_asked_of_the_caller(h: Harness):
    number, handle = await start(h)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)

    assert "05001234 finnes ikke i SAP" in h.replies(number)[-1]


async def test_a_late_decision_warns_the_unit_once_and_still_registers(h: Harness):
    today = (await h.env.get_current_time()).date()
    h.sap.add_employee(Employee(ansattnummer=EMPLOYEE, startdato=today - timedelta(days=800),
                                sluttdato=today + timedelta(days=10)))  # fmt: skip
    new_end = format_date(today + timedelta(days=400))  # after the current end, whatever today
    number, handle = await start(h, FORM.replace("30.06.2028", new_end))
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)

    warnings = [reply for reply in h.replies(number) if reply.startswith("Merk")]
    assert len(warnings) == 1
    assert len(h.sap.registrations()) == 1


async def test_another_category_is_not_an_extension(h: Harness):
    number = h.submit()  # a new-hire form
    handle = await h.start_extension(number)
    assert (await handle.result()).outcome is CaseOutcome.NOT_APPLICABLE
    assert h.topdesk.progress_trail(number) == []
