"""The manager's rejection goes back to the caller; only a changed form goes back to the manager.

A reply that changes nothing the registration holds would register the same form again and send
it straight back to the manager, who might approve what they rejected (issue 13 item 7). So the
case keeps what was rejected and why: a reply whose form registers the same is asked again, with
the manager's own words, under the usual rules for waiting on the caller (reminder, last day,
clean close); a changed form is registered anew.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.cases import manager_rejected_problem
    from domain.rejection import unchanged_after_rejection_problem
    from workflows import versions
    from workflows.case import CaseConversation


class Rejection:
    """The manager's last rejection of one case, until the caller's answer changes what it
    registered. `registered` is whatever the process sends SAP, comparable with ==."""

    def __init__(self, case: CaseConversation) -> None:
        self.case = case
        self.registered: object | None = None
        self.reason: str | None = None

    async def ask(self, registered: object, reason: str | None) -> None:
        """Tell the caller the manager rejected `registered`, and why; wait for the answer."""
        self.registered, self.reason = registered, reason
        await self.case.ask_caller([manager_rejected_problem(reason)])

    async def unchanged(self, registered: object) -> bool:
        """True when the answered form would register what the manager rejected: the caller has
        then been asked again (and has answered). False for a changed form, which is registered
        anew (as is every form of a case started before this rule)."""
        if self.registered is None or registered != self.registered:
            self.registered = None
            return False
        if not versions.asks_again_when_unchanged():
            self.registered = None
            return False
        await self.case.ask_caller([unchanged_after_rejection_problem(self.reason)])
        return True
