"""End-date watch (seed 001, "Annen fratredelse"): which run it watches and which end dates it
covers, whom it stops and whom it leaves alone, and the workflow on the time-skipping test server
(asleep until the watch day, SAP stops once, one TOPdesk case per unit, once)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from temporalio.client import WorkflowHandle

from adapters.topdesk.simulator import FaultRule
from domain.cases import OSLO
from domain.employment import Employment
from domain.follow_ups import (
    SERVICE_CENTRE_EMAIL,
    EndDateWatchInput,
    EndDateWatchResult,
    WatchPlan,
    announced_employee,
    plan_watch,
    select_for_stop,
)
from domain.forms import format_date
from domain.payroll_calendar import PayrollCalendar
from domain.unit_cases import EXTERNAL_NUMBER_LENGTH, UNIT_CASE_CATEGORY, by_unit, unit_case_key
from tests.harness import Harness
from tests.scenarios_end_date_watch import (
    FYSIKK,
    IDI,
    IMF,
    UNIT_EMAIL,
    Watch,
    at,
    employee,
    extension_form,
    first_of_a_month_after,
    listed,
    result_at,
    seed,
    settlement_form,
    start_watch,
    unit_cases,
    watch_id,
)
from workflows.end_date_watch import EndDateWatch

CALENDAR = PayrollCalendar()
ONE_DAY = timedelta(days=1)


def plan(today: date, days_before_cutoff: int = 2) -> WatchPlan:
    return plan_watch(CALENDAR, today, days_before_cutoff)


# -- rules: the run watched, the watch day, the coming month ---------------------------------


def test_the_watch_started_on_the_first_is_for_next_months_run_and_covers_that_month():
    assert plan(date(2027, 1, 1)) == WatchPlan(
        pay_day=date(2027, 2, 12),
        cutoff=date(2027, 1, 28),
        watch_day=date(2027, 1, 26),  # two working days before the cut-off
        ending_from=date(2027, 1, 26),
        ending_until=date(2027, 2, 28),
    )


def test_the_december_watch_is_for_the_january_run_and_covers_january_of_the_next_year():
    december = plan(date(2027, 12, 1))
    assert (december.pay_day, december.cutoff, december.watch_day) == (
        date(2028, 1, 12),
        date(2027, 12, 28),
        date(2027, 12, 24),  # Christmas Eve is a working day; 25 and 26 December are not
    )
    assert (december.ending_from, december.ending_until) == (date(2027, 12, 24), date(2028, 1, 31))
    january = plan(date(2028, 1, 1))
    assert january.pay_day == date(2028, 2, 11)  # the 12th is a Saturday
    assert january.ending_until == date(2028, 2, 29)  # a leap year


def test_easter_moves_the_watch_day_earlier():
    # Pay day 12.04.2027; the cut-off 11 working days before skips Maundy Thursday, Good Friday
    # and Easter Monday (25, 26 and 29 March 2027), and the watch day two more.
    april = plan(date(2027, 3, 1))
    assert (april.pay_day, april.cutoff, april.watch_day) == (
        date(2027, 4, 12),
        date(2027, 3, 23),
        date(2027, 3, 19),
    )


def test_on_its_watch_day_the_watch_is_for_that_run_and_the_day_after_for_the_next():
    assert plan(date(2027, 1, 26)).pay_day == date(2027, 2, 12)
    assert plan(date(2027, 1, 27)).pay_day == date(2027, 3, 12)


def test_the_watch_day_setting_counts_working_days_before_the_cutoff():
    assert plan(date(2027, 1, 1), days_before_cutoff=0).watch_day == date(2027, 1, 28)
    assert plan(date(2027, 1, 1), days_before_cutoff=5).watch_day == date(2027, 1, 21)


def test_consecutive_watches_leave_no_end_date_uncovered():
    today = date(2026, 1, 1)
    previous = plan(today)
    while today < date(2030, 1, 1):
        today = previous.watch_day + timedelta(days=1)
        following = plan(today)
        assert following.pay_day > previous.pay_day
        assert following.ending_from <= previous.ending_until + timedelta(days=1)
        assert following.watch_day <= previous.ending_until  # acts before the month it covers
        previous = following


# -- rules: who has told the centre, who is stopped, who is told ------------------------------


def test_the_employee_number_is_read_from_the_form_text_of_each_open_case():
    header = "01-01-2027 06:00 [GMT +1:00] Kari Hansen:"
    assert announced_employee([f"{header}\n{extension_form('05001234', 'Kari')}"]) == "05001234"
    assert announced_employee([settlement_form("05009876", "Ola")]) == "05009876"
    assert announced_employee(["Navn: Kari<br>Ansattnr: 05004321"]) == "05004321"
    assert announced_employee(["Ansattnummer: 5001234"]) is None  # not a key SAP knows
    assert announced_employee(["Hei, se vedlegg."]) is None


def employment(number: str, end: date | None, **fields: object) -> Employment:
    return Employment.model_validate(
        {"employee_number": number, "start_date": date(2024, 1, 1), "end_date": end, **fields}
    )


def test_only_those_without_a_case_still_paid_and_in_no_other_position_are_stopped():
    end = date(2027, 2, 15)
    selection = select_for_stop(
        [
            employment("05000001", end),
            employment("05000002", end),  # a case is open
            employment("05000003", end, pay_stopped_from=date(2027, 2, 16)),
            employment("05000004", end, pay_stopped_from=date(2027, 2, 20)),  # stops too late
            employment("05000005", end, other_position=True),
        ],
        announced={"05000002"},
    )
    assert [e.employee_number for e in selection.to_stop] == ["05000001", "05000004"]
    assert [e.employee_number for e in selection.announced] == ["05000002"]
    assert [e.employee_number for e in selection.already_stopped] == ["05000003"]
    assert [e.employee_number for e in selection.other_position] == ["05000005"]


def test_each_unit_is_told_at_its_own_address_or_else_at_the_service_centres():
    groups = by_unit(
        [
            employment("05000001", None, unit=IMF, unit_email="imf-hr@ntnu.no"),
            employment("05000002", None, unit=FYSIKK),
            employment("05000003", None, unit=IMF),
        ],
        SERVICE_CENTRE_EMAIL,
    )
    assert [(g.unit, g.caller_email, [e.employee_number for e in g.employees]) for g in groups] == [
        (FYSIKK, SERVICE_CENTRE_EMAIL, ["05000002"]),
        (IMF, "imf-hr@ntnu.no", ["05000001", "05000003"]),
    ]


WATCH_ID = "end-date-watch-2027-01-01T05:00:00Z"  # as the schedule names its runs


def test_the_unit_case_key_is_one_per_run_and_unit_and_fits_topdesk():
    key = unit_case_key(WATCH_ID, IDI)
    assert key == unit_case_key(WATCH_ID, IDI)
    assert key != unit_case_key(WATCH_ID, IMF)
    assert key != unit_case_key("end-date-watch-2027-02-01T05:00:00Z", IDI)
    assert key.startswith(f"{WATCH_ID}/") and len(key) <= EXTERNAL_NUMBER_LENGTH
    long = unit_case_key("x" * 80, IDI)
    assert len(long) <= EXTERNAL_NUMBER_LENGTH and long != unit_case_key("x" * 81, IDI)


# -- the workflow -----------------------------------------------------------------------------


def stopped_from(h: Harness, number: str) -> date | None:
    return h.sap.employee(number).lonn_stoppet_fra


async def watched(h: Harness) -> tuple[Watch, EndDateWatchResult]:
    """The scenario's watch, run to its end: the watch and its result."""
    watch = await Watch.next(h)
    seed(h, watch)
    await at(h, watch.fired)
    return watch, await result_at(h, await start_watch(h, watch.id), watch.done)


