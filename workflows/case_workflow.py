"""What every process workflow shares: the caller's replies reach its case, case handlers and
the stuck-case radar act on it by signal, and a query says where it stands. The conversation with
the TOPdesk case itself is `workflows/case.py`.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.cases import (
        CaseEvent,
        CaseProgress,
        OperatorAction,
        RadarFlag,
        WaitState,
        sla_due_note,
        sla_expired_why,
        stuck_why,
    )
    from domain.sla import waited
    from workflows import search_attributes as sa
    from workflows import versions
    from workflows.case import CaseConversation
    from workflows.operator_wait import WAITS_FOR_OPERATOR
    from workflows.refusals import final_reason


class CaseWorkflow:
    """What every process workflow shares: the caller's replies reach the case conversation,
    and case handlers query where the case stands. A process sets `self.case` in its init."""

    case: CaseConversation

    @workflow.signal
    async def caller_replied(self, event: CaseEvent) -> None:
        self.case.on_event(event)
        await self.forward_caller_event(event)

    # A stuck case's answer to the radar is abandoned if the routine ends meanwhile: the note
    # would be about a case that has moved on.
    @workflow.signal(unfinished_policy=workflow.HandlerUnfinishedPolicy.ABANDON)
    async def radar_flagged(self, flag: RadarFlag) -> None:
        # A worker from before the radar took this signal without a handler (no commands);
        # replaying that history must not now escalate (a rolling deploy).
        if not versions.answers_radar():
            return
        if not self.case.first_time(flag.event_id) or self.handed_over():
            return
        WAITS_FOR_OPERATOR.set(False)  # this handler's own task: a refusal here is logged
        try:
            await answer_radar(self.case, flag)
        except ActivityError as error:  # TOPdesk refused the note: the routine goes on
            workflow.logger.warning("radar flag not written: %s", final_reason(error) or error)

    def handed_over(self) -> bool:
        """Whether a child workflow carries the case now (it answers the radar itself); a
        parent that started its child before `handed_over` existed still shows "working"."""
        return False

    @workflow.signal
    def operator_action(self, action: OperatorAction) -> None:
        """A person's action on the case, recorded before it is carried out (who and why)."""
        if self.case.first_time(action.event_id):
            self.case.progress.operator_actions.append(action)
            workflow.logger.info("operator action %s by %s", action.action, action.operator)

    async def forward_caller_event(self, event: CaseEvent) -> None:
        """A process whose child workflow works on the same case passes the event on to it."""

    @workflow.query
    def progress(self) -> CaseProgress:
        return self.case.progress

    async def open_case(self, receipt: str) -> None:
        """Leave a case that is not ours before anything is written; then tell the caller the
        case is received and being worked on."""
        await self.case.read()
        await self.case.acknowledge(receipt)


async def answer_radar(case: CaseConversation, flag: RadarFlag) -> None:
    """The stuck-case radar found the case past a limit. The case checks against its own
    state, which may have moved since the radar looked: an SLA due mark tells the handler
    once, an expired SLA or a wait past its limit climbs the escalation ladder."""
    progress, now = case.progress, workflow.now()
    if progress.state is WaitState.DONE or flag.state not in (None, progress.state.value):
        return  # the wait the radar saw is over
    if flag.reason == "wait":
        days = waited(progress.state, progress.since, progress.due, now)
        why = stuck_why(progress.state, days, flag.limit_days)
        await case.escalate_if_overdue(_days(days), _days(flag.limit_days), why)
        return
    elapsed = progress.sla.elapsed_at(now)
    if flag.reason == "sla_expired":
        why = sla_expired_why(elapsed, flag.limit_days)
        await case.escalate_if_overdue(_days(elapsed), _days(flag.limit_days), why)
    elif flag.reason == "sla_due" and elapsed >= flag.limit_days and not progress.sla_notified:
        progress.sla_notified = True
        workflow.upsert_search_attributes([sa.SLA_NOTIFIED.value_set(True)])
        await case.note(sla_due_note(elapsed, flag.limit_days))


def _days(business_days: float) -> timedelta:
    """Working days as the escalation ladder counts them (its rungs are `escalation_every`)."""
    return timedelta(days=business_days)
