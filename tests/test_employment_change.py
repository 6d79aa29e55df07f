"""Other changes to an employment (seed 001, "Andre endringer arbeidsforhold"): the form's rules
per kind, the SAP stub's change forms, and the workflow on the time-skipping test server against
the TOPdesk simulator, the SAP stub and the archive."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from adapters.dfo.letters import render_letter
from adapters.dfo.sap import ApprovalState, Employee, PayrollRejected, SapStub
from adapters.dfo.sap_changes import Endring
from adapters.topdesk.models import NewIncident, Ref
from domain.cases import CaseOutcome, WaitState
from domain.employment import Employment
from domain.employment_change import (
    ChangeKind,
    check_form,
    employment_problems,
    partial_settlement_run,
)
from domain.letters import LetterFields, LetterKind
from domain.payroll_calendar import PayrollCalendar
from tests import scenarios_employment_change as s
from tests.eventually import eventually
from tests.harness import Harness
from tests.scenarios_employment_change import (
    COST_ALLOCATION,
    EMPLOYEE,
    FIXED_ALLOWANCE,
    LASTING_REDUCTION,
    SALARY,
    UNIT_MOVE,
    WORK_COUNTRY,
    change_form,
    start_change,
    submit_change,
)
from workflows.employment_change import EmploymentChangeWorkflow

TODAY = date(2027, 1, 10)
NOW = Employment(employee_number=EMPLOYEE, start_date=date(2020, 8, 1), end_date=None,
                 unit="IE-IKT")  # fmt: skip


def check(fields: dict[str, str], *without: str, **changed: str):  # type: ignore[no-untyped-def]
    return check_form([change_form(fields, *without, **changed)], TODAY)


def labels(problems: list[str]) -> list[str]:
    return [p.split(" mangler")[0].split(" er ugyldig")[0] for p in problems]


# -- the form, per kind ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "kind"),
    [(COST_ALLOCATION, ChangeKind.COST_ALLOCATION), (LASTING_REDUCTION, ChangeKind.POSITION_SHARE),
     (UNIT_MOVE, ChangeKind.UNIT), (SALARY, ChangeKind.SALARY),
     (WORK_COUNTRY, ChangeKind.WORK_COUNTRY), (FIXED_ALLOWANCE, ChangeKind.FIXED_ALLOWANCE)],
)  # fmt: skip
def test_each_kind_reads_from_its_complete_form(fields: dict[str, str], kind: ChangeKind):
    result = check(fields)
    assert result.problems == [] and result.refusal is None
    assert result.form is not None and result.form.kind is kind


@pytest.mark.parametrize(
    ("fields", "field", "label"),
    [(COST_ALLOCATION, "Ny kontering", "Ny kontering"),
     (LASTING_REDUCTION, "Dokumentasjon", "Dokumentasjon"),
     (UNIT_MOVE, "Til dato", "Til dato"),  # an acting appointment is temporary
     (SALARY, "Leder", "Leder"), (SALARY, "Nytt lønnstrinn", "Nytt lønnstrinn"),
     (WORK_COUNTRY, "Til dato", "Til dato"), (FIXED_ALLOWANCE, "Beløp", "Beløp")],
)  # fmt: skip
def test_each_kind_names_what_it_lacks(fields: dict[str, str], field: str, label: str):
    assert labels(check(fields, field).problems) == [label]


def test_a_form_without_its_kind_asks_for_it_and_lists_the_kinds():
    [problem] = check(COST_ALLOCATION, "Endringstype").problems
    assert "Kontering, Stillingsandel, Organisasjonsenhet, Lønn, Arbeidsland" in problem
    [invalid] = check(COST_ALLOCATION, Endringstype="Permisjon").problems
    assert invalid.startswith("Endringstype er ugyldig")


def test_cost_allocation_goes_back_in_time_but_not_before_2023():
    assert check(COST_ALLOCATION, Fra_dato="01.01.2023").problems == []
    [problem] = check(COST_ALLOCATION, Fra_dato="31.12.2022").problems
    assert "01.01.2023" in problem and "ompostere" in problem


def test_a_period_must_end_after_it_starts():
    [problem] = check(WORK_COUNTRY, Til_dato="01.02.2027").problems
    assert "Til dato må være etter" in problem


def test_work_country_is_one_country_at_a_time_and_not_norway():
    [several] = check(WORK_COUNTRY, Arbeidsland="Sverige og Danmark").problems
    assert "ett land" in several and "Reiseplanlegger" in several
    assert labels(check(WORK_COUNTRY, Arbeidsland="50 % Sverige").problems) == ["Arbeidsland"]
    assert labels(check(WORK_COUNTRY, Arbeidsland="Norge").problems) == ["Arbeidsland"]


def test_the_salary_follows_the_agreement_named():
    assert labels(check(SALARY, Lønnsavtale="Årslønn").problems) == ["Ny årslønn"]
    annual = check(SALARY, "Nytt lønnstrinn", Lønnsavtale="Årslønn", Ny_årslønn="650 000 kr")
    assert annual.form is not None and annual.form.annual_salary == Decimal(650000)
    assert labels(check(SALARY, Nytt_lønnstrinn="140").problems) == ["Nytt lønnstrinn"]


def test_hta_2_5_1_and_a_reorganisation_are_not_this_routine():
    assert "HTA 2.5.1" in (check(SALARY, Hjemmel="HTA 2.5.1").refusal or "")
    assert check(SALARY, Hjemmel="HTA 2.5.10").refusal is None
    assert "omorganisering" in (check(UNIT_MOVE, Bruk="Omorganisering").refusal or "")
    assert "omorganisering" in (check(UNIT_MOVE, Antall_ansatte="3").refusal or "")
    assert check(UNIT_MOVE, Antall_ansatte="1").refusal is None


def test_a_lasting_reduction_is_a_partial_resignation_filed_in_ephorte():
    form = check(LASTING_REDUCTION, Dokumentasjon="vedlagt").form
    assert form is not None
    [problem] = employment_problems(form, NOW)
    assert "delvis oppsigelse" in problem and "ePhorte" in problem
    temporary = check(LASTING_REDUCTION, Varighet="Midlertidig", Til_dato="31.12.2027",
                      Dokumentasjon="vedlagt").form  # fmt: skip
    assert temporary is not None and employment_problems(temporary, NOW) == []
    same = check(LASTING_REDUCTION, Ny_stillingsandel="100").form
    assert same is not None and "samme som i dag" in employment_problems(same, NOW)[0]


def test_the_partial_settlement_is_paid_the_month_after_the_last_day_in_the_larger_share():
    form = check(LASTING_REDUCTION).form  # from 01.03.2027: the last day is 28.02.2027
    assert form is not None
    assert partial_settlement_run(form, PayrollCalendar()) == date(2027, 3, 12)


def test_a_unit_change_names_another_unit_and_no_more_than_the_position():
    same = check(UNIT_MOVE, Ny_organisasjonsenhet="IE-IKT").form
    assert same is not None and "allerede" in employment_problems(same, NOW)[0]
    reduced = NOW.model_copy(update={"position_percentage": Decimal(40)})
    form = check(UNIT_MOVE).form
    assert form is not None and "mer enn stillingen" in employment_problems(form, reduced)[0]


# -- the SAP stub ----------------------------------------------------------------------------


def _endring(fields: dict[str, str], **changed: str) -> Endring:
    form = check(fields, **changed).form
    assert form is not None
    return Endring.of(form, None)


def test_sap_registers_a_change_once_per_key_and_refuses_a_third_employment(sap: SapStub):
    sap.add_employee(Employee(ansattnummer=EMPLOYEE, startdato=date(2020, 8, 1)))
    first = sap.register_employment_change(EMPLOYEE, _endring(UNIT_MOVE), "k1")
    assert sap.register_employment_change(EMPLOYEE, _endring(UNIT_MOVE), "k1") == first
    sap.decide(first.id, approved=True)
    assert sap.employee(EMPLOYEE).arbeidsforhold == 2
    with pytest.raises(PayrollRejected, match="to arbeidsforhold"):
        sap.register_employment_change(EMPLOYEE, _endring(UNIT_MOVE), "k2")
    whole = sap.register_employment_change(EMPLOYEE, _endring(UNIT_MOVE, Andel_som_flyttes="100"),
                                           "k3")  # fmt: skip
    sap.decide(whole.id, approved=True)
    assert sap.employee(EMPLOYEE).organisasjon == "IE-IDI"


def test_sap_refuses_a_salary_on_the_wrong_agreement(sap: SapStub):
    sap.add_employee(Employee(ansattnummer=EMPLOYEE, startdato=date(2020, 8, 1),
                              lonnsavtale="årslønn"))  # fmt: skip
    with pytest.raises(PayrollRejected, match="årslønn"):
        sap.register_employment_change(EMPLOYEE, _endring(SALARY), "k")


def test_sap_takes_work_country_and_allowances_without_the_manager(sap: SapStub):
    sap.add_employee(Employee(ansattnummer=EMPLOYEE, startdato=date(2020, 8, 1)))
    country = sap.register_employment_change(EMPLOYEE, _endring(WORK_COUNTRY), "k")
    assert country.status is ApprovalState.APPROVED and country.endring is not None
    assert country.endring.arbeidsland == "Sverige"
    share = sap.register_employment_change(EMPLOYEE, _endring(LASTING_REDUCTION), "k2")
    assert share.status is ApprovalState.PENDING


def test_the_salary_letter_goes_to_the_employee_with_the_manager_in_copy():
    letter = render_letter(
        LetterKind.SALARY,
        LetterFields(navn="Kari", ansattnummer=EMPLOYEE, dato=TODAY, saksnummer="I1",
                     leder="Ola Leder", fradato=date(2027, 3, 1), ny_lonn="lønnstrinn 62"),
    )  # fmt: skip
    assert letter.kopi_til == "Ola Leder" and "lønnstrinn 62" in letter.tekst


# -- the workflow: each kind ----------------------------------------------------------------


async def test_cost_allocation_back_in_time_is_approved_and_completed(h: Harness):
    handle = await s.cost_allocation_back_in_time(h)
    result = await handle.result()
    assert result.outcome is CaseOutcome.REGISTERED and result.kind is ChangeKind.COST_ALLOCATION
    [registration] = h.sap.registrations()
    assert registration.status is ApprovalState.APPROVED
    assert registration.gjelder_fra == date(2026, 9, 1)
    number = result.case_number
    assert "godkjent av leder" in h.replies(number)[-1] and h.status(number) == "Fullført"


async def test_a_lasting_reduction_sets_the_share_with_its_partial_settlement(h: Harness):
    handle = await s.lasting_reduction(h)
    number = (await handle.result()).case_number
    assert h.sap.employee(EMPLOYEE).stillingsprosent == Decimal(80)
    [registration] = h.sap.registrations()
    assert registration.endring is not None
    assert registration.endring.delvis_sluttoppgjor == date(2027, 3, 12)
    assert "delvis sluttoppgjør utbetales med lønnskjøringen 12.03.2027" in h.replies(number)[-1]


async def test_part_of_a_position_to_another_unit_is_a_second_employment(h: Harness):
    await s.unit_second_employment(h)
    assert h.sap.employee(EMPLOYEE).arbeidsforhold == 2


async def test_a_third_employment_goes_back_to_the_caller_and_a_whole_move_is_a_new_main_one(
    h: Harness,
):
    handle = await s.third_employment_then_whole_position(h)
    number = (await handle.result()).case_number
    assert any("to arbeidsforhold" in reply for reply in h.replies(number))
    assert h.sap.employee(EMPLOYEE).organisasjon == "IE-IDI"
    assert "ny hovedstilling" in h.replies(number)[-1]


async def test_a_salary_change_sends_the_letter_with_the_manager_in_copy_and_files_it(
    h: Harness,
):
    handle = await s.salary_with_letter(h)
    result = await handle.result()
    assert result.journal_post is not None
    personnel_file = h.archive.find_or_create_personnel_file(EMPLOYEE, "-", 2026, "probe")
    [letter] = h.archive.documents(personnel_file.saksnummer)
    assert letter.kopi_til == "Ola Leder"
    assert "lønnstrinn 62" in h.archive.document_text(letter.journalpostnummer)
    assert "Brev om ny lønn" in h.replies(result.case_number)[-1]


async def test_a_salary_on_the_wrong_agreement_is_asked_of_the_caller(h: Harness):
    number = submit_change(h, change_form(SALARY), lonnsavtale="årslønn")
    handle = await start_change(h, number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    assert "årslønn" in h.replies(number)[-1]
    await h.reply(handle, number, "Lønnsavtale: Årslønn\nNy årslønn: 700 000")
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)


@pytest.mark.parametrize("scenario", [s.work_country, s.fixed_allowance])
async def test_work_country_and_allowances_are_registered_without_the_manager(h: Harness,
                                                                              scenario):  # type: ignore[no-untyped-def]  # fmt: skip
    handle = await scenario(h)
    result = await handle.result()
    assert result.outcome is CaseOutcome.REGISTERED
    [registration] = h.sap.registrations()
    assert registration.status is ApprovalState.APPROVED
    assert "godkjent av leder" not in h.replies(result.case_number)[-1]


# -- the workflow: waits, refusals, withdrawal, faults --------------------------------------


async def test_what_is_missing_is_asked_and_the_reply_registered(h: Harness):
    handle = await s.missing_then_reply(h)
    number = (await handle.result()).case_number
    assert "Nytt lønnstrinn mangler" in h.replies(number)[1]


async def test_a_reorganisation_is_completed_with_the_way_there_and_nothing_in_sap(h: Harness):
    handle = await s.reorganisation_refused(h)
    result = await handle.result()
    assert result.outcome is CaseOutcome.REFUSED and h.sap.registrations() == []
    assert "omorganisering" in h.replies(result.case_number)[-1]


async def test_no_answer_closes_the_case_after_a_reminder(h: Harness):
    handle = await s.no_reply(h)
    result = await handle.result()
    assert result.outcome is CaseOutcome.CLOSED_WITHOUT_REPLY
    assert len(h.replies(result.case_number)) == 4  # received, asked, reminded, closed


async def test_a_changed_form_while_the_manager_decides_withdraws_and_registers_anew(
    h: Harness,
):
    handle = await s.changed_while_approving(h)
    first, second = h.sap.registrations()
    assert first.status is ApprovalState.WITHDRAWN and second.status is ApprovalState.APPROVED
    assert h.sap.employee(EMPLOYEE).stillingsprosent == Decimal(60)
    assert "registreres på nytt" in " ".join(h.replies((await handle.result()).case_number))


async def test_a_note_while_the_manager_decides_goes_to_the_handler(h: Harness):
    number = submit_change(h, change_form(COST_ALLOCATION))
    handle = await start_change(h, number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await h.reply(handle, number, "Haster dette?")
    await eventually(lambda: h.notes(number), "a note for the case handler")
    assert len(h.sap.registrations()) == 1


async def test_a_rejection_is_asked_of_the_caller_and_the_correction_approved(h: Harness):
    handle = await s.manager_rejects_then_approves(h)
    first, second = h.sap.registrations()
    assert first.status is ApprovalState.REJECTED and second.status is ApprovalState.APPROVED
    assert any("Feil prosjekt" in r for r in h.replies((await handle.result()).case_number))


async def test_a_case_withdrawn_while_the_manager_decides_withdraws_the_registration(
    h: Harness,
):
    handle = await s.withdrawn_while_approving(h)
    result = await handle.result()
    assert result.outcome is CaseOutcome.WITHDRAWN
    [registration] = h.sap.registrations()
    assert registration.status is ApprovalState.WITHDRAWN
    assert (
        h.archive.documents(
            h.archive.find_or_create_personnel_file(EMPLOYEE, "-", 2026, "probe").saksnummer
        )
        == []
    )  # no salary letter for a withdrawn change


async def test_a_manager_who_does_not_decide_escalates_the_case(h: Harness):
    handle = await s.escalated_then_approved(h)
    result = await handle.result()
    assert result.outcome is CaseOutcome.REGISTERED
    progress = await handle.query(EmploymentChangeWorkflow.progress)
    assert progress.escalation_level >= 1


async def test_sap_unavailable_is_retried_until_it_answers(h: Harness):
    h.sap.inject_fault("unavailable", times=2)
    handle = await s.work_country(h)
    assert (await handle.result()).outcome is CaseOutcome.REGISTERED
    assert len(h.sap.registrations()) == 1


async def test_an_unknown_employee_is_asked_of_the_caller(h: Harness):
    number = h.submit(change_form(COST_ALLOCATION), s.CATEGORY)
    handle = await start_change(h, number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    assert f"{EMPLOYEE} finnes ikke i SAP" in h.replies(number)[-1]


async def test_a_case_saksflyt_opened_to_a_unit_is_left_untouched(h: Harness):
    """The end-date watch tells units in this category; its cases are no forms."""
    incident = h.topdesk.create_incident(
        NewIncident(caller_lookup={"email": "hr@ntnu.no"}, brief_description="Sluttdatoer",
                    request="Til enheten", category=Ref(name=s.CATEGORY),
                    external_number="end-date-watch-2027-02/0123456789")
    )  # fmt: skip
    handle = await start_change(h, incident.number)
    assert (await handle.result()).outcome is CaseOutcome.NOT_APPLICABLE
    assert h.topdesk.progress_trail(incident.number) == []


async def test_another_category_is_not_an_employment_change(h: Harness):
    number = h.submit()  # a new-hire form
    handle = await start_change(h, number)
    assert (await handle.result()).outcome is CaseOutcome.NOT_APPLICABLE