async def acted_at(handle: WorkflowHandle) -> datetime:
    """When the workflow first called a system, from its history (Norwegian time)."""
    history = await handle.fetch_history()
    first = next(
        e for e in history.events if e.HasField("activity_task_scheduled_event_attributes")
    )
    return first.event_time.ToDatetime(tzinfo=UTC).astimezone(OSLO)


async def test_the_watch_sleeps_until_the_watch_day_and_then_stops_pay(h: Harness):
    watch = await Watch.next(h)
    seed(h, watch)
    await at(h, watch.fired)
    handle = await start_watch(h, watch.id)
    watch_plan = await handle.query(EndDateWatch.plan)
    assert watch_plan.watch_day == watch.plan.watch_day
    await at(h, watch.acts - timedelta(minutes=1))

    assert all(stopped_from(h, number) is None for number in watch.stopped)
    assert unit_cases(h) == {}
    result = await result_at(h, handle, watch.done)

    acted = await acted_at(handle)
    assert watch.acts <= acted < watch.acts + timedelta(minutes=1)
    assert result.stopped == len(watch.stopped)
    for number, person in watch.stopped.items():
        assert person.sluttdato is not None
        assert stopped_from(h, number) == person.sluttdato + timedelta(days=1)


async def test_employees_with_an_open_case_stopped_pay_or_another_position_are_left_alone(
    h: Harness,
):
    watch, result = await watched(h)

    already = watch.already_stopped
    assert stopped_from(h, already.ansattnummer) == already.lonn_stoppet_fra  # as it was
    for person in watch.left_alone:
        if person.ansattnummer != already.ansattnummer:
            assert stopped_from(h, person.ansattnummer) is None, person.navn
    assert (result.announced, result.already_stopped, result.other_position) == (2, 1, 1)


