"""Every "today" in a rule is the Norwegian day: at 23:30 UTC on the eve of a date, Norway is
already on that date (UTC+1 in winter, UTC+2 in summer)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Self

import pytest
from stdnum.no import fodselsnummer
from temporalio.client import WorkflowHandle
from temporalio.testing import ActivityEnvironment

import activities.topdesk
from activities.topdesk import CaseRef, TopdeskActivities
from adapters.topdesk.client import TopdeskClient
from adapters.topdesk.models import NewIncident, Ref
from domain.calendar_day import OSLO, NaiveMoment, norwegian_day
from domain.cases import WaitState
from domain.employment import Employment
from domain.extension import late_decision_warning
from domain.forms import format_date
from domain.identifiers import SEALED, InvalidIdentifier, national_id, sealed_kinds
from tests.harness import Harness, form_without
from workers.settings import Settings
from workers.worker import seal_of
from workflows import versions

# Born 15.01.2027 (individnummer 512: the 2000s), checked on 14.01 in UTC but 15.01 in Norway.
BORN_15_JAN_2027 = "15012751270"
EVE_IN_WINTER = datetime(2027, 1, 14, 23, 30, tzinfo=UTC)  # 00:30 on 15.01 in Oslo

# More than a year, ending 31.08.2027: the notice is late from 01.08.2027, one month before.
TEMPORARY = Employment(
    employee_number="05001234", start_date=date(2025, 8, 1), end_date=date(2027, 8, 31)
)
EVE_IN_SUMMER = datetime(2027, 7, 31, 23, 30, tzinfo=UTC)  # 01:30 on 01.08 in Oslo


def test_at_half_past_eleven_utc_in_winter_it_is_already_the_next_day_in_norway():
    assert norwegian_day(EVE_IN_WINTER) == date(2027, 1, 15)


def test_at_half_past_eleven_utc_in_summer_it_is_already_the_next_day_in_norway():
    assert norwegian_day(EVE_IN_SUMMER) == date(2027, 8, 1)


def test_summer_time_moves_the_norwegian_midnight_an_hour_earlier_in_utc():
    assert norwegian_day(datetime(2027, 1, 14, 22, 30, tzinfo=UTC)) == date(2027, 1, 14)
    assert norwegian_day(datetime(2027, 7, 31, 22, 30, tzinfo=UTC)) == date(2027, 8, 1)


def test_a_moment_in_any_zone_gives_the_same_norwegian_day():
    new_york = timezone(timedelta(hours=-5))
    assert norwegian_day(EVE_IN_WINTER.astimezone(new_york)) == date(2027, 1, 15)


def test_a_moment_without_a_zone_is_refused_rather_than_read_in_the_machines_zone():
    with pytest.raises(NaiveMoment):
        norwegian_day(datetime(2027, 1, 14, 23, 30))


def test_a_fodselsnummer_born_today_in_norway_is_valid_at_half_past_eleven_utc_the_eve():
    assert national_id(BORN_15_JAN_2027, norwegian_day(EVE_IN_WINTER)) == BORN_15_JAN_2027
    # the UTC date would have called the birth date a day in the future
    with pytest.raises(InvalidIdentifier, match="fremtiden"):
        national_id(BORN_15_JAN_2027, EVE_IN_WINTER.date())


def test_the_extensions_late_notice_warning_comes_on_the_norwegian_day():
    warning = late_decision_warning(TEMPORARY, norwegian_day(EVE_IN_SUMMER))
    assert warning is not None and "31.08.2027" in warning
    # on 31.07 the unit is still in time: the UTC date would have kept quiet
    assert late_decision_warning(TEMPORARY, EVE_IN_SUMMER.date()) is None


class _EveInWinter(datetime):
    """The activity's clock stopped at 23:30 UTC on 14.01.2027."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> Self:
        return cls.fromtimestamp(EVE_IN_WINTER.timestamp(), tz)


def test_the_case_snapshot_seals_a_fodselsnummer_born_today_in_norway(
    topdesk: TopdeskClient, monkeypatch: pytest.MonkeyPatch
):
    """The snapshot seals only identifiers valid today; a number born "in the future" stays in
    clear for the workflow to refuse. At 23:30 UTC the eve, the birth day is today in Norway."""
    monkeypatch.setattr(activities.topdesk, "datetime", _EveInWinter)
    number = topdesk.create_incident(
        NewIncident(
            brief_description="Nyansettelse",
            request=f"Fødselsnummer: {BORN_15_JAN_2027}",
            category=Ref(name="Nyansettelse"),
        )
    ).number
    read_case = TopdeskActivities(topdesk, seal_of(Settings())).read_case

    snapshot = ActivityEnvironment().run(read_case, CaseRef(case_number=number))

    [sealed] = [match[0] for match in SEALED.finditer(snapshot.texts[0])]
    assert BORN_15_JAN_2027 not in snapshot.texts[0]
    assert "fnr" in (sealed_kinds(sealed) or set())


