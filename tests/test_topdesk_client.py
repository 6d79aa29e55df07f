"""The TOPdesk client over HTTP against the simulator: each operation, each retried fault and each
fault that must not be retried."""

from __future__ import annotations

import time

import pytest
import requests

from adapters.topdesk.client import TopdeskClient
from adapters.topdesk.errors import (
    TopdeskAuthFailed,
    TopdeskBadRequest,
    TopdeskForbidden,
    TopdeskNotFound,
    TopdeskUnavailable,
)
from adapters.topdesk.models import NewIncident, Ref
from adapters.topdesk.simulator import FaultRule, TopdeskSimulator
from tests.eventually import eventually_sync


def new_case(topdesk: TopdeskClient, request: str = "Navn: Kari") -> str:
    return topdesk.create_incident(
        NewIncident(
            caller_lookup={"email": "hr@ntnu.no"},
            brief_description="Nyansettelse - Kari Nordmann",
            request=request,
            category=Ref(name="Nyansettelse"),
        )
    ).number


class CountingSession(requests.Session):
    """Counts what the client sends: every request, and the operator-group listings."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0
        self.listings = 0

    def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        self.sent += 1
        self.listings += method == "GET" and url.endswith("/tas/api/operatorgroups")
        return super().request(method, url, *args, **kwargs)


# -- operations ------------------------------------------------------------------------------


def test_create_and_read_an_incident_by_number(topdesk: TopdeskClient):
    number = new_case(topdesk, "Navn: Kari<br>Startdato: 01.02.2027")
    incident = topdesk.get_incident(number)
    assert incident.number == number
    assert incident.processing_status and incident.processing_status.name == "Registrert"
    assert incident.category and incident.category.name == "Nyansettelse"
    assert "Startdato: 01.02.2027" in (incident.request or "")
    assert incident.modification_date is not None and incident.modification_date.tzinfo


def test_set_status_by_name(topdesk: TopdeskClient):
    number = new_case(topdesk)
    assert topdesk.set_status(number, "Venter på bruker").processing_status.name == (
        "Venter på bruker"
    )


def test_a_reply_is_visible_to_the_caller_and_a_note_is_not(topdesk: TopdeskClient):
    number = new_case(topdesk)
    topdesk.reply_to_caller(number, "Hei!\nVi mangler kontonummer.", status="Venter på bruker")
    topdesk.add_note(number, "Internt: sjekket ePhorte.")
    note, reply = topdesk.progress_trail(number)  # newest first
    assert not reply.invisible_for_caller and "Vi mangler kontonummer." in (reply.plain_text or "")
    assert "<br>" in (reply.memo_text or "")  # TOPdesk needs <br>, not newlines
    assert note.invisible_for_caller and not note.from_caller
    assert topdesk.get_incident(number).processing_status.name == "Venter på bruker"


def test_a_caller_reply_is_recognised_as_the_callers(topdesk: TopdeskClient, simulator):
    number = new_case(topdesk)
    simulator.caller_reply(number, "Kontonummer: 8601 11 17947")
    [entry] = topdesk.progress_trail(number)
    assert entry.from_caller
    assert topdesk.get_incident(number).processing_status.name == "Oppdatert av bruker"


def test_complete_sets_fullfort_and_completed(topdesk: TopdeskClient):
    number = new_case(topdesk)
    incident = topdesk.complete(number, "Registrert i SAP.")
    assert incident.completed and incident.processing_status.name == "Fullført"
    assert "Registrert i SAP." in (topdesk.progress_trail(number)[0].plain_text or "")


def test_list_follows_paging_to_the_end(topdesk: TopdeskClient):
    numbers = {new_case(topdesk) for _ in range(7)}
    found = topdesk.list_incidents("category.name==Nyansettelse", page_size=3)
    assert {incident.number for incident in found} == numbers


def test_list_with_no_match_is_empty(topdesk: TopdeskClient):
    new_case(topdesk)
    assert topdesk.list_incidents("processingStatus.name=='På vent'") == []


def test_the_progress_trail_is_read_across_pages(topdesk: TopdeskClient):
    number = new_case(topdesk)
    for index in range(105):
        topdesk.add_note(number, f"notat {index}")
    trail = topdesk.progress_trail(number)
    assert len(trail) == 105 and trail[0].plain_text == "notat 104"


def test_the_operator_group_is_set_by_name_and_shown_on_the_case(topdesk: TopdeskClient):
    number = new_case(topdesk)
    moved = topdesk.set_operator_group(number, "Saksbehandling lønn og HR")
    assert moved.operator_group and moved.operator_group.name == "Saksbehandling lønn og HR"
    assert topdesk.get_incident(number).operator_group == moved.operator_group


def test_an_unknown_operator_group_is_a_bad_request_naming_it(topdesk: TopdeskClient):
    number = new_case(topdesk)
    with pytest.raises(TopdeskBadRequest, match="Lønnsavdelingen"):
        topdesk.set_operator_group(number, "Lønnsavdelingen")
    assert topdesk.get_incident(number).operator_group is None


def test_the_operator_groups_are_read_once_and_again_only_for_a_name_not_seen(simulator):
    session = CountingSession()
    config = simulator.config
    topdesk = TopdeskClient(simulator.url, config.login, config.app_password, session=session)
    number = new_case(topdesk)

    topdesk.set_operator_group(number, "Saksbehandling lønn og HR")
    topdesk.set_operator_group(number, "Prosessansvarlig lønn og HR")
    assert session.listings == 1
    with pytest.raises(TopdeskBadRequest):
        topdesk.set_operator_group(number, "Ingen slik gruppe")
    assert session.listings == 2  # read once more in case the group was added since


def test_a_group_added_since_the_first_read_is_found(simulator, monkeypatch):
    from adapters.topdesk.simulator import catalog

    topdesk = TopdeskClient(simulator.url, simulator.config.login, simulator.config.app_password)
    number = new_case(topdesk)
    topdesk.set_operator_group(number, "Brukerstøtte lønn og HR")
    added = [g.name for g in catalog.OPERATOR_GROUPS.items] + ["Ny gruppe"]
    monkeypatch.setattr(catalog, "OPERATOR_GROUPS", catalog.Choices.named("operatorGroup", added))
    assert topdesk.set_operator_group(number, "Ny gruppe").operator_group.name == "Ny gruppe"


def new_external_case(topdesk: TopdeskClient, external_number: str) -> str:
    return topdesk.create_incident(
        NewIncident(brief_description="Ny sak", request="r", external_number=external_number)
    ).number


@pytest.mark.parametrize("value", ["FORM-2027-000123", "new-watch/2027-02 IDI", "O'Neil; a,(b)\\"])
def test_a_case_is_found_by_its_external_number(topdesk: TopdeskClient, value: str):
    new_external_case(topdesk, "annen")
    number = new_external_case(topdesk, value)
    found = topdesk.find_by_external_number(value)
    assert found is not None and found.number == number and found.external_number == value


def test_the_newest_case_with_an_external_number_is_found(topdesk: TopdeskClient):
    new_external_case(topdesk, "new-watch/2027-02 IDI")
    newest = new_external_case(topdesk, "new-watch/2027-02 IDI")
    assert topdesk.find_by_external_number("new-watch/2027-02 IDI").number == newest


def test_an_unknown_external_number_finds_nothing(topdesk: TopdeskClient):
    new_case(topdesk)  # has no externalNumber
    new_external_case(topdesk, "new-watch/2027-02")
    assert topdesk.find_by_external_number("new-watch/2027-02 IDI") is None
    with pytest.raises(ValueError):
        topdesk.find_by_external_number(" ")


def test_the_application_password_is_never_printed(topdesk: TopdeskClient):
    assert "sim-app-password" not in repr(topdesk.http.session.auth)


# -- faults that are retried -----------------------------------------------------------------


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_passing_gateway_error_is_retried(topdesk, simulator: TopdeskSimulator, status: int):
    number = new_case(topdesk)
    simulator.inject_fault(FaultRule(kind="status", status=status, times=2))
    assert topdesk.get_incident(number).number == number


def test_429_is_retried_after_the_time_retry_after_asks_for(topdesk, simulator):
    number = new_case(topdesk)
    simulator.inject_fault(FaultRule(kind="status", status=429, retry_after=1, times=1))
    started = time.monotonic()
    assert topdesk.get_incident(number).number == number
    assert time.monotonic() - started >= 1.0


def test_a_dropped_connection_is_retried(topdesk, simulator):
    number = new_case(topdesk)
    simulator.inject_fault(FaultRule(kind="drop", times=2))
    assert topdesk.get_incident(number).number == number


def test_a_slow_answer_within_the_timeout_is_simply_awaited(topdesk, simulator):
    number = new_case(topdesk)
    simulator.inject_fault(FaultRule(kind="latency", latency_seconds=0.3, times=1))
    assert topdesk.get_incident(number).number == number


def test_a_read_timeout_on_a_get_is_retried(simulator):
    config = simulator.config
    topdesk = TopdeskClient(
        simulator.url, config.login, config.app_password, timeout=(1, 0.3), backoff=0.01
    )
    number = new_case(topdesk)
    simulator.inject_fault(FaultRule(kind="latency", latency_seconds=0.6, times=1))
    assert topdesk.get_incident(number).number == number


# -- faults that are not retried (or stop being retried) -------------------------------------


def test_an_outage_longer_than_the_quick_retries_is_unavailable(topdesk, simulator):
    number = new_case(topdesk)
    simulator.inject_fault(FaultRule(kind="status", status=503, times=None))
    with pytest.raises(TopdeskUnavailable) as error:
        topdesk.get_incident(number)
    assert error.value.status == 503


def test_a_retry_after_longer_than_we_wait_is_left_to_temporal(topdesk, simulator):
    number = new_case(topdesk)
    simulator.inject_fault(FaultRule(kind="status", status=429, retry_after=3600, times=1))
    with pytest.raises(TopdeskUnavailable):
        topdesk.get_incident(number)
    assert topdesk.get_incident(number).number == number  # the one fault was used up at once


def test_a_post_whose_connection_dropped_is_not_sent_twice(topdesk, simulator):
    simulator.inject_fault(FaultRule(kind="drop", method="POST", times=1))
    with pytest.raises(TopdeskUnavailable):
        new_case(topdesk)
    assert topdesk.list_incidents("category.name==Nyansettelse") == []


def test_a_read_timeout_on_a_patch_is_not_retried(simulator):
    config = simulator.config
    topdesk = TopdeskClient(
        simulator.url, config.login, config.app_password, timeout=(1, 0.3), backoff=0.01
    )
    number = new_case(topdesk)
    simulator.inject_fault(FaultRule(kind="latency", method="PATCH", latency_seconds=0.6, times=1))
    with pytest.raises(TopdeskUnavailable):
        topdesk.add_note(number, "en gang")
    # the slow PATCH lands anyway; it must have landed once only
    eventually_sync(lambda: topdesk.progress_trail(number), "the slow PATCH to land")
    assert [e.plain_text for e in topdesk.progress_trail(number)] == ["en gang"]


def test_an_unknown_case_is_not_found(topdesk):
    with pytest.raises(TopdeskNotFound):
        topdesk.get_incident("I9999-9999")


def test_an_unknown_status_name_is_a_bad_request(topdesk):
    number = new_case(topdesk)
    with pytest.raises(TopdeskBadRequest):
        topdesk.set_status(number, "Ferdig")


def test_a_wrong_password_fails_authentication_without_retrying(simulator):
    topdesk = TopdeskClient(simulator.url, simulator.config.login, "wrong", backoff=0.01)
    with pytest.raises(TopdeskAuthFailed):
        topdesk.get_incident("I2611-0001")


def test_a_too_long_brief_description_is_a_bad_request_naming_it(topdesk):
    with pytest.raises(TopdeskBadRequest, match="briefDescription"):
        topdesk.create_incident(NewIncident(brief_description="x" * 81, request="r"))


def test_an_archived_case_is_forbidden_to_write(topdesk, simulator):
    import requests

    number = new_case(topdesk)
    incident = topdesk.get_incident(number)
    requests.put(
        f"{simulator.url}/tas/api/incidents/id/{incident.id}/archive",
        json={},
        auth=(simulator.config.login, simulator.config.app_password),
        timeout=5,
    ).raise_for_status()
    with pytest.raises(TopdeskForbidden):
        topdesk.add_note(number, "for sent")


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_write_answered_by_a_gateway_error_is_not_resent_here(topdesk, simulator, status: int):
    """The gateway may have passed the write on: resending could mail the caller twice.
    Temporal retries the activity, which first checks whether the write landed."""
    number = new_case(topdesk)
    simulator.inject_fault(FaultRule(kind="status", method="PATCH", status=status, times=1))
    with pytest.raises(TopdeskUnavailable):
        topdesk.reply_to_caller(number, "Hei")
    assert topdesk.progress_trail(number) == []


def test_a_write_refused_with_429_is_resent(topdesk, simulator):
    number = new_case(topdesk)
    simulator.inject_fault(FaultRule(kind="status", method="PATCH", status=429, times=1))
    topdesk.reply_to_caller(number, "Hei")
    assert [entry.plain_text for entry in topdesk.progress_trail(number)] == ["Hei"]


def test_a_write_that_never_connected_is_resent_and_one_that_may_have_landed_is_not(simulator):
    config = simulator.config
    refused = CountingSession()
    closed = TopdeskClient(
        "http://127.0.0.1:9", config.login, config.app_password, session=refused, backoff=0.01
    )
    with pytest.raises(TopdeskUnavailable):  # still nobody there after the quick retries
        closed.add_note("I2611-0001", "notat")
    assert refused.sent == 4

    dropped = CountingSession()
    topdesk = TopdeskClient(
        simulator.url, config.login, config.app_password, session=dropped, backoff=0.01
    )
    number = new_case(topdesk)
    simulator.inject_fault(FaultRule(kind="drop", method="PATCH", times=1))
    with pytest.raises(TopdeskUnavailable):
        topdesk.add_note(number, "notat")
    assert dropped.sent == 2  # the POST that made the case, and the one PATCH