async def test_end_dates_outside_the_watch_day_to_the_end_of_the_coming_month_are_not_reported(
    h: Harness,
):
    watch, result = await watched(h)

    # the watch day and the month's last day are in; the days before and after them and a
    # permanent position are not in SAP's report
    assert result.in_report == len(watch.stopped) + 4
    assert result.plan.ending_from == watch.plan.watch_day
    assert result.plan.ending_until == watch.plan.ending_until


async def test_each_unit_gets_one_case_listing_exactly_its_stopped_employees(h: Harness):
    watch, result = await watched(h)

    cases = unit_cases(h)
    assert sorted(cases) == sorted(result.case_numbers)
    by_unit_name = {case.unit: case for case in result.cases}
    assert sorted(by_unit_name) == sorted([FYSIKK, IDI, IMF])
    for unit, case in by_unit_name.items():
        expected = {n for n, person in watch.stopped.items() if person.organisasjon == unit}
        assert set(case.employee_numbers) == expected
        text = cases[case.case_number]
        assert listed(text) == expected
        incident = h.topdesk.get_incident(case.case_number)
        assert incident.caller is not None
        assert incident.caller.email == UNIT_EMAIL.get(unit, SERVICE_CENTRE_EMAIL)
        assert incident.category is not None and incident.category.name == UNIT_CASE_CATEGORY
    idi = cases[by_unit_name[IDI].case_number]
    ends, stops = watch.day(15), watch.day(16)  # Kari Nordmann's end date, and the pay stop
    assert "Kari Nordmann" in idi and format_date(ends) in idi and format_date(stops) in idi
    pay_day = format_date(watch.plan.pay_day)
    assert "Forlengelse" in idi and "Fratredelse" in idi and pay_day in idi


async def test_a_second_run_of_the_same_workflow_opens_no_second_case_and_stops_nothing_twice(
    h: Harness,
):
    watch, first = await watched(h)
    later = watch.done + timedelta(minutes=10)
    again = await result_at(h, await start_watch(h, watch.id), later)  # all stopped by now

    stopped = watch.stopped
    assert (again.stopped, again.already_stopped, again.cases) == (0, 1 + len(stopped), [])
    # A retry that finds SAP as it was before the first stop: the same keys find the first
    # answers, in SAP and in TOPdesk.
    for person in stopped.values():
        h.sap.add_employee(person)
    retried = await result_at(h, await start_watch(h, watch.id), later + timedelta(minutes=10))

    assert retried.stopped == len(stopped)
    assert sorted(retried.case_numbers) == sorted(first.case_numbers)
    assert len(unit_cases(h)) == 3
    assert all(stopped_from(h, number) is None for number in stopped)  # not stopped a 2nd time


