"""Resignation (seed 001, "Fratredelse ved oppsigelse"): the notice rule at its edges, the DFØ
portal's event at the intake, and the workflow on the time-skipping test server, from the portal's
form to the settlement paid the month after the last day."""

from __future__ import annotations

import asyncio
import socket
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from activities.topdesk import NewCase, TopdeskActivities
from adapters.dfo.archive import DocumentType
from adapters.dfo.portal import PortalStub
from domain.cases import OSLO, CaseOutcome, WaitState
from domain.forms import format_date
from domain.resignation import (
    SubmittedResignation,
    check_form,
    earliest_last_day,
    notice_months,
    request_text,
    short_notice,
    toa_refusal,
)
from tests.harness import Harness
from tests.intake_server import served_here
from tests.scenarios_resignation import (
    EMPLOYEE,
    Notice,
    case_of,
    close_in_topdesk,
    continues_elsewhere,
    employee,
    months_later,
    on_hold,
    paid,
    portal,
    settlement_of,
    start,
    submit,
    submit_with,
    toa_refused,
    unknown_employee_answered,
    withdrawn_before_settlement,
)
from tests.test_intake import HEADER, SECRET, post, serve
from workers.intake import create_app
from workers.quarantine import Quarantine
from workers.settings import Settings
from workers.worker import seal_of
from workflows.resignation import ResignationWorkflow

# -- the notice rule (dfo-domain.md §3.1) ------------------------------------------------------


def test_notice_is_one_month_after_exactly_one_year_in_the_job():
    assert notice_months(date(2025, 3, 15), date(2026, 3, 15)) == 1


def test_notice_is_three_months_after_more_than_a_year_in_the_job():
    assert notice_months(date(2025, 3, 15), date(2026, 3, 16)) == 3


def test_notice_is_one_month_in_the_first_year_and_in_probation():
    assert notice_months(date(2026, 9, 1), date(2026, 10, 1)) == 1


def test_notice_runs_date_to_date_from_the_day_the_resignation_was_given():
    assert earliest_last_day(date(2026, 1, 1), date(2026, 3, 15)) == date(2026, 4, 15)
    assert earliest_last_day(date(2020, 1, 1), date(2026, 3, 15)) == date(2026, 6, 15)


def test_notice_ends_on_the_months_last_day_when_it_has_no_such_date():
    assert earliest_last_day(date(2026, 1, 1), date(2026, 1, 31)) == date(2026, 2, 28)
    assert earliest_last_day(date(2027, 6, 1), date(2028, 1, 31)) == date(2028, 2, 29)
    assert earliest_last_day(date(2020, 1, 1), date(2026, 11, 30)) == date(2027, 2, 28)


def test_a_last_day_on_the_earliest_day_is_within_notice_and_a_day_earlier_is_short():
    start_date, given = date(2020, 1, 1), date(2026, 11, 30)
    assert short_notice(start_date, given, date(2027, 2, 28)) is None
    assert short_notice(start_date, given, date(2027, 3, 31)) is None
    assert short_notice(start_date, given, date(2027, 2, 27)) == date(2027, 2, 28)


def test_a_year_from_29_february_ends_on_28_february():
    assert notice_months(date(2024, 2, 29), date(2025, 2, 28)) == 1
    assert notice_months(date(2024, 2, 29), date(2025, 3, 1)) == 3


def test_the_portal_form_reads_back_from_the_case_text_and_a_reply_corrects_it():
    resignation = SubmittedResignation(
        form_id="OPP-000001",
        employee_number=EMPLOYEE,
        name="Kari Nordmann",
        email="kari@ntnu.no",
        last_day=date(2027, 2, 28),
        submitted=date(2026, 11, 30),
        text="Jeg slutter.\nHilsen Kari",
        manager="Ola Leder",
    )
    text = request_text(resignation)
    assert "Siste arbeidsdag: 28.02.2027" in text and "Innsendt: 30.11.2026" in text

    form = check_form([text, "Ansattnummer: 05004321"]).form
    assert form is not None
    assert (form.employee_number, form.last_day, form.manager) == (
        "05004321",
        date(2027, 2, 28),
        "Ola Leder",
    )


