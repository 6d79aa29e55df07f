"""New hire ("Nyansettelse", seed 001): from the unit's TOPdesk form to an approved registration.

Steps:
1. Mark the case "I arbeid" and read the form from the case itself (the webhook is only a hint).
2. Check the form; a TOA position is refused and the case completed with the reason. Anything
   missing or invalid is asked of the caller ("Venter på bruker"), with a reminder before
   TOPdesk's ten days run out and a clean close if no answer comes; each reply is re-checked.
3. Register the hire in SAP, once (idempotency key per workflow and attempt). SAP's refusal goes
   to the caller like a form problem.
4. Wait for the manager's approval (DFØ webhook → signal; SAP is polled daily in case a webhook
   was lost). A start date changed in the case meanwhile updates the registration, which goes back
   to the manager. A rejection goes to the caller, whose corrected form is registered anew.
5. Complete the case with a reply that says what was registered.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.payroll import (
        PayrollActivities,
        RegisterNewHire,
        RegistrationRef,
        RegistrationResult,
        UpdateStartDate,
    )
    from adapters.dfo.sap import ApprovalState
    from domain.cases import ApprovalDecision, CaseEvent, CaseProgress, WaitState
    from domain.new_hire import (
        FIELDS,
        NewHireForm,
        NewHireInput,
        NewHireOutcome,
        NewHireResult,
        check_form,
        manager_rejected_problem,
        payroll_refused_problem,
        registered_reply,
        start_date_moved_reply,
    )
    from workflows.case import CaseClosed, CaseConversation

SAP_CALL_TIMEOUT = timedelta(minutes=2)
# An SAP outage can last hours: retry for as long as it takes, at most half an hour apart.
SAP_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=30),
)


@workflow.defn(name="NewHire")
class NewHireWorkflow:
    @workflow.init
    def __init__(self, input: NewHireInput) -> None:
        self.case = CaseConversation("new_hire", input.case_number, input.timings)
        self.timings = input.timings
        self.decision: ApprovalDecision | None = None
        self.form: NewHireForm | None = None
        self.registration: RegistrationResult | None = None

    @workflow.signal
    def caller_replied(self, event: CaseEvent) -> None:
        self.case.on_event(event)

    @workflow.signal
    def approval_decided(self, decision: ApprovalDecision) -> None:
        if self.case.first_time(decision.event_id):
            self.decision = decision

    @workflow.query
    def progress(self) -> CaseProgress:
        return self.case.progress

    @workflow.run
    async def run(self, input: NewHireInput) -> NewHireResult:
        try:
            registration = await self._registered_and_approved()
        except CaseClosed as closed:
            return NewHireResult(
                case_number=input.case_number, outcome=NewHireOutcome(closed.outcome)
            )
        await self.case.complete(
            registered_reply(registration.start_date, registration.employee_number)
        )
        return NewHireResult(
            case_number=input.case_number,
            outcome=NewHireOutcome.REGISTERED,
            registration_id=registration.registration_id,
            employee_number=registration.employee_number,
        )

    async def _registered_and_approved(self) -> RegistrationResult:
        attempt = 0
        while True:
            await self.case.move_to(WaitState.WORKING, "kontrollerer skjemaet")
            self.form = await self._checked_form()
            registration = await self._register(self.form, attempt)
            attempt += 1
            if registration is None:
                continue
            decision = await self._approval(registration)
            if decision.approved:
                # The registration as it stands now: a start-date change may have moved it.
                assert self.registration is not None
                return self.registration
            await self.case.ask_caller([manager_rejected_problem(decision.reason)])

    async def _checked_form(self) -> NewHireForm:
        """Read and check the form until it passes; the caller is asked for what is wrong."""
        while True:
            snapshot = await self.case.read()
            check = check_form(snapshot.texts, today=workflow.now().date())
            if check.refusal is not None:
                await self.case.close(check.refusal, outcome=NewHireOutcome.REFUSED)
            if check.form is not None:
                return check.form
            await self.case.ask_caller(check.problems)

    async def _register(self, form: NewHireForm, attempt: int) -> RegistrationResult | None:
        """Register in SAP; on SAP's refusal ask the caller and return None."""
        await self.case.move_to(WaitState.WORKING, "registrerer i SAP")
        try:
            return await workflow.execute_activity_method(
                PayrollActivities.register_new_hire,
                RegisterNewHire(
                    idempotency_key=f"{workflow.info().workflow_id}/register/{attempt}", form=form
                ),
                start_to_close_timeout=SAP_CALL_TIMEOUT,
                retry_policy=SAP_RETRY,
            )
        except ActivityError as error:
            refusal = _refusal(error, "PayrollRejected")
            if refusal is None:
                raise
        await self.case.ask_caller([payroll_refused_problem(refusal)])
        return None

    async def _approval(self, registration: RegistrationResult) -> ApprovalDecision:
        """Wait for the manager; poll SAP now and then, and follow start-date changes."""
        self.decision = None
        self.registration = registration
        self.case.progress.registration_id = registration.registration_id
        await self.case.move_to(WaitState.AWAITING_APPROVAL, "venter på leders godkjenning i SAP")
        waiting_since = workflow.now()
        reminded = False
        while True:
            if (decision := self._decision()) is not None:
                return decision
            arrived = await self.case.wait_for(
                lambda: self._decision() is not None or self.case.unread_events > 0,
                self.timings.approval_poll_every,
            )
            if self.case.unread_events > 0:
                await self._follow_changes()
            elif not arrived:
                self.registration = await self._poll(self.registration)
                if self.registration.approval is not ApprovalState.PENDING:
                    return ApprovalDecision(
                        event_id="sap-poll",
                        registration_id=self.registration.registration_id,
                        approved=self.registration.approval is ApprovalState.APPROVED,
                        reason=self.registration.reason,
                    )
            overdue = workflow.now() - waiting_since >= self.timings.approval_reminder_after
            if overdue and not reminded:
                reminded = True
                await self.case.note(
                    "Leder har ikke godkjent registreringen i SAP etter "
                    f"{self.timings.approval_reminder_after.days} dager. Purr på leder."
                )

    def _decision(self) -> ApprovalDecision | None:
        """The manager's decision on the current registration, if it has come."""
        decision, registration = self.decision, self.registration
        if decision is None or registration is None:
            return None
        if decision.registration_id not in (None, registration.registration_id):
            return None
        return decision

    async def _poll(self, registration: RegistrationResult) -> RegistrationResult:
        return await workflow.execute_activity_method(
            PayrollActivities.approval_status,
            RegistrationRef(registration_id=registration.registration_id),
            start_to_close_timeout=SAP_CALL_TIMEOUT,
            retry_policy=SAP_RETRY,
        )

    async def _follow_changes(self) -> None:
        """The caller wrote while the manager decides: apply a new start date, report the rest."""
        snapshot = await self.case.read()
        check = check_form(snapshot.texts, today=workflow.now().date())
        detail = "venter på leders godkjenning i SAP"
        if check.form is None:
            problems = check.problems or [check.refusal or ""]
            await self.case.reply("Endringen kunne ikke brukes: " + " ".join(problems))
        elif await self._apply_form_changes(check.form):
            detail = "startdatoen er endret; venter på leders nye godkjenning i SAP"
        await self.case.move_to(WaitState.AWAITING_APPROVAL, detail)

    async def _apply_form_changes(self, form: NewHireForm) -> bool:
        """Move the registration's start date if the form's has changed (True if it did)."""
        assert self.form is not None and self.registration is not None
        registration = self.registration
        others = [
            FIELDS[field][0]
            for field in NewHireForm.model_fields
            if field != "start_date" and getattr(form, field) != getattr(self.form, field)
        ]
        self.form = form
        if others:
            await self.case.note(
                "Innmelder har endret " + ", ".join(others) + " etter registreringen i SAP. "
                "Endringen må føres manuelt i SAP."
            )
        if form.start_date == registration.start_date:
            return False
        self.registration = await workflow.execute_activity_method(
            PayrollActivities.update_start_date,
            UpdateStartDate(
                idempotency_key=(
                    f"{workflow.info().workflow_id}/start-date/{registration.registration_id}"
                    f"/{form.start_date.isoformat()}"
                ),
                registration_id=registration.registration_id,
                start_date=form.start_date,
            ),
            start_to_close_timeout=SAP_CALL_TIMEOUT,
            retry_policy=SAP_RETRY,
        )
        self.decision = None
        await self.case.reply(start_date_moved_reply(self.registration.start_date))
        return True


def _refusal(error: ActivityError, error_type: str) -> str | None:
    """The message of a business refusal of `error_type`, or None for any other failure."""
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.type == error_type:
        return cause.message
    return None
