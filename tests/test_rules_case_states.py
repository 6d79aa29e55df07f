"""Seed 000's case rules as pure domain rules (docs/rules.md): the TOPdesk statuses saksflyt
writes (§4 "Statuser i NTNU Hjelp"), the last day a caller may answer before TOPdesk's ten idle
days complete the case (§4), and the escalation ladder (§7 "Avvikshåndtering")."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from domain.calendar_day import OSLO, norwegian_day
from domain.cases import (
    ESCALATION_LADDER,
    TOPDESK_STATUS_OF,
    CaseTimings,
    TopdeskStatus,
    WaitState,
    answer_deadline,
    escalation_note,
    rungs_due,
)

# -- §4: the statuses --------------------------------------------------------------------------


def test_saksflyt_writes_only_the_statuses_the_centre_uses():
    assert set(TOPDESK_STATUS_OF.values()) == {
        TopdeskStatus.IN_PROGRESS,
        TopdeskStatus.AWAITING_CALLER,
        TopdeskStatus.ON_HOLD,
        TopdeskStatus.COMPLETED,
    }
    # Registrert and Tildelt are TOPdesk's; Oppdatert av bruker, Lukket and Gjenåpnet av bruker
    # are set by TOPdesk when the caller acts. saksflyt writes none of them.
    assert set(TopdeskStatus) - set(TOPDESK_STATUS_OF.values()) == {
        TopdeskStatus.REGISTERED,
        TopdeskStatus.ASSIGNED,
        TopdeskStatus.UPDATED_BY_CALLER,
        TopdeskStatus.CLOSED,
        TopdeskStatus.REOPENED_BY_CALLER,
    }


def test_only_a_wait_for_the_caller_shows_venter_paa_bruker():
    waiting_for_caller = [
        state
        for state, status in TOPDESK_STATUS_OF.items()
        if status is TopdeskStatus.AWAITING_CALLER
    ]
    assert waiting_for_caller == [WaitState.AWAITING_CALLER]


def test_a_wait_for_others_or_a_date_shows_paa_vent_and_the_end_fullfort():
    assert TOPDESK_STATUS_OF[WaitState.ON_HOLD] is TopdeskStatus.ON_HOLD
    assert TOPDESK_STATUS_OF[WaitState.AWAITING_PAYROLL] is TopdeskStatus.ON_HOLD
    assert TOPDESK_STATUS_OF[WaitState.DONE] is TopdeskStatus.COMPLETED
    assert TOPDESK_STATUS_OF[WaitState.WORKING] is TopdeskStatus.IN_PROGRESS


# -- §4: ten idle days in "Venter på bruker" ---------------------------------------------------

TIMINGS = CaseTimings()


@pytest.mark.parametrize(
    "asked",
    [
        datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
        datetime(2026, 11, 23, 23, 30, tzinfo=UTC),  # already the 24th in Norway
        datetime(2026, 3, 20, 12, 0, tzinfo=UTC),  # the wait spans the spring clock change
        datetime(2026, 10, 16, 12, 0, tzinfo=UTC),  # the wait spans the autumn clock change
        datetime(2026, 12, 31, 22, 59, tzinfo=UTC),  # the last minute of the year in Norway
    ],
)
def test_the_last_day_to_answer_ends_before_topdesks_ten_days(asked: datetime):
    deadline = answer_deadline(asked, TIMINGS.caller_gives_up_after)
    asked_on = norwegian_day(asked)
    last_day = deadline.astimezone(OSLO).date()
    # The caller may answer all of the ninth Norwegian day after being asked ...
    assert last_day == asked_on + timedelta(days=9)
    assert deadline.astimezone(OSLO).time() == time.max
    # ... which ends before the tenth Norwegian day begins, and the reminder comes before it.
    tenth_day = datetime.combine(asked_on + timedelta(days=10), time.min, tzinfo=OSLO)
    assert deadline < tenth_day
    assert asked + TIMINGS.caller_reminder_after < deadline


# -- §7: the escalation ladder -----------------------------------------------------------------


def test_the_ladder_is_the_agreements_four_rungs_in_order():
    assert [rung.split()[0] for rung in ESCALATION_LADDER] == [
        "Brukerstøtte",
        "Saksbehandling",
        "Prosessansvarlig",
        "Leder",
    ]
    assert "øverste trinn" in escalation_note(len(ESCALATION_LADDER), "grunn.")
    assert "øverste trinn" not in escalation_note(1, "grunn.")


def test_a_case_climbs_one_rung_at_the_limit_and_one_more_each_period_up_to_the_top():
    limit, every = timedelta(days=7), timedelta(days=5)
    assert rungs_due(limit - timedelta(seconds=1), limit, every) == 0
    assert rungs_due(limit, limit, every) == 1
    assert rungs_due(limit + every - timedelta(seconds=1), limit, every) == 1
    assert rungs_due(limit + every, limit, every) == 2
    assert rungs_due(limit + 3 * every, limit, every) == len(ESCALATION_LADDER)
    assert rungs_due(limit + 30 * every, limit, every) == len(ESCALATION_LADDER)
