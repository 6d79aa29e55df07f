"""The conversation every process has with its TOPdesk case, shared by the process workflows.

It keeps the case's wait state (visible as a query, as search attributes and as the TOPdesk
processing status), re-reads the case when the caller has written, and runs the service
agreement's rule for waiting on the caller: ask, remind before TOPdesk's ten days run out, and
close the case cleanly when no answer comes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.topdesk import (
        CASE_CLOSED,
        CaseRef,
        CaseSnapshot,
        CaseWrite,
        TopdeskActivities,
    )
    from domain.cases import (
        ESCALATION_LADDER,
        TOPDESK_STATUS_OF,
        CaseEvent,
        CaseOutcome,
        CaseProgress,
        CaseTimings,
        TopdeskStatus,
        WaitState,
        case_details,
        escalation_note,
        rungs_due,
        withdrawn_note,
    )
    from domain.sla import SlaClock, clock_in
    from workflows import search_attributes as sa
    from workflows import versions
from workflows.caller_wait import wait_for_caller
from workflows.case_closed import CaseClosed
from workflows.handoff import hand_off, left_unseen, unrouted_note
from workflows.operator_wait import OperatorWait
from workflows.refusals import refused
from workflows.withdrawal import Withdrawable

TOPDESK_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
)
TOPDESK_TIMEOUT = timedelta(minutes=2)


class CaseConversation(Withdrawable, OperatorWait):
    """State and steps of one case; the owning workflow forwards its signals here. What a
    withdrawal takes back is `workflows/withdrawal.py`."""

    def __init__(self, process: str, category: str, case_number: str, timings: CaseTimings) -> None:
        super().__init__()
        self.case_number = case_number
        self.category = category
        self.timings = timings
        self.progress = CaseProgress(
            process=process,
            case_number=case_number,
            state=WaitState.WORKING,
            since=workflow.now(),
            sla=SlaClock(started=workflow.now()),
        )
        self.unread_events = 0
        self.topdesk_status: str | None = None
        self._seen: set[str] = set()
        self._events: list[CaseEvent] = []  # the caller's, for a hand-off to the right process
        self._read_before = False

    def first_time(self, event_id: str) -> bool:
        """Signals arrive at least once: remember ids so that a repeat changes nothing."""
        if event_id in self._seen:
            return False
        self._seen.add(event_id)
        return True

    def on_event(self, event: CaseEvent) -> None:
        if self.first_time(event.event_id):
            self.unread_events += 1
            self._events.append(event)

    async def move_to(self, state: WaitState, detail: str, due: datetime | None = None) -> None:
        """Enter a wait state and show it as the TOPdesk processing status. The search attributes
        come first, so a case stays findable while TOPdesk is down."""
        self._set_progress(state, detail, due)
        status = TOPDESK_STATUS_OF[state]
        if status != self.topdesk_status:
            await self.write(CaseWrite(case_number=self.case_number, status=status))

    async def hold(self, reply: str, state: WaitState, detail: str, until: datetime) -> None:
        """Put the case on hold ("På vent"), telling the caller why and until when: seed 000
        requires both whenever a case waits for something other than the caller."""
        await self.tell(reply, TOPDESK_STATUS_OF[state], state, detail, until)

    async def tell(
        self, reply: str, status: TopdeskStatus, state: WaitState, detail: str, due: datetime
    ) -> None:
        """Enter a wait state and tell the caller so, in one write with `status` (which is not
        always the state's own: a summer wait for the caller shows "På vent")."""
        self._set_progress(state, detail, due)
        await self.write(CaseWrite(case_number=self.case_number, reply=reply, status=status))

    async def acknowledge(self, reply: str) -> None:
        """Tell the caller the case is received and being worked on (seed 000, "Brukerstøtte")."""
        self._set_progress(WaitState.WORKING, "mottatt", None)
        await self.write(
            CaseWrite(case_number=self.case_number, reply=reply, status=TopdeskStatus.IN_PROGRESS)
        )

    def identify(self, unit: str | None, employee_key: str | None) -> None:
        """Who the case is about, as far as visibility may know: the unit, and the employee's
        pseudonym. Shown from the next state change on."""
        self.progress = self.progress.model_copy(
            update={
                "unit": unit or self.progress.unit,
                "employee_key": employee_key or self.progress.employee_key,
            }
        )

    def _set_progress(self, state: WaitState, detail: str, due: datetime | None) -> None:
        """Enter `state` (or stay in it with a new detail: the wait, and its due date unless a
        new one is given, go on)."""
        now = workflow.now()
        same = state is self.progress.state
        since = self.progress.since if same else now
        due = due or (self.progress.due if same else None)
        had_due = self.progress.due is not None
        clock = clock_in(state, self.progress.sla, now)
        self.progress = self.progress.model_copy(
            update={"state": state, "since": since, "due": due, "detail": detail, "sla": clock}
        )
        workflow.upsert_search_attributes(sa.case_attributes(self.progress, had_due))
        workflow.set_current_details(case_details(self.category, self.progress))

    async def read(self) -> CaseSnapshot:
        """Read the case as it is now; every event before this read is thereby handled."""
        self.unread_events = 0
        summary = f"TOPdesk: les sak {self.case_number}"

        def read() -> Awaitable[CaseSnapshot]:
            return workflow.execute_activity_method(
                TopdeskActivities.read_case,
                CaseRef(case_number=self.case_number),
                start_to_close_timeout=TOPDESK_TIMEOUT,
                retry_policy=TOPDESK_RETRY,
                summary=summary,
            )

        # A case TOPdesk refuses at the first read (no such case) was never ours: that fails.
        snapshot = await (self.or_operator(summary, read) if self._read_before else read())
        self.topdesk_status = snapshot.status
        first, self._read_before = not self._read_before, True
        if snapshot.category != self.category:
            # Not this process's form (a webhook that named the wrong category): leave the case
            # untouched, and on the first read hand it to its own process (`workflows/handoff.py`).
            workflow.logger.warning("case is not %s but %s", self.category, snapshot.category)
            if first and versions.hands_off_wrong_category():
                handed = await hand_off(
                    snapshot.category, self.case_number, self.timings, self._events
                )
                if handed is None and left_unseen(snapshot.category):  # a person must take it
                    await self.note(unrouted_note(self.category, snapshot.category))
            raise CaseClosed(CaseOutcome.NOT_APPLICABLE)
        if snapshot.closed:
            raise CaseClosed(CaseOutcome.WITHDRAWN)  # the caller closed it: nothing more to do
        return snapshot

    async def read_for_work(self, detail: str) -> CaseSnapshot:
        """Read the case, then show it "I arbeid": in this order, a case the caller has just
        closed ends the routine instead of being reopened."""
        snapshot = await self.read()
        await self.move_to(WaitState.WORKING, detail)
        return snapshot

    async def write(self, write: CaseWrite) -> None:
        """Write to the case; a status change on a case the caller has closed meanwhile ends
        the routine as withdrawn (the activity refuses to reopen it)."""
        try:
            written = await self.or_operator(
                write_summary(write),
                lambda: workflow.execute_activity_method(
                    TopdeskActivities.write_case,
                    write,
                    start_to_close_timeout=TOPDESK_TIMEOUT,
                    retry_policy=TOPDESK_RETRY,
                    summary=write_summary(write),
                ),
                handled=(CASE_CLOSED,),
            )
        except ActivityError as error:
            if refused(error, CASE_CLOSED) is None:
                raise
            raise CaseClosed(CaseOutcome.WITHDRAWN) from error
        self.topdesk_status = written.status

    async def note(self, text: str) -> None:
        """An internal note for the case handlers; the caller does not see it."""
        await self.write(CaseWrite(case_number=self.case_number, note=text))

    async def reply(self, text: str) -> None:
        await self.write(CaseWrite(case_number=self.case_number, reply=text))

    async def wait_for(
        self, condition: Callable[[], bool], timeout: timedelta, summary: str | None = None
    ) -> bool:
        """Wait until `condition` holds (True) or `timeout` passes (False); `summary` names
        the timer in Temporal UI."""
        try:
            await workflow.wait_condition(
                condition, timeout=max(timeout, timedelta(seconds=1)), timeout_summary=summary
            )
        except TimeoutError:
            return False
        return True

    async def ask_caller(self, problems: list[str]) -> None:
        """Ask the caller, then wait for the answer: remind once and close after the last day,
        or in summer wait on hold (`workflows/caller_wait.py`). Returns when the caller has
        replied after being asked; raises CaseClosed if no answer came."""
        await wait_for_caller(self, problems)

    async def escalate_if_overdue(self, waited: timedelta, limit: timedelta, why: str) -> None:
        """Climb the service agreement's escalation ladder by one rung when the wait has run
        past the rung's time: a note and the rung's operator group. The level is the case's
        own, so each rung fires once per case, however often this is asked."""
        if (
            rungs_due(waited, limit, self.timings.escalation_every)
            <= self.progress.escalation_level
        ):
            return
        level = self.progress.escalation_level + 1
        self.progress.escalation_level = level
        workflow.upsert_search_attributes([sa.ESCALATION_LEVEL.value_set(level)])
        await self.write(
            CaseWrite(
                case_number=self.case_number,
                note=escalation_note(level, why),
                operator_group=ESCALATION_LADDER[level - 1],
            )
        )

    async def undo_if_withdrawn(self, outcome: CaseOutcome) -> None:
        """A withdrawn case takes back what was done, newest first, and tells the handler."""
        if outcome is not CaseOutcome.WITHDRAWN or not self.undoable:
            return
        # Cases started before withdrawals were undone ended without a word to SAP.
        if not versions.undoes_on_withdrawal():
            return
        undone, left = await self.take_back()
        self._set_progress(WaitState.DONE, "trukket", None)
        await self.note(withdrawn_note(undone, left))

    def ended(self, outcome: CaseOutcome) -> None:
        """The case has ended as TOPdesk already shows it (completed by a child workflow on the
        same case, or closed by the caller): mark it done here without writing to it again."""
        self._set_progress(WaitState.DONE, outcome.value, None)

    async def complete(self, reply: str) -> None:
        """Tell the caller the outcome and complete the case ("Fullført")."""
        await self.write(
            CaseWrite(case_number=self.case_number, reply=reply, status=TopdeskStatus.COMPLETED)
        )
        self._set_progress(WaitState.DONE, "fullført", None)

    async def finish(self, reply: str) -> None:
        """Complete the case at the end of its routine. The routine is done even if the caller
        closed the case a moment before: the outcome then goes to the case handler as a note."""
        try:
            await self.complete(reply)
        except CaseClosed as closed:
            if closed.outcome is CaseOutcome.ENDED_BY_OPERATOR:
                return  # the routine was done; a person completes the case
            await self.note("Saken var lukket av innmelder da den ble ferdig. Utfallet: " + reply)
            self._set_progress(WaitState.DONE, "fullført", None)

    async def close(self, reply: str, outcome: CaseOutcome) -> None:
        """Complete the case with `reply` and stop the routine here."""
        await self.complete(reply)
        raise CaseClosed(outcome)


def write_summary(write: CaseWrite) -> str:
    """What a TOPdesk write does, for Temporal UI (never its text: it may quote the caller)."""
    parts = [
        f"status «{write.status}»" if write.status else "",
        "svar" if write.reply else "",
        "notat" if write.note else "",
        f"til {write.operator_group}" if write.operator_group else "",
    ]
    return f"TOPdesk: {', '.join(p for p in parts if p) or 'skriv'} i sak {write.case_number}"
