"""A system's refusal in the middle of a case waits for a person (wait state `needs_operator`).

A non-retryable error (activities/errors.py: TOPdesk's 403 on an archived case, SAP refusing a
move) that the routine does not act on itself used to fail the workflow, with no word in the case.
Now the case shows `needs_operator`, the case handler gets a note naming the refusal (if TOPdesk
itself refused, the note may fail too: then the state and the workflow's log say it), and the
step waits for an operator's `operator_action`: `retry` runs the step again (`saksflyt bulk
retry`), `cancel` ends the case (`saksflyt bulk cancel`). Refusals a routine acts on (SAP's refusal
of a registration goes to the caller) are caught by the routine before they get here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import datetime
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.cases import CaseOutcome, CaseProgress, WaitState
    from domain.operator import END, decision, ended_by_operator_note, needs_operator_note
    from workflows import versions
    from workflows.case_closed import CaseClosed
    from workflows.refusals import final_reason

Result = TypeVar("Result")

# Off in a signal handler's task (the radar's answer): a refusal there is logged, and the
# routine's own step meets it and waits.
WAITS_FOR_OPERATOR: ContextVar[bool] = ContextVar("waits_for_operator", default=True)


class OperatorWait:
    """The `needs_operator` wait of one case; CaseConversation is one."""

    progress: CaseProgress

    def _set_progress(self, state: WaitState, detail: str, due: datetime | None) -> None:
        raise NotImplementedError

    async def note(self, text: str) -> None:
        raise NotImplementedError

    async def or_operator(
        self, step: str, call: Callable[[], Awaitable[Result]], handled: tuple[str, ...] = ()
    ) -> Result:
        """`call`, again each time an operator asks, while its system refuses it for good. A
        refusal of a type in `handled` (or any other failure) is the caller's to act on."""
        while True:
            try:
                return await call()
            except ActivityError as error:
                reason = final_reason(error)
                cause = getattr(error.cause, "type", None)
                if reason is None or cause in handled or not WAITS_FOR_OPERATOR.get():
                    raise
                if not versions.waits_for_operator():
                    raise
            await self._wait_for_operator(step, reason)

    async def _wait_for_operator(self, step: str, reason: str) -> None:
        """Show the refusal and wait for an operator: returns to retry, raises CaseClosed when
        the operator ends the case."""
        workflow.logger.warning("%s refused for good: %s; waiting for an operator", step, reason)
        was = self.progress
        seen = len(was.operator_actions)
        self._set_progress(WaitState.NEEDS_OPERATOR, f"{step} avvist", None)
        await self._note_quietly(needs_operator_note(step, reason))
        await workflow.wait_condition(
            lambda: decision(self.progress.operator_actions[seen:]) is not None
        )
        action = decision(self.progress.operator_actions[seen:])
        assert action is not None
        if action.action == END:
            self._set_progress(WaitState.DONE, "avsluttet av saksbehandler", None)
            await self._note_quietly(ended_by_operator_note(action))
            raise CaseClosed(CaseOutcome.ENDED_BY_OPERATOR)
        workflow.logger.info("operator %s retries %s", action.operator, step)
        self._set_progress(was.state, was.detail, was.due)

    async def _note_quietly(self, text: str) -> None:
        """A note to the case handler that may itself be refused (TOPdesk refused the step):
        then the wait state and the log say it."""
        token = WAITS_FOR_OPERATOR.set(False)
        try:
            await self.note(text)
        except ActivityError as error:
            workflow.logger.warning("note not written: %s", final_reason(error) or error)
        finally:
            WAITS_FOR_OPERATOR.reset(token)
