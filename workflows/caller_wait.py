"""The wait for the caller's answer, which every process shares.

Seed 000: ask, remind before TOPdesk's ten days run out, and close the case cleanly when no answer
comes. Seed 002 adds the summer rule: the centre does not use "Venter på bruker" in summer, since
absence would close cases. In the period (`domain/summer.py`) the wait shows "På vent" and has no
last day; a wait the period's start meets moves there at once, and one it outlasts is asked again
with a full answer period from the period's end, so no case closes for a silence begun in summer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.cases import (
        CLOSED_WITHOUT_REPLY,
        CaseOutcome,
        TopdeskStatus,
        WaitState,
        answer_deadline,
        ask_caller,
        question,
        remind_caller,
    )
    from domain.summer import (
        SummerPeriod,
        summer_hold,
        summer_meets,
        summer_question,
        summer_window,
    )
    from workflows import versions

if TYPE_CHECKING:
    from workflows.case import CaseConversation


async def wait_for_caller(case: CaseConversation, problems: list[str]) -> None:
    """Ask the caller and wait for the answer. Returns once the caller has replied after being
    asked (what they wrote before is in the case text, and is read again, but is no answer);
    raises CaseClosed when the last day to answer passed in silence."""
    case.unread_events = 0
    period = case.timings.summer
    if period is None or not _touched(case, period) or not versions.waits_through_summer():
        await _ask(case, problems, None)  # no summer in sight: the rule as it always was
        return
    asked = False
    while True:
        start, end = summer_window(period, workflow.now())
        if workflow.now() < start:
            if await _ask(case, problems, start):
                return
        elif await _hold(case, problems, end, asked):
            return
        asked = True


def _touched(case: CaseConversation, period: SummerPeriod) -> bool:
    now = workflow.now()
    return summer_meets(period, now, answer_deadline(now, case.timings.caller_gives_up_after))


async def _ask(case: CaseConversation, problems: list[str], until: datetime | None) -> bool:
    """ "Venter på bruker": ask, remind, and close after the last day to answer. True once the
    caller replied; False when `until` (the summer's start) came first."""
    timings = case.timings
    deadline = answer_deadline(workflow.now(), timings.caller_gives_up_after)
    await case.tell(
        ask_caller(problems, deadline),
        TopdeskStatus.AWAITING_CALLER,
        WaitState.AWAITING_CALLER,
        "; ".join(problems),
        deadline,
    )
    if await _answered(case, timings.caller_reminder_after, until, "påminnelse til innmelder"):
        return True
    if _reached(until):
        return False
    await case.reply(remind_caller(deadline))
    if await _answered(case, deadline - workflow.now(), until, "siste svarfrist"):
        return True
    if _reached(until):
        return False
    await case.close(CLOSED_WITHOUT_REPLY, outcome=CaseOutcome.CLOSED_WITHOUT_REPLY)
    return False  # not reached: closing raises CaseClosed


async def _hold(case: CaseConversation, problems: list[str], end: datetime, asked: bool) -> bool:
    """The summer's "På vent", still a wait for the caller (its SLA clock stays paused), until
    the period's end (its due date, so the radar counts from there). The caller is told why and
    until when: asked now, or told that the question asked before waits. True once the caller
    replied; False when the period ended."""
    text = summer_hold(end) if asked else summer_question(question(problems), end)
    await case.tell(
        text, TopdeskStatus.ON_HOLD, WaitState.AWAITING_CALLER, "; ".join(problems), end
    )
    return await _answered(case, end - workflow.now(), None, "sommerperiodens slutt")


async def _answered(
    case: CaseConversation, timeout: timedelta, until: datetime | None, summary: str
) -> bool:
    """Wait for a reply for `timeout`, or until `until` if that comes first."""
    if until is not None:
        timeout = min(timeout, until - workflow.now())
    return await case.wait_for(lambda: case.unread_events > 0, timeout, summary)


def _reached(until: datetime | None) -> bool:
    return until is not None and workflow.now() >= until
