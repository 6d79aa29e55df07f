"""Quarterly follow-up (seed 001, "Annen fratredelse"): whom the report asks the units about, and
the workflow on the time-skipping test server (one TOPdesk case per unit, once)."""

from __future__ import annotations

from datetime import date, timedelta

from domain.cases import OSLO
from domain.employment import Employment
from domain.follow_ups import (
    SERVICE_CENTRE_EMAIL,
    FollowUpReason,
    QuarterlyFollowUpResult,
    follow_up_reason,
    select_for_follow_up,
)
from domain.unit_cases import follow_up_case_text
from tests.harness import Harness
from tests.scenarios_end_date_watch import (
    FYSIKK,
    IDI,
    IMF,
    UNIT_EMAIL,
    at,
    listed,
    result_at,
    unit_cases,
)
from tests.scenarios_quarterly_follow_up import FollowUp, seed, start_follow_up

TODAY = date(2027, 4, 1)


def employment(end: date | None, stopped: date | None = None, **fields: object) -> Employment:
    return Employment.model_validate(
        {
            "employee_number": fields.pop("number", "05000001"),
            "start_date": date(2024, 1, 1),
            "end_date": end,
            "pay_stopped_from": stopped,
            **fields,
        }
    )


# -- rules ------------------------------------------------------------------------------------


def test_past_the_end_date_means_before_today_and_a_stopped_pay_is_reported_as_such():
    assert follow_up_reason(employment(date(2027, 3, 31)), TODAY) is FollowUpReason.PAST_END_DATE
    assert follow_up_reason(employment(TODAY), TODAY) is None  # the last day is still worked
    assert follow_up_reason(employment(None), TODAY) is None
    stopped = employment(date(2027, 3, 31), stopped=date(2027, 4, 1))
    assert follow_up_reason(stopped, TODAY) is FollowUpReason.PAY_STOPPED
    assert follow_up_reason(employment(None, date(2027, 3, 1)), TODAY) is FollowUpReason.PAY_STOPPED


def test_an_open_case_or_another_position_keeps_someone_out_of_the_request_to_the_unit():
    report = [
        employment(date(2027, 3, 1), number="05000001"),
        employment(date(2027, 3, 1), number="05000002"),
        employment(date(2027, 3, 1), number="05000003", other_position=True),
    ]
    selection = select_for_follow_up(report, {"05000002"}, TODAY)
    assert [e.employee_number for e in selection.to_ask] == ["05000001"]
    assert [e.employee_number for e in selection.announced] == ["05000002"]
    assert [e.employee_number for e in selection.other_position] == ["05000003"]


def test_the_case_text_lists_the_still_paid_before_those_whose_pay_is_stopped():
    paid = employment(date(2027, 3, 1), number="05000001", name="Kari Nordmann")
    stopped = employment(date(2027, 1, 31), date(2027, 2, 1), number="05000002", name="Ola")
    text = follow_up_case_text(IDI, TODAY, [stopped, paid])
    first, second = text.split("Lønnen er stoppet, men sluttoppgjør mangler:")
    assert listed(first) == {"05000001"} and listed(second) == {"05000002"}
    assert "01.02.2027" in second and "01.04.2027" in first and "Fratredelse" in second


# -- the workflow -----------------------------------------------------------------------------


async def followed_up(h: Harness) -> tuple[FollowUp, QuarterlyFollowUpResult]:
    """The scenario's follow-up, run to its end: the follow-up and its result."""
    follow_up = await FollowUp.next(h)
    seed(h, follow_up)
    await at(h, follow_up.fired)
    handle = await start_follow_up(h, follow_up.id)
    return follow_up, await result_at(h, handle, follow_up.done)


async def test_each_unit_is_asked_in_one_case_about_exactly_those_who_left_without_a_settlement(
    h: Harness,
):
    follow_up, result = await followed_up(h)
    asked = follow_up.asked

    cases = unit_cases(h)
    assert sorted(cases) == sorted(result.case_numbers)
    by_unit = {case.unit: case for case in result.cases}
    assert sorted(by_unit) == sorted([FYSIKK, IDI, IMF])
    for unit, case in by_unit.items():
        expected = {n for n, person in asked.items() if person.organisasjon == unit}
        assert listed(cases[case.case_number]) == expected == set(case.employee_numbers)
        incident = h.topdesk.get_incident(case.case_number)
        assert incident.caller is not None
        assert incident.caller.email == UNIT_EMAIL.get(unit, SERVICE_CENTRE_EMAIL)
    # SAP's report holds the settled neither; the open case and the other position are left out
    assert (result.in_report, result.announced, result.other_position) == (len(asked) + 2, 1, 1)


async def test_the_units_case_names_who_is_still_paid_and_whose_pay_is_stopped(h: Harness):
    follow_up, result = await followed_up(h)

    [idi] = [case for case in result.cases if case.unit == IDI]
    text = unit_cases(h)[idi.case_number]
    still_paid, stopped = text.split("Lønnen er stoppet, men sluttoppgjør mangler:")
    idi_paid = {n for n, p in follow_up.still_paid.items() if p.organisasjon == IDI}
    idi_stopped = {n for n, p in follow_up.pay_stopped.items() if p.organisasjon == IDI}
    assert listed(still_paid) == idi_paid and listed(stopped) == idi_stopped
    assert follow_up.not_yet.navn not in text


async def test_today_is_the_day_the_schedule_fired(h: Harness):
    follow_up, result = await followed_up(h)

    assert result.today == follow_up.fired.astimezone(OSLO).date()


async def test_a_second_run_of_the_same_workflow_opens_no_second_case(h: Harness):
    follow_up, first = await followed_up(h)
    later = follow_up.done + timedelta(minutes=10)
    again = await result_at(h, await start_follow_up(h, follow_up.id), later)

    assert sorted(again.case_numbers) == sorted(first.case_numbers)
    assert len(unit_cases(h)) == 3


async def test_nobody_without_a_settlement_opens_no_case(h: Harness):
    follow_up = await FollowUp.next(h)
    h.sap.add_employee(follow_up.not_yet)
    await at(h, follow_up.fired)
    result = await result_at(h, await start_follow_up(h, follow_up.id), follow_up.done)

    assert (result.in_report, result.cases) == (0, [])
    assert unit_cases(h) == {}


async def test_an_sap_outage_recovers(h: Harness):
    follow_up = await FollowUp.next(h)
    seed(h, follow_up)
    await at(h, follow_up.fired)
    h.sap.inject_fault("unavailable", times=3)
    handle = await start_follow_up(h, follow_up.id)
    result = await result_at(h, handle, follow_up.done)

    assert result.asked == len(follow_up.asked)
    history = await handle.fetch_history()
    [report] = [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
    ][:1]
    assert report == 4  # SAP's report, asked until SAP answered
