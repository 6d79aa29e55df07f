"""The SLA clock and business time (domain/sla.py): working days in Oslo, a clock that pauses
while the case waits for its caller, due separate from expiry, and the radar's queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.cases import OSLO
from domain.sla import (
    SlaClock,
    SlaStanding,
    SlaTarget,
    add_business_days,
    business_days_between,
    clock_in,
    due_at,
    expires_at,
    standing,
    waited,
)
from workers.case_index import CaseRow, rung_due, stuck_queries


def oslo(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=OSLO)  # type: ignore[misc]


def test_a_weekend_does_not_count_and_a_working_day_counts_whole():
    friday_noon, monday_noon = oslo(2026, 11, 27, 12), oslo(2026, 11, 30, 12)
    assert business_days_between(friday_noon, monday_noon) == pytest.approx(1.0)
    assert business_days_between(oslo(2026, 11, 30), oslo(2026, 12, 1)) == pytest.approx(1.0)
    assert business_days_between(oslo(2026, 11, 28), oslo(2026, 11, 30)) == 0.0  # Sat + Sun
    assert business_days_between(monday_noon, friday_noon) == 0.0


def test_public_holidays_do_not_count_but_christmas_eve_does():
    # Thu 24.12.2026 counts (no public holiday); 25th, 26th (Sat), 27th (Sun) do not
    assert business_days_between(oslo(2026, 12, 24), oslo(2026, 12, 28)) == pytest.approx(1.0)
    # Easter 2026: Maundy Thursday 2.4, Good Friday 3.4, Easter Monday 6.4
    assert business_days_between(oslo(2026, 4, 1), oslo(2026, 4, 8)) == pytest.approx(2.0)


def test_a_23_hour_day_at_the_summer_time_change_still_counts_as_one_day():
    # Europe/Oslo moves to summer time on Sunday 29.3.2026; Monday 30.3 is a normal day, and a
    # span of whole Oslo days counts whole even across the change.
    assert business_days_between(oslo(2026, 3, 27), oslo(2026, 3, 31)) == pytest.approx(2.0)
    friday = oslo(2026, 10, 23)  # winter time again on Sunday 25.10
    assert business_days_between(friday, add_business_days(friday, 2)) == pytest.approx(2.0)
    assert add_business_days(friday, 2) == oslo(2026, 10, 27)


@given(
    start=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    days=st.floats(min_value=-60, max_value=60, allow_nan=False),
)
def test_adding_business_days_is_the_inverse_of_counting_them(start: datetime, days: float):
    moved = add_business_days(start, days)
    counted = business_days_between(min(start, moved), max(start, moved))
    assert counted == pytest.approx(abs(days), abs=1e-6)
    assert moved >= start if days >= 0 else moved <= start


def test_the_clock_pauses_while_the_caller_is_asked_and_resumes_where_it_stopped():
    monday = oslo(2026, 11, 30, 9)
    clock = SlaClock(started=monday)
    asked = clock_in("awaiting_caller", clock, monday + timedelta(days=1))
    assert asked.paused and asked.elapsed == pytest.approx(1.0)
    # a week with the caller: nothing on the clock
    assert asked.elapsed_at(monday + timedelta(days=8)) == pytest.approx(1.0)
    resumed = clock_in("working", asked, monday + timedelta(days=8))  # Tue 8.12 09:00
    assert not resumed.paused
    assert resumed.elapsed_at(monday + timedelta(days=9)) == pytest.approx(2.0)
    # waiting for the manager, or on hold, keeps it running
    assert clock_in("awaiting_approval", resumed, monday + timedelta(days=9)) == resumed.model_copy(
        update={"elapsed": resumed.elapsed_at(monday + timedelta(days=9))}
    )
    done = clock_in("done", resumed, monday + timedelta(days=10))
    assert done.paused and done.elapsed == pytest.approx(3.0)


def test_due_is_told_before_expiry_and_overdue_is_read_from_the_clock_not_stored():
    target = SlaTarget(due_days=3, expires_days=5)
    monday = oslo(2026, 11, 30, 9)
    clock = SlaClock(started=monday)
    assert standing(clock, target, oslo(2026, 12, 2, 9)) is SlaStanding.ON_TIME
    assert standing(clock, target, oslo(2026, 12, 3, 9)) is SlaStanding.DUE
    assert standing(clock, target, oslo(2026, 12, 7, 9)) is SlaStanding.EXPIRED  # over a weekend
    assert due_at(clock, target) == oslo(2026, 12, 3, 9)
    assert expires_at(clock, target) == oslo(2026, 12, 7, 9)
    # a paused clock has no date (it moves when the clock runs again), but keeps its standing
    paused = clock.pause(oslo(2026, 12, 4, 9))
    assert due_at(paused, target) is None
    assert standing(paused, target, oslo(2027, 3, 1)) is SlaStanding.DUE
    # a new target applies at once: nothing about the case changes but the verdict
    assert standing(clock, SlaTarget(due_days=1, expires_days=2), oslo(2026, 12, 2, 9)) == "expired"


def test_a_wait_for_a_date_counts_from_that_date_and_other_waits_from_their_start():
    since, due, now = oslo(2026, 11, 2, 9), oslo(2026, 11, 30, 9), oslo(2026, 12, 2, 9)
    assert waited("awaiting_payroll", since, due, now) == pytest.approx(2.0)
    assert waited("on_hold", since, due, now) == pytest.approx(2.0)
    assert waited("awaiting_approval", since, due, now) == pytest.approx(22.0)


def test_the_radar_queries_name_each_limit_with_the_working_day_cutoff():
    now = oslo(2026, 12, 7, 12)  # Monday
    queries = stuck_queries(
        {"awaiting_approval": 5, "on_hold": 2},
        {"new_hire": SlaTarget(due_days=3, expires_days=5)},
        now,
    )
    assert queries[("wait", "awaiting_approval", 5)] == (
        "ExecutionStatus = 'Running' AND WaitState = 'awaiting_approval' "
        "AND WaitingSince < '2026-11-30T11:00:00Z'"
    )
    assert queries[("wait", "on_hold", 2)].endswith(
        "AND (DueDate < '2026-12-03T11:00:00Z' OR "
        "(DueDate IS NULL AND WaitingSince < '2026-12-03T11:00:00Z'))"
    )
    assert queries[("sla_expired", "new_hire", 5)] == (
        "ExecutionStatus = 'Running' AND Process = 'new_hire' "
        "AND SlaClockStart < '2026-11-30T11:00:00Z'"
    )
    assert queries[("sla_due", "new_hire", 3)].endswith(
        "SlaClockStart < '2026-12-02T11:00:00Z' AND SlaNotified IS NULL"
    )


def test_adding_no_time_stays_put_even_on_a_weekend():
    saturday = oslo(2026, 11, 28, 12)
    assert add_business_days(saturday, 0) == saturday
    assert SlaClock(started=None, elapsed=0.0).resume(saturday).started == saturday


def test_the_radar_flags_a_case_only_when_a_rung_is_due_that_it_has_not_climbed():
    since = oslo(2026, 11, 2, 9)  # Monday
    row = CaseRow(
        workflow_id="new-hire-I1",
        run_id=None,
        workflow_type="NewHire",
        status="RUNNING",
        process="new_hire",
        state="awaiting_approval",
        waiting_since=since,
        escalation_level=1,
        sla=SlaClock(started=since),
        start_time=since,
    )
    three_days_on, eight_days_on = add_business_days(since, 3), add_business_days(since, 8)
    assert not rung_due(row, "wait", 2, three_days_on)  # rung 1 is due, and climbed
    assert rung_due(row, "wait", 2, eight_days_on)  # rung 2 (5 working days on) is not
    assert not rung_due(row.model_copy(update={"escalation_level": 4}), "wait", 2, eight_days_on)
    assert rung_due(row.model_copy(update={"escalation_level": 0}), "sla_expired", 5, eight_days_on)
    assert not rung_due(row, "sla_expired", 5, eight_days_on)
