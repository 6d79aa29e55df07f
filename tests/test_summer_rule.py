"""The summer rule (seed 002: the centre does not use "Venter på bruker" in summer, since absence
would close cases), on the time-skipping server against the TOPdesk simulator: in the period a
wait for the caller shows "På vent" and never closes; a wait the period's start meets moves there,
one it outlasts is asked again with a full answer period from the period's end."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.client import WorkflowHandle

from domain.calendar_day import OSLO
from domain.cases import CaseOutcome, CaseTimings, WaitState, answer_deadline
from domain.summer import SummerPeriod, in_summer, summer_window
from tests.harness import Harness, form_without
from tests.scenarios_summer import (
    on_hold_through_the_summer,
    sleep_until,
    summer_from_now,
    window,
)
from workers.settings import Settings
from workflows import versions
from workflows.new_hire import NewHireWorkflow

NO_BANK_ACCOUNT = form_without("Kontonummer")
ACCOUNT = "Kontonummer: 8601 11 17947"
DAY = timedelta(days=1)


async def markers(handle: WorkflowHandle) -> list[str]:
    """The patch ids the run's history carries (core's markers, plain JSON)."""
    events = (await handle.fetch_history()).events
    return [
        json.loads(payload.data)["id"]
        for event in events
        if event.marker_recorded_event_attributes.marker_name == "core_patch"
        for payload in event.marker_recorded_event_attributes.details["patch-data"].payloads
    ]


async def test_a_question_asked_in_summer_waits_on_hold_without_closing_and_the_reply_carries_on(
    h: Harness,
):
    h.timings = CaseTimings(summer=await summer_from_now(h, -1, 20))
    _, end = await window(h, h.timings.summer)  # type: ignore[arg-type]
    number = h.submit(NO_BANK_ACCOUNT)
    handle = await h.start(number)
    asked = await h.wait_progress(
        handle, lambda p: p.state is WaitState.AWAITING_CALLER, "the caller asked"
    )
    await h.wait_replies(number, 2)

    assert h.status(number) == "På vent"  # not "Venter på bruker", which TOPdesk would close
    assert asked.due == end  # until the period's end, as seed 000 asks of every hold
    question = h.replies(number)[1]
    assert "Kontonummer mangler" in question and "står på vent" in question
    assert f"{end - DAY:%d.%m.%Y}" in question and "lukkes saken" not in question
    await h.env_sleep(12 * DAY)  # past the reminder and TOPdesk's ten days
    assert len(h.replies(number)) == 2  # no reminder, no close
    assert h.status(number) == "På vent" and not h.topdesk.get_incident(number).completed

    await h.reply(handle, number, ACCOUNT)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    assert len(h.sap.registrations()) == 1
    assert versions.SUMMER_RULE in await markers(handle)


async def test_a_wait_the_summer_begins_in_moves_to_paa_vent_and_loses_its_last_day(h: Harness):
    h.timings = CaseTimings(summer=await summer_from_now(h, 3, 40))
    start, end = await window(h, h.timings.summer)  # type: ignore[arg-type]
    number = h.submit(NO_BANK_ACCOUNT)
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    assert h.status(number) == "Venter på bruker"

    await sleep_until(h, start)
    await h.wait_replies(number, 3)
    moved = await handle.query(NewHireWorkflow.progress)
    assert h.status(number) == "På vent" and moved.state is WaitState.AWAITING_CALLER
    assert moved.due == end and moved.sla.paused  # still the caller's wait: no SLA time
    assert (
        "står på vent" in h.replies(number)[2] and f"{end - DAY:%d.%m.%Y}" in h.replies(number)[2]
    )
    await h.env_sleep(14 * DAY)  # the old last day long gone
    assert len(h.replies(number)) == 3 and not h.topdesk.get_incident(number).completed

    await h.reply(handle, number, ACCOUNT)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)


async def test_a_wait_the_summer_ends_in_gets_a_full_answer_period_then_closes_if_silent(
    h: Harness,
):
    h.timings = CaseTimings(summer=await summer_from_now(h, -5, 2))
    _, end = await window(h, h.timings.summer)  # type: ignore[arg-type]
    number = h.submit(NO_BANK_ACCOUNT)
    handle = await h.start(number)
    await h.wait_replies(number, 2)
    assert h.status(number) == "På vent"

    await sleep_until(h, end)
    await h.wait_replies(number, 3)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)  # "Venter på bruker" again
    fresh = answer_deadline(end, h.timings.caller_gives_up_after)
    again = h.replies(number)[2]
    assert "Kontonummer mangler" in again and f"{fresh.astimezone(OSLO):%d.%m.%Y}" in again
    assert (await handle.query(NewHireWorkflow.progress)).due == fresh

    result = await handle.result()  # silence: reminded, then closed after the fresh last day
    assert result.outcome is CaseOutcome.CLOSED_WITHOUT_REPLY
    assert await h.env.get_current_time() >= fresh
    assert "Påminnelse" in h.replies(number)[3] and h.topdesk.get_incident(number).completed


async def test_with_the_setting_off_a_wait_is_as_before_and_carries_no_marker(h: Harness):
    assert h.timings.summer is None  # the harness's and every input's default: off
    number = h.submit(NO_BANK_ACCOUNT)
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    assert h.status(number) == "Venter på bruker"
    result = await handle.result()
    assert result.outcome is CaseOutcome.CLOSED_WITHOUT_REPLY
    assert versions.SUMMER_RULE not in await markers(handle)


async def test_the_recorded_scenario_waits_through_a_summer_and_is_registered(h: Harness):
    handle = await on_hold_through_the_summer(h)
    result = await handle.result()
    assert result.outcome is CaseOutcome.REGISTERED


async def test_a_period_the_summer_does_not_touch_takes_the_old_path_without_a_marker(
    h: Harness,
):
    h.timings = CaseTimings(summer=await summer_from_now(h, 30, 60))
    number = h.submit(NO_BANK_ACCOUNT)
    handle = await h.start(number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    await h.reply(handle, number, ACCOUNT)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    assert versions.SUMMER_RULE not in await markers(handle)


# -- the period and the settings ------------------------------------------------------------------


def test_the_default_is_the_summer_months_and_either_setting_empty_turns_it_off(monkeypatch):
    monkeypatch.delenv("SAKSFLYT_SUMMER_FROM")  # tests/conftest.py turns the rule off
    assert Settings().case_timings().summer == SummerPeriod(first="01.06", last="31.08")
    assert Settings(summer_to="").case_timings().summer is None
    assert Settings(summer_from="20.06", summer_to="10.08").case_timings().summer == SummerPeriod(
        first="20.06", last="10.08"
    )
    with pytest.raises(ValueError, match=r"DD\.MM"):
        Settings(summer_from="29.02")
    with pytest.raises(ValueError, match=r"DD\.MM"):
        Settings(summer_to="august")


def test_the_period_runs_from_norwegian_midnight_to_the_midnight_after_its_last_day():
    summer = SummerPeriod()
    start, end = summer_window(summer, datetime(2027, 3, 1, tzinfo=UTC))
    assert (start, end) == (
        datetime(2027, 6, 1, tzinfo=OSLO),
        datetime(2027, 9, 1, tzinfo=OSLO),
    )
    assert not in_summer(summer, datetime(2027, 5, 31, 21, 59, tzinfo=UTC))  # 23:59 in Oslo
    assert in_summer(summer, datetime(2027, 5, 31, 22, 0, tzinfo=UTC))  # midnight in Oslo
    assert in_summer(summer, datetime(2027, 8, 31, 21, 59, tzinfo=UTC))
    assert not in_summer(summer, datetime(2027, 8, 31, 22, 0, tzinfo=UTC))
    # after it, the next year's
    assert summer_window(summer, datetime(2027, 10, 1, tzinfo=UTC))[0].year == 2028


def test_a_period_over_new_year_runs_into_the_next_year():
    winter = SummerPeriod(first="20.12", last="05.01")
    assert in_summer(winter, datetime(2027, 1, 3, 12, tzinfo=UTC))
    assert in_summer(winter, datetime(2027, 12, 24, 12, tzinfo=UTC))
    assert not in_summer(winter, datetime(2027, 1, 6, 12, tzinfo=UTC))
    assert summer_window(winter, datetime(2027, 1, 3, tzinfo=UTC))[1] == datetime(
        2027, 1, 6, tzinfo=OSLO
    )