def test_the_toa_refusal_names_the_unit_and_the_form_to_use():
    refusal = toa_refusal("IDI", "hr-idi@ntnu.no")
    assert "IDI, hr-idi@ntnu.no" in refusal
    assert "«Time-, måned- og oppdragskontrakt»" in refusal and "NTNU Hjelp" in refusal


# -- the portal's event at the intake ----------------------------------------------------------


async def test_a_repeated_resignation_event_starts_exactly_one_workflow(h: Harness):
    employee(h, toa=True)  # a short path, so that the case also finishes
    form_id = await submit(h)
    body = {"event": "resignation_submitted", "form_id": form_id}

    async with serve(h.client, h.task_queue) as intake:
        answers = [await post(intake, "/webhooks/dfo", body) for _ in range(3)]
        handle = h.client.get_workflow_handle(f"resignation-{form_id}")
        h.started.append(handle)
        assert (await handle.result())["outcome"] == "refused"
        late = await post(intake, "/webhooks/dfo", body)

    assert [a.status_code for a in answers] == [202, 202, 202]
    assert [a.json()["action"] for a in [*answers, late]] == [
        "started",
        "already_started",
        "already_started",
        "case_finished",
    ]
    assert {a.json()["workflow_id"] for a in answers} == {f"resignation-{form_id}"}
    history = await handle.fetch_history()
    starts = [
        e for e in history.events if e.HasField("workflow_execution_started_event_attributes")
    ]
    assert len(starts) == 1
    assert len(h.topdesk.list_incidents(f"externalNumber=={form_id}")) == 1


@pytest.mark.parametrize(
    ("body", "field", "error"),
    [
        ({"event": "resignation_submitted"}, "form_id", "missing"),
        (
            {"event": "resignation_submitted", "form_id": "../x"},
            "form_id",
            "string_pattern_mismatch",
        ),
        ({"event": "resignation_submitted", "form_id": 1}, "form_id", "string_type"),
        (
            {"event": "resignation_submitted", "form_id": "O" * 41},
            "form_id",
            "string_pattern_mismatch",
        ),
        ({"event": "resigned", "form_id": "OPP-000001"}, "event", "literal_error"),
        ({"form_id": "OPP-000001"}, "event", "missing"),
    ],
)
async def test_a_malformed_resignation_event_is_refused_naming_the_field(
    body: dict[str, Any], field: str, error: str
):
    async with serve(None, "unused") as offline:
        response = await post(offline, "/webhooks/dfo", body)

    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert (problem["loc"], problem["type"]) == (["body", field], error)


async def test_a_resignation_submitted_in_the_portal_reaches_the_intake_and_starts_its_case(
    h: Harness,
):
    """The whole way over HTTP on loopback: portal stub → intake → Temporal → the workflow."""
    employee(h, annen_stilling=True)
    port = _free_port()
    settings = Settings(
        task_queue=h.task_queue, webhook_secret=SecretStr(SECRET), webhook_secret_header=HEADER
    )
    quarantine = Quarantine(Path(tempfile.mkdtemp()) / "quarantine.db")

    async def connect() -> Any:
        return h.client

    app = create_app(settings, connect, h.topdesk, quarantine)
    async with served_here(app, port) as intake:
        the_portal = PortalStub(  # the worker's portal, through its file, now with the intake
            portal(h).store.path,
            intake_url=f"{intake}/webhooks/dfo",
            secret=SECRET,
            secret_header=HEADER,
        )
        h.portal = the_portal
        # The portal posts synchronously: off the event loop, which serves the intake.
        form_id = await asyncio.to_thread(submit_with, h, await Notice.of(h))
        [event] = the_portal.events()
        handle = h.client.get_workflow_handle(f"resignation-{form_id}")
        h.started.append(handle)
        result = await handle.result()

    assert (event.status, event.attempts) == ("levert", 1)
    assert result["outcome"] == "not_applicable"
    assert result["case_number"] is not None


# -- the workflow ------------------------------------------------------------------------------


async def personnel_file(h: Harness) -> str:
    """The employee's personnel file: the first the archive opened in the workflow's year."""
    return f"{(await h.env.get_current_time()).astimezone(OSLO).year}/00001"