# -- the workflows, on the time-skipping server at 23:30 UTC on the eve -----------------------
# The server's clock starts at the real date and only skips forward, so each moment is taken a
# few days ahead of it: the tests mean the same whatever day they run on.


async def _days_ahead(h: Harness, days: int) -> date:
    """The Norwegian day `days` after the test server's."""
    return norwegian_day(await h.env.get_current_time()) + timedelta(days=days)


def _eve(day: date) -> datetime:
    """23:30 UTC the evening before `day`: already `day` in Norway, in winter and in summer."""
    return datetime.combine(day - timedelta(days=1), time(23, 30), tzinfo=UTC)


async def _notice(h: Harness) -> tuple[date, date]:
    """The last day an extension decision is in time, a few days ahead, and the end date one
    month after it of `Harness.submit_extension`'s employee (temporary since 2025): a decision
    on the first day is in time, one on the next day is late."""
    in_time = await _days_ahead(h, 3)
    while in_time.day > 28:  # a day every month has, so "one month before" is plain
        in_time += timedelta(days=1)
    years, month = divmod(in_time.month, 12)  # the month after, January after December
    return in_time, date(in_time.year + years, month + 1, in_time.day)


def _late_evening(day: date) -> datetime:
    """22:30 in Oslo (20:30 or 21:30 UTC) on `day`: still `day` in Norway and in UTC."""
    return datetime.combine(day, time(22, 30), tzinfo=OSLO)


def _national_id_born(day: date) -> str:
    """A valid fødselsnummer born on `day` (individnummer from 500: the 2000s)."""
    for individual in range(512, 1000):
        base = f"{day:%d%m%y}{individual:03d}"
        check = fodselsnummer.calc_check_digit1(base)
        if len(check) == 1 and len(last := fodselsnummer.calc_check_digit2(base + check)) == 1:
            return base + check + last
    raise AssertionError(f"no fødselsnummer for {day}")


async def _extension_at(
    h: Harness, moment: datetime, end: date
) -> tuple[WorkflowHandle, list[str]]:
    """The extension of an employee ending `end` decided at `moment`, waiting for the manager,
    and its warnings."""
    await h.env_sleep(moment - await h.env.get_current_time())
    number = h.submit_extension(end=end, start=date(2025, 1, 1))
    handle = await h.start_extension(number)
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    return handle, [reply for reply in h.replies(number) if reply.startswith("Merk")]


async def _extension_warnings_at(h: Harness, moment: datetime, end: date) -> list[str]:
    return (await _extension_at(h, moment, end))[1]


async def _patches(handle: WorkflowHandle) -> list[str]:
    """The patch ids the run's history carries (core's markers, plain JSON)."""
    events = (await handle.fetch_history()).events
    markers = [e.marker_recorded_event_attributes for e in events]
    return [
        json.loads(payload.data)["id"]
        for marker in markers
        if marker.marker_name == "core_patch"
        for payload in marker.details["patch-data"].payloads
    ]


async def test_an_extension_decided_late_on_the_last_evening_in_time_warns_nobody(h: Harness):
    in_time, end = await _notice(h)
    assert await _extension_warnings_at(h, _late_evening(in_time), end) == []


async def test_an_extension_decided_after_norwegian_midnight_warns_the_unit(h: Harness):
    in_time, end = await _notice(h)
    [warning] = await _extension_warnings_at(h, _eve(in_time + timedelta(days=1)), end)
    assert format_date(end) in warning


async def test_a_new_hire_born_today_in_norway_is_registered_at_half_past_eleven_utc(
    h: Harness,
):
    """The snapshot's seal runs on the worker's own clock, which the test server does not move:
    it leaves this number (born a few days after the real date) in clear, and the workflow's own
    "today" decides."""
    born = await _days_ahead(h, 3)
    await h.env_sleep(_eve(born) - await h.env.get_current_time())
    form = form_without("Fødselsnummer", extra=f"Fødselsnummer: {_national_id_born(born)}")
    handle = await h.start(h.submit(form))
    past_the_check = {WaitState.AWAITING_CALLER, WaitState.AWAITING_APPROVAL}
    progress = await h.wait_progress(
        handle, lambda progress: progress.state in past_the_check, "the form checked"
    )

    assert progress.state is WaitState.AWAITING_APPROVAL
    assert len(h.sap.registrations()) == 1


async def test_only_a_case_that_meets_norwegian_midnight_carries_the_patch(h: Harness):
    """Cases started before judged the UTC day; the patch that changes it is asked only when
    the two days differ, so the other histories stay as they were."""
    in_time, end = await _notice(h)
    in_time_handle, _ = await _extension_at(h, _late_evening(in_time), end)
    assert versions.NORWEGIAN_TODAY not in await _patches(in_time_handle)
    after_midnight, _ = await _extension_at(h, _eve(in_time + timedelta(days=1)), end)
    assert versions.NORWEGIAN_TODAY in await _patches(after_midnight)
