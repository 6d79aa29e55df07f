"""Backfill (issue 4, "nothing lost"): every 15 minutes, find the TOPdesk cases whose webhook
never came, and send it.

TOPdesk may lose a notification, and whether its action sequences retry a failed HTTP call is
unconfirmed (topdesk-api.md §5.1); an intake that was down lost whatever came meanwhile. So a
Temporal Schedule (workers/schedules.py, overlap SKIP) starts this workflow, which
1. works out its window (domain/backfill.py, `window_start`): from where the previous run
   listed, less an overlap of 5 minutes;
2. lists, through an activity, the cases of the routed categories modified since then, every
   page (FIQL on `modificationDate`; 206 / `x-next-page-url` / 204), and decides per case which
   webhook TOPdesk should have sent (`hints_for`: created, or the caller's reply or reopening);
3. posts each webhook to the intake, one activity per case, exactly as TOPdesk would
   (activities/backfill.py says why): deduplication is the intake's and the workflows' own.
   An intake that is down is waited out (the activity retries, the next runs are skipped
   meanwhile, and the run after takes over from this run's listing); a wrong secret fails the
   run; a case the intake refuses for good is noted in the result and the rest go on.

The watermark. A Schedule starts every run with the same input, so where the last run got to is
not in it. The Schedule does hand each run the result of the last run that completed
(`workflow.get_last_completion_result`, the same mechanism cron workflows have); it is part of
the run's start event, so replay sees the same value. A run's result names the moment it listed,
and the next run starts there, less the overlap. A run that failed or was skipped moves nothing,
so the next one covers its window too: nothing falls between runs, however long the intake, the
cluster or the worker were away. Without a previous result (the first run, or a run started by
hand) the window is one interval and the overlap before the run's scheduled start; a run by hand
may also name its `since`. Deriving every window from the scheduled start alone would lose the
cases of every run that was skipped while one waited for the intake — the very outage this
workflow exists for. Continue-as-new was the other way to carry state, but it would make the
backfill one endless workflow instead of the schedule's runs an operator can see, pause and
trigger.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.backfill import INTAKE_REFUSED, BackfillActivities
    from domain.backfill import (
        BackfillInput,
        BackfillResult,
        CaseWindow,
        Hint,
        Sent,
        window_start,
    )
    from workflows.case import TOPDESK_RETRY, refused
    from workflows.search_attributes import scheduled_start

# Set by the server on every workflow a schedule starts: the nominal time of the action.

SEND_TIMEOUT = timedelta(seconds=30)
# Listing a long window (after an outage) reads many pages and trails: room for it, since a run
# that times out retries the same window.
FIND_TIMEOUT = timedelta(minutes=15)
# An intake outage may last; the intake's Retry-After, when it gives one, comes first.
SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
)


@workflow.defn(name="Backfill")
class Backfill:
    @workflow.run
    async def run(self, input: BackfillInput) -> BackfillResult:
        previous = (
            workflow.get_last_completion_result(BackfillResult)
            if workflow.has_last_completion_result()
            else None
        )
        since = window_start(input, previous, scheduled_start())
        found = await workflow.execute_activity_method(
            BackfillActivities.find_cases,
            CaseWindow(since=since, categories=input.categories, page_size=input.page_size),
            start_to_close_timeout=FIND_TIMEOUT,
            retry_policy=TOPDESK_RETRY,
        )
        sent = [await self._send(hint) for hint in found.hints]
        workflow.logger.info(
            "backfill: %d cases modified since %s, %d webhooks sent",
            found.listed,
            since.isoformat(),
            len(sent),
        )
        return BackfillResult(
            since=since, listed_at=found.listed_at, listed=found.listed, sent=sent
        )

    async def _send(self, hint: Hint) -> Sent:
        """One webhook to the intake; a refusal for good is kept in the result, not raised."""
        try:
            return await workflow.execute_activity_method(
                BackfillActivities.send,
                hint,
                start_to_close_timeout=SEND_TIMEOUT,
                retry_policy=SEND_RETRY,
            )
        except ActivityError as error:
            reason = refused(error, INTAKE_REFUSED)
            if reason is None:
                raise
            workflow.logger.warning("backfill: the intake refused %s: %s", hint.number, reason)
            return Sent(
                number=hint.number,
                event=hint.event,
                modification_date=hint.modification_date,
                refused=reason,
            )