async def test_a_resignation_is_filed_settled_and_paid_the_month_after_the_last_day(h: Harness):
    employee(h)
    notice = await Notice.of(h)
    form_id = await submit(h)
    handle = await start(h, form_id)
    number, _ = await on_hold(h, handle)

    incident = h.topdesk.get_incident(number)
    assert incident.category is not None and incident.category.name == "Oppsigelse"
    assert incident.external_number == form_id
    assert incident.caller is not None and incident.caller.email == "kari.nordmann@ntnu.no"
    assert f"Siste arbeidsdag: {format_date(notice.last_day)}" in (incident.request or "")
    assert "mottatt oppsigelsen" in h.replies(number)[0]
    assert h.status(number) == "På vent"
    assert format_date(notice.pay_day) in h.replies(number)[-1]  # why and until when (seed 000)
    [settlement] = h.sap.settlements()
    assert (settlement.sluttdato, settlement.utbetales) == (notice.last_day, notice.pay_day)
    [resignation, letter] = h.archive.documents(await personnel_file(h))
    assert resignation.dokumenttype is DocumentType.INCOMING and form_id in resignation.tittel
    assert letter.dokumenttype is DocumentType.OUTGOING and letter.kopi_til == "Ola Leder"

    h.sap.run_payroll(notice.pay_day)
    result = await handle.result()

    assert result.outcome is CaseOutcome.PAID and result.paid_on == notice.pay_day
    assert result.archived_as == resignation.journalpostnummer
    assert result.settlement_id == settlement.id and result.case_number == number
    assert h.topdesk.get_incident(number).completed
    assert "utbetalt" in h.replies(number)[-1]
    assert (await handle.query(ResignationWorkflow.progress)).state is WaitState.DONE


async def test_the_topdesk_case_is_opened_once_even_when_opening_is_repeated(h: Harness):
    employee(h)
    form_id = await submit(h)
    first = await start(h, form_id)
    number = await case_of(h, first)
    await settlement_of(h, number)
    await first.terminate("a bug, fixed and deployed")  # a failed run may be started again
    await h.client.get_workflow_handle(f"final-settlement-{number}").terminate("with its parent")

    again = await start(h, form_id)
    await on_hold(h, again)
    opened_again = TopdeskActivities(h.topdesk, seal_of(Settings())).open_case(
        NewCase(
            external_number=form_id,
            caller_email="kari.nordmann@ntnu.no",
            category="Oppsigelse",
            brief_description="Oppsigelse",
            request="Skjema-id: " + form_id,
        )
    )

    assert await case_of(h, again) == number
    assert opened_again.case_number == number
    assert [i.number for i in h.topdesk.list_incidents(f"externalNumber=={form_id}")] == [number]
    assert (
        len(h.archive.documents(await personnel_file(h))) == 2
    )  # filed once: resignation and letter


async def test_a_toa_contract_is_refused_with_the_route_through_the_unit(h: Harness):
    handle = await toa_refused(h)
    result = await handle.result()

    assert result.outcome is CaseOutcome.REFUSED
    reply = h.replies(result.case_number)[-1]
    assert "TOA-kontrakt" in reply and "«Time-, måned- og oppdragskontrakt»" in reply
    assert "hr-idi@ntnu.no" in reply
    assert h.status(result.case_number) == "Fullført"
    assert h.sap.settlements() == []
    assert result.archived_as is None


async def test_an_employee_who_continues_in_another_position_needs_no_resignation_handling(
    h: Harness,
):
    handle = await continues_elsewhere(h)
    result = await handle.result()

    assert result.outcome is CaseOutcome.NOT_APPLICABLE
    reply = h.replies(result.case_number)[-1]
    assert "annen stilling ved NTNU" in reply and "lederen din" in reply
    assert h.status(result.case_number) == "Fullført"
    assert h.sap.settlements() == []
    assert result.archived_as is None


async def test_an_unknown_employee_number_is_asked_of_the_caller(h: Harness):
    employee(h)
    handle = await start(h, await submit(h, ansattnummer="05009999"))
    number = await case_of(h, handle)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)

    assert "05009999 finnes ikke i SAP" in h.replies(number)[-1]
    assert h.sap.settlements() == []

    await h.reply(handle, number, f"Ansattnummer: {EMPLOYEE}")
    await settlement_of(h, number)
    assert h.archive.documents(await personnel_file(h)) != []


