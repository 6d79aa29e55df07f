"""The TOPdesk activities against the simulator: the snapshot a workflow reads, and a retried
write that must not reach the caller twice."""

from __future__ import annotations

import dataclasses
import re

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.topdesk import CASE_CLOSED, CaseRef, CaseWrite, TopdeskActivities
from adapters.topdesk.client import TopdeskClient
from domain.cases import TopdeskStatus
from domain.identifiers import sealed_kinds
from tests.harness import COMPLETE_FORM
from workers.settings import Settings
from workers.worker import seal_of


def activities_for(topdesk: TopdeskClient) -> TopdeskActivities:
    return TopdeskActivities(topdesk, seal_of(Settings()))


def attempt(number: int) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=number)
    return env


def new_case(topdesk: TopdeskClient) -> str:
    from adapters.topdesk.models import NewIncident, Ref

    return topdesk.create_incident(
        NewIncident(
            brief_description="Nyansettelse",
            request=COMPLETE_FORM.replace("\n", "<br>"),
            category=Ref(name="Nyansettelse"),
        )
    ).number


def test_the_snapshot_holds_the_form_then_the_callers_replies_but_no_operator_text(
    topdesk: TopdeskClient, simulator
):
    number = new_case(topdesk)
    topdesk.reply_to_caller(number, "Vi mangler noe")
    topdesk.add_note(number, "internt")
    simulator.caller_reply(number, "Kontonummer: 1")
    simulator.caller_reply(number, "Kontonummer: 2")

    snapshot = attempt(1).run(activities_for(topdesk).read_case, CaseRef(case_number=number))

    assert snapshot.category == "Nyansettelse" and snapshot.status == "Oppdatert av bruker"
    assert "Startdato: 01.02.2027" in snapshot.texts[0]
    assert snapshot.texts[1:] == ["Kontonummer: 1", "Kontonummer: 2"]


def test_the_snapshot_carries_every_valid_identifier_sealed_and_sap_can_open_it(
    topdesk: TopdeskClient, simulator
):
    number = new_case(topdesk)
    simulator.caller_reply(number, "Riktig konto er 8601.11.17947, ikke 1234 56 78901")
    seal = seal_of(Settings())

    snapshot = attempt(1).run(activities_for(topdesk).read_case, CaseRef(case_number=number))

    form, reply = snapshot.texts
    for value in ("150385 10190", "15038510190", "8601 11 17947", "86011117947", "8601.11.17947"):
        assert value not in form + reply
    assert "Startdato: 01.02.2027" in form  # the rest of the form as written
    assert "1234 56 78901" in reply  # no valid account: left for the check to name
    national_id = re.search("Fødselsnummer: (⟨[^⟩]+⟩)", form)
    account = re.search("Kontonummer: (⟨[^⟩]+⟩)", form)
    assert national_id and "fnr" in (sealed_kinds(national_id[1]) or ())
    assert account and sealed_kinds(account[1]) == {"konto"}
    assert seal.open(national_id[1]) == "15038510190" and seal.open(account[1]) == "86011117947"
    # the same number is the same token, however it is written: a changed answer shows
    assert account[1] in reply


def test_a_retried_reply_that_had_landed_is_not_written_again(topdesk: TopdeskClient):
    number = new_case(topdesk)
    write = CaseWrite(case_number=number, reply="Hei!\nVi mangler kontonummer.")
    activities = activities_for(topdesk)

    attempt(1).run(activities.write_case, write)
    attempt(2).run(activities.write_case, write)  # the first attempt's answer was lost

    assert len(topdesk.progress_trail(number)) == 1


def test_a_retried_reply_that_had_not_landed_is_written(topdesk: TopdeskClient):
    number = new_case(topdesk)
    write = CaseWrite(case_number=number, reply="Hei", status=TopdeskStatus.AWAITING_CALLER)

    attempt(3).run(activities_for(topdesk).write_case, write)

    assert [entry.plain_text for entry in topdesk.progress_trail(number)] == ["Hei"]
    assert topdesk.get_incident(number).processing_status.name == "Venter på bruker"


def test_the_same_text_again_on_a_first_attempt_is_a_new_message(topdesk: TopdeskClient):
    number = new_case(topdesk)
    write = CaseWrite(case_number=number, reply="Påminnelse")
    activities = activities_for(topdesk)

    attempt(1).run(activities.write_case, write)
    attempt(1).run(activities.write_case, write)

    assert len(topdesk.progress_trail(number)) == 2


def test_an_unknown_case_is_a_final_error_naming_its_type(topdesk: TopdeskClient):
    with pytest.raises(ApplicationError) as error:
        attempt(1).run(activities_for(topdesk).read_case, CaseRef(case_number="I9999-9999"))
    assert error.value.type == "TopdeskNotFound" and error.value.non_retryable


def test_an_empty_write_is_a_final_error(topdesk: TopdeskClient):
    with pytest.raises(ApplicationError) as error:
        attempt(1).run(activities_for(topdesk).write_case, CaseWrite(case_number="I1"))
    assert error.value.non_retryable


def test_an_escalation_to_a_group_this_topdesk_lacks_still_leaves_its_note(topdesk: TopdeskClient):
    number = new_case(topdesk)
    write = CaseWrite(case_number=number, note="Avvik, trinn 1", operator_group="Finnes ikke")

    attempt(1).run(activities_for(topdesk).write_case, write)

    [entry] = topdesk.progress_trail(number)
    assert entry.invisible_for_caller and "Avvik, trinn 1" in (entry.plain_text or "")
    assert "«Finnes ikke» finnes ikke i TOPdesk" in (entry.plain_text or "")
    assert topdesk.get_incident(number).operator_group is None


def test_an_escalation_moves_the_case_to_the_rungs_group(topdesk: TopdeskClient):
    number = new_case(topdesk)
    write = CaseWrite(case_number=number, note="Avvik", operator_group="Saksbehandling lønn og HR")

    attempt(1).run(activities_for(topdesk).write_case, write)

    group = topdesk.get_incident(number).operator_group
    assert group is not None and group.name == "Saksbehandling lønn og HR"


def test_a_status_change_on_a_case_the_caller_closed_is_refused_and_the_case_stays_closed(
    topdesk: TopdeskClient,
):
    number = new_case(topdesk)
    topdesk.set_status(number, "Lukket")
    write = CaseWrite(case_number=number, status=TopdeskStatus.IN_PROGRESS)

    with pytest.raises(ApplicationError) as refused:
        attempt(1).run(activities_for(topdesk).write_case, write)

    assert refused.value.type == CASE_CLOSED and refused.value.non_retryable
    assert topdesk.get_incident(number).closed
