"""Waiting for the manager's approval of a registration in SAP, shared by the processes.

Every registration the service centre makes in SAP is sent to the manager for approval (seed 001:
"Skjema sendes til leder for godkjenning"). SAP decides: the DFØ portal's webhook only wakes the
case to ask SAP at once, and SAP is asked daily anyway in case a webhook was lost. What the caller
writes meanwhile is handed to the process before SAP is asked, so that a change reaches SAP before
any approval counts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.archive import ArchiveActivities, Filed, SendLetter
    from activities.payroll import (
        REFUSED,
        CancelRegistration,
        EmployeeRef,
        PayrollActivities,
        RegistrationRef,
        RegistrationResult,
    )
    from domain.calendar_day import norwegian_day
    from domain.cases import (
        Approval,
        ApprovalDecision,
        WaitState,
        payroll_refused_problem,
    )
    from domain.employment import Employment
    from domain.letters import LetterFields, LetterKind
    from workflows import versions
    from workflows.case import CaseConversation
    from workflows.case_workflow import CaseWorkflow
    from workflows.idempotency import idempotency_key
    from workflows.refusals import refused

SAP_CALL_TIMEOUT = timedelta(minutes=2)
# An SAP outage can last hours: retry for as long as it takes, at most half an hour apart.
SAP_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=30),
)
WAITING_FOR_MANAGER = "venter på leders godkjenning i SAP"
CHECKING = "kontrollerer skjemaet"

Request = TypeVar("Request")
Result = TypeVar("Result")


async def dfo(activity: Callable[[Any, Request], Result], request: Request) -> Result:
    """Call a DFØ-side system (SAP, SPK, the archive) through its activities, with the one
    timeout and retry policy those calls share: their outages last hours, not seconds."""
    return await workflow.execute_activity_method(
        activity,
        request,
        start_to_close_timeout=SAP_CALL_TIMEOUT,
        retry_policy=SAP_RETRY,
        summary=activity_summary(activity),
    )


def activity_summary(activity: Callable[..., Any]) -> str:
    """ "SAP: register_new_hire", for Temporal UI: the system and the step, from the activity's
    registered name ("sap.register_new_hire")."""
    definition = getattr(activity, "__temporal_activity_definition", None)
    name = definition.name if definition else getattr(activity, "__name__", "")
    system, _, step = str(name).rpartition(".")
    return f"{SYSTEM_NAMES.get(system, system)}: {step}" if system else step


SYSTEM_NAMES = {"sap": "SAP", "spk": "SPK", "archive": "ePhorte", "portal": "DFØ-portalen"}


sap = dfo  # reads right where SAP is called


async def dfo_step(
    case: CaseConversation, activity: Callable[[Any, Request], Result], request: Request
) -> Result:
    """A DFØ call whose refusal the routine does not act on: the refusal waits for an operator
    (`needs_operator`, workflows/operator_wait.py) instead of failing the case."""
    return await case.or_operator(activity_summary(activity), lambda: dfo(activity, request))


async def send_letter(
    case: CaseConversation, step: str, kind: LetterKind, fields: LetterFields
) -> Filed:
    """Send a standard letter, dated today in Norway, and file it in the personnel file; once per
    `step` of this workflow (a step that may repeat carries its count). The archive's refusal
    waits for an operator."""
    today = norwegian_day(workflow.now())
    return await dfo_step(
        case,
        ArchiveActivities.send_letter,
        SendLetter(
            idempotency_key=idempotency_key(step),
            kind=kind,
            fields=fields.model_copy(update={"dato": today}),
            year=today.year,
        ),
    )


def manager_overdue(waited: timedelta) -> str:
    return f"Leder har ikke godkjent registreringen i SAP etter {waited.days} dager. Purr på leder."


class ManagerApproval:
    """The approval wait of one case; the owning workflow forwards the DFØ signal to `hint`."""

    def __init__(self, case: CaseConversation) -> None:
        self.case = case
        self.hints = 0

    def hint(self, decision: ApprovalDecision) -> None:
        """The DFØ portal says the manager decided: a reason to ask SAP now, not a decision."""
        if self.case.first_time(decision.event_id):
            self.hints += 1

    async def wait(
        self,
        registration: RegistrationResult,
        caller_wrote: Callable[[RegistrationResult], Awaitable[RegistrationResult]],
    ) -> RegistrationResult:
        """Wait until SAP reports the decision on `registration`; returns it as SAP has it.

        `caller_wrote` gets the registration as it stands when the caller has written, and
        returns it as it stands afterwards (a process may move a date, and send it back).
        """
        timings = self.case.timings
        if not versions.keeps_early_hint():
            self.hints = 0
        self.case.progress.registration_id = registration.registration_id
        # due: when the case starts to climb the escalation ladder if the manager has not decided
        escalates = workflow.now() + timings.approval_reminder_after
        await self.case.move_to(WaitState.AWAITING_APPROVAL, WAITING_FOR_MANAGER, escalates)
        waiting_since = workflow.now()
        reminded = False
        while True:
            await self.case.wait_for(
                lambda: self.hints > 0 or self.case.unread_events > 0,
                timings.approval_poll_every,
                "spør SAP om leders godkjenning",
            )
            if self.case.unread_events > 0:
                registration = await caller_wrote(registration)
            self.hints = 0
            registration = await dfo_step(
                self.case,
                PayrollActivities.approval_status,
                RegistrationRef(registration_id=registration.registration_id),
            )
            if registration.approval is not Approval.PENDING:
                return registration
            waited = workflow.now() - waiting_since
            if waited >= timings.approval_reminder_after and versions.escalates_undecided_manager():
                await self.case.escalate_if_overdue(
                    waited, timings.approval_reminder_after, manager_overdue(waited)
                )
            elif waited >= timings.approval_reminder_after and not reminded:
                reminded = True  # cases started before the ladder keep their single reminder
                await self.case.note(
                    "Leder har ikke godkjent registreringen i SAP etter "
                    f"{timings.approval_reminder_after.days} dager. Purr på leder."
                )


async def registered_or_asked(
    case: CaseConversation,
    detail: str,
    activity: Callable[[PayrollActivities, Request], RegistrationResult],
    request: Request,
) -> RegistrationResult | None:
    """Register in SAP; when SAP refuses the registration as it stands, ask the caller to
    correct it (returning None once they have answered)."""
    await case.move_to(WaitState.WORKING, detail)
    try:
        return await sap(activity, request)
    except ActivityError as error:
        refusal = sap_refusal(error)
        if refusal is None:
            raise
    await case.ask_caller([payroll_refused_problem(refusal)])
    return None


async def employment(case: CaseConversation, employee_number: str) -> Employment | None:
    """The employment as SAP has it, or None when SAP knows no such employee. The case now
    knows its unit and the employee's pseudonym, for visibility."""
    try:
        found = await sap(PayrollActivities.employee, EmployeeRef(employee_number=employee_number))
    except ActivityError as error:
        if sap_refusal(error) is None:
            raise
        return None
    case.identify(found.unit, found.employee_key)
    return found


def registered(registration_id: str) -> str:
    """A registration in words for the case handler, as the withdrawal note names it."""
    return f"registreringen {registration_id} i SAP"


def withdrawable(case: CaseConversation, registration_id: str) -> None:
    """Until the manager decides, a withdrawn case withdraws the registration in SAP (one the
    manager approved in the same moment is left to the case handler)."""
    case.on_withdrawal(
        registered(registration_id),
        lambda: sap(
            PayrollActivities.cancel_registration,
            CancelRegistration(
                idempotency_key=idempotency_key("withdraw", registration_id),
                registration_id=registration_id,
            ),
        ),
    )


def sap_refusal(error: ActivityError) -> str | None:
    return refused(error, REFUSED)


class ApprovedCaseWorkflow(CaseWorkflow):
    """A process whose registration waits for the manager: the DFØ portal's signal is a hint
    to its `approval` (set in the process's init)."""

    approval: ManagerApproval

    @workflow.signal
    def approval_decided(self, decision: ApprovalDecision) -> None:
        self.approval.hint(decision)