async def test_the_unknown_employee_path_ends_paid_once_answered(h: Harness):
    result = await (await unknown_employee_answered(h)).result()

    assert result.outcome is CaseOutcome.PAID
    assert [s.ansattnummer for s in h.sap.settlements()] == [EMPLOYEE]


async def test_a_last_day_earlier_than_the_notice_allows_is_kept_with_a_note_and_the_employee_told(
    h: Harness,
):
    employee(h)
    notice = await Notice.of(h)
    short = months_later(notice.submitted, 1)  # one month of the three
    handle = await start(h, await submit(h, siste_arbeidsdag=short))
    number, _ = await on_hold(h, handle)

    [note] = [n for n in h.notes(number) if "Kort oppsigelsestid" in n]
    earliest = format_date(notice.last_day)
    assert f"tidligste siste arbeidsdag {earliest}" in note and format_date(short) in note
    told = [r for r in h.replies(number) if "Oppsigelsestiden din er 3 måneder" in r]
    assert len(told) == 1 and earliest in told[0] and "lederen din" in told[0]
    [settlement] = h.sap.settlements()
    assert settlement.sluttdato == short  # not refused: shorter by agreement


async def test_a_last_day_within_notice_gets_no_note(h: Harness):
    employee(h)
    handle = await start(h, await submit(h))
    number, _ = await on_hold(h, handle)

    assert not any("Kort oppsigelsestid" in n for n in h.notes(number))
    assert not any("Oppsigelsestiden din" in r for r in h.replies(number))


async def test_an_sap_outage_recovers(h: Harness):
    employee(h)
    h.sap.inject_fault("unavailable", times=3)
    handle = await start(h, await submit(h))
    number = await case_of(h, handle)
    await h.env_sleep(timedelta(minutes=5))  # the retries' back-off: 5 s, 10 s, 20 s
    child = await settlement_of(h, number)
    await h.wait_state(child, WaitState.AWAITING_PAYROLL)

    assert len(h.sap.settlements()) == 1


async def test_a_portal_outage_recovers(h: Harness):
    employee(h)
    form_id = await submit(h)
    portal(h).inject_fault("unavailable", times=3)
    handle = await start(h, form_id)
    await h.env_sleep(timedelta(minutes=5))

    assert await case_of(h, handle)


async def test_a_form_the_portal_does_not_know_ends_without_a_case(h: Harness):
    handle = await start(h, "OPP-999999")
    result = await handle.result()

    assert result.outcome is CaseOutcome.NOT_APPLICABLE and result.case_number is None
    assert h.topdesk.list_incidents("externalNumber==OPP-999999") == []


async def test_a_withdrawal_before_the_settlement_leaves_the_filed_resignation_and_says_so(
    h: Harness,
):
    handle = await withdrawn_before_settlement(h)
    result = await handle.result()

    assert result.outcome is CaseOutcome.WITHDRAWN
    assert result.archived_as is not None
    [filed] = h.archive.documents(result.archived_as.rsplit("-", 1)[0])  # and no letter
    assert filed.dokumenttype is DocumentType.INCOMING
    assert h.sap.settlements() == []
    [note] = h.notes(result.case_number)
    assert filed.journalpostnummer in note and "blir liggende" in note


async def test_a_withdrawal_while_on_hold_cancels_the_settlement_and_leaves_the_archive(
    h: Harness,
):
    employee(h)
    handle = await start(h, await submit(h))
    number, child = await on_hold(h, handle)

    await close_in_topdesk(h, handle, number)  # to the parent, which passes it on
    result = await handle.result()

    assert result.outcome is CaseOutcome.WITHDRAWN
    [settlement] = h.sap.settlements()
    assert settlement.kansellert
    assert result.archived_as is not None
    assert len(h.archive.documents(result.archived_as.rsplit("-", 1)[0])) == 2
    notes = h.notes(number)
    assert any(settlement.id in n and "trukket" in n for n in notes)
    assert any("blir liggende" in n for n in notes)
    assert (await child.result()).outcome is CaseOutcome.WITHDRAWN


async def test_the_paid_scenario_records_one_case_and_one_settlement(h: Harness):
    handle = await paid(h)

    assert (await handle.result()).outcome is CaseOutcome.PAID
    assert len(h.sap.settlements()) == 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
