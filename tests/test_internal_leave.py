"""Internal leave ("Intern permisjon", seed 001) on the time-skipping server, with the TOPdesk
simulator and the SAP and archive stubs: each wait state, the manager's silence, a withdrawal
and bad input; and the rules and routing it stands on."""

from __future__ import annotations

from datetime import date

from adapters.topdesk.models import Incident, Ref
from domain.cases import CaseOutcome, TopdeskStatus, WaitState
from domain.employment import Employment
from domain.internal_leave import (
    MANAGER_CATEGORY,
    UNCLEAR_ANSWER,
    WITHDRAWN_FOR_MANAGER,
    check_application,
    leave_problems,
    read_answer,
)
from tests import scenarios_internal_leave as s
from tests.harness import Harness
from workers.routing import ROUTES, route_of


async def test_granted_answers_the_employee_files_and_completes_both_cases(h: Harness):
    handle = await s.granted(h)
    result = await handle.result()
    assert result.outcome is CaseOutcome.DECIDED and result.granted is True
    number, manager_case = result.case_number, result.manager_case
    assert h.status(number) == TopdeskStatus.COMPLETED
    assert h.status(manager_case) == TopdeskStatus.COMPLETED
    advice = h.topdesk.get_incident(manager_case).request or ""
    assert "Kari Nordmann" in advice and "Innvilget" in advice
    assert "innvilget" in h.replies(number)[-2] and "Prosjektleder" in h.replies(number)[-2]
    assert result.journal_post in h.replies(number)[-1]
    text = h.archive.document_text(result.journal_post)
    assert "Leders vedtak: Innvilget" in text and "Tjenestesenterets råd" in text


async def test_refused_gives_the_employee_the_managers_reason(h: Harness):
    result = await (await s.refused(h)).result()
    assert result.granted is False
    assert "Vi har ikke vikar for perioden." in h.replies(result.case_number)[-2]


async def test_an_incomplete_application_waits_for_the_caller_and_names_each_field(h: Harness):
    result = await (await s.incomplete_then_granted(h)).result()
    asked = h.replies(result.case_number)[1]
    assert "Leders e-post mangler" in asked and "Permisjon til mangler" in asked
    assert result.granted is True


async def test_an_unclear_answer_is_asked_again_and_only_a_decision_counts(h: Harness):
    result = await (await s.unclear_then_refused(h)).result()
    assert h.replies(result.manager_case)[0] == UNCLEAR_ANSWER
    assert result.granted is False


async def test_a_silent_manager_is_reminded_the_case_escalates_and_polling_finds_the_answer(
    h: Harness,
):
    result = await (await s.manager_silent_then_found_by_polling(h)).result()
    assert "Påminnelse" in h.replies(result.manager_case)[0]
    assert any("Leder har ikke svart" in note for note in h.notes(result.case_number))
    assert result.granted is True


async def test_a_withdrawn_application_closes_the_managers_case_and_tells_the_handler(h: Harness):
    result = await (await s.withdrawn(h)).result()
    assert result.outcome is CaseOutcome.WITHDRAWN
    assert h.replies(result.manager_case)[-1] == WITHDRAWN_FOR_MANAGER
    assert h.status(result.manager_case) == TopdeskStatus.COMPLETED
    assert any(result.manager_case in note for note in h.notes(result.case_number))


async def test_a_toa_contract_is_refused_with_the_reason(h: Harness):
    result = await (await s.toa_refused(h)).result()
    assert result.outcome is CaseOutcome.REFUSED
    assert "ingen stilling å ta permisjon fra" in h.replies(result.case_number)[-1]
    assert h.topdesk.find_by_external_number(result.case_number) is None  # no manager bothered


async def test_a_leave_past_a_temporary_end_date_goes_back_to_the_caller(h: Harness):
    number = s.submit_leave(h, sluttdato=date(2027, 12, 31))
    handle = await s.start_leave(h, number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    assert "31.12.2027" in h.replies(number)[-1]
    await h.reply(handle, number, "Permisjon til: 31.12.2027")
    manager_case = await s.with_manager(h, handle)
    await s.manager_answers(h, handle, manager_case, "Innvilget")
    assert (await handle.result()).granted is True


def test_the_application_is_read_and_checked():
    check = check_application([s.APPLICATION])
    assert check.application is not None and check.application.manager_email.endswith("ntnu.no")
    backwards = s.APPLICATION.replace("Permisjon til: 29.02.2028", "Permisjon til: 01.01.2027")
    assert "før Permisjon fra" in check_application([backwards]).problems[0]
    bad_mail = s.application_without("Leders e-post", extra="Leders e-post: ola leder")
    assert "Leders e-post er ugyldig" in check_application([bad_mail]).problems[0]


def test_the_period_must_lie_within_the_employment():
    application = check_application([s.APPLICATION]).application
    assert application is not None
    permanent = Employment(employee_number=s.EMPLOYEE, start_date=date(2019, 8, 1), end_date=None)
    assert leave_problems(application, permanent) == []
    late_start = permanent.model_copy(update={"start_date": date(2027, 6, 1)})
    assert "tiltrer" in leave_problems(application, late_start)[0]


def test_only_a_grant_or_a_reasoned_refusal_is_a_decision():
    assert read_answer([]).decision is None and not read_answer([]).unclear
    assert read_answer(["Innvilget."]).decision == read_answer(["ja"]).decision
    assert read_answer(["Avslått"]).unclear  # a refusal needs its reason
    refusal = read_answer(["Innvilget", "Avslått: for kort varsel"]).decision
    assert refusal is not None and not refusal.granted and refusal.reason == "for kort varsel"
    assert read_answer(["Jeg må tenke på det"]).unclear


def test_the_managers_case_routes_to_the_applications_workflow():
    incident = Incident(
        id="x", number="I2703-0007", external_number="I2703-0001",
        category=Ref(name=MANAGER_CATEGORY),
    )  # fmt: skip
    route = route_of(incident)
    assert route is not None and route.run is None
    assert route.workflow_id(incident) == "internal-leave-I2703-0001"
    application = route_of(incident.model_copy(update={"category": Ref(name="Intern permisjon")}))
    assert application is ROUTES["Intern permisjon"]
    assert application.workflow_id(incident) == "internal-leave-I2703-0007"