async def test_another_run_of_the_schedule_opens_its_own_cases(h: Harness):
    watch, first = await watched(h)
    for person in watch.stopped.values():
        h.sap.add_employee(person)
    other_run = await start_watch(h, watch_id(watch.fired + timedelta(days=1)))
    other = await result_at(h, other_run, watch.done + timedelta(minutes=10))

    assert set(other.case_numbers).isdisjoint(first.case_numbers)


async def test_a_watch_with_nobody_to_stop_opens_no_case(h: Harness):
    watch = await Watch.next(h)
    h.sap.add_employee(watch.already_stopped)
    await at(h, watch.fired)
    result = await result_at(h, await start_watch(h, watch.id), watch.done)

    assert (result.stopped, result.cases) == (0, [])
    assert unit_cases(h) == {}


async def test_the_december_watch_stops_pay_for_end_dates_in_january(h: Harness):
    """Fired on the next 1 December (on 01.12.2027: acting on Christmas Eve, 24.12.2027, for the
    run of 12.01.2028)."""
    fired = first_of_a_month_after(await h.env.get_current_time(), months=[12])
    january = plan(fired.date())
    assert january.pay_day.month == 1 and january.watch_day.month == 12
    h.sap.add_employee(employee("05000001", "Kari Nordmann", IDI, january.ending_until))
    h.sap.add_employee(employee("05000002", "Ola Hansen", IDI, january.ending_until + ONE_DAY))
    await at(h, fired)
    handle = await start_watch(h, watch_id(fired))
    done = datetime.combine(january.watch_day, time(7, 10), tzinfo=OSLO)
    result = await result_at(h, handle, done)

    assert (await acted_at(handle)).date() == january.watch_day
    assert stopped_from(h, "05000001") == january.ending_until + ONE_DAY  # 1 February
    assert stopped_from(h, "05000002") is None
    [case] = result.cases
    assert format_date(january.pay_day) in unit_cases(h)[case.case_number]


async def test_the_watch_day_is_a_setting_of_the_input(h: Harness):
    watch = await Watch.next(h)
    h.sap.add_employee(employee("05000001", "Kari Nordmann", IDI, watch.day(15)))
    await at(h, watch.fired)
    late = EndDateWatchInput(watch_working_days_before_cutoff=0)
    handle = await start_watch(h, watch.id, input=late)
    cutoff = watch.plan.cutoff  # on the cut-off day itself, not two working days before
    await result_at(h, handle, datetime.combine(cutoff, time(7, 10), tzinfo=OSLO))

    assert (await acted_at(handle)).date() == cutoff


async def test_an_sap_outage_on_the_watch_day_recovers(h: Harness):
    watch = await Watch.next(h)
    seed(h, watch)
    await at(h, watch.fired)
    h.sap.inject_fault("unavailable", times=3)
    handle = await start_watch(h, watch.id)
    result = await result_at(h, handle, watch.done)

    assert result.stopped == len(watch.stopped)
    history = await handle.fetch_history()
    attempts = [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
    ]
    assert attempts[0] == 4  # SAP's report, asked until SAP answered


async def test_a_unit_address_topdesk_refuses_gets_the_case_at_the_service_centres_address(
    h: Harness,
):
    watch = await Watch.next(h)
    seed(h, watch)
    await at(h, watch.fired)
    h.simulator.inject_fault(
        FaultRule(kind="status", method="POST", path_prefix="/tas/api/incidents", status=400)
    )
    handle = await start_watch(h, watch.id)
    result = await result_at(h, handle, watch.done)

    assert result.stopped == len(watch.stopped) and len(result.cases) == 3
    callers = {}
    for case in result.cases:
        incident = h.topdesk.get_incident(case.case_number)
        assert incident.caller is not None
        callers[case.unit] = incident.caller.email
    first = min(callers)  # the units are told in the order of their names
    assert callers[first] == SERVICE_CENTRE_EMAIL != UNIT_EMAIL.get(first)
