"""New hire ("Nyansettelse", seed 001): from the unit's TOPdesk form to an approved registration.

Steps:
1. Tell the caller the case is received, mark it "I arbeid", and read the form from the case
   itself (the webhook is only a hint). A case of another category is left untouched; a case the
   caller closed ends the routine.
2. Check the form; a TOA position is refused and the case completed with the reason. Anything
   missing or invalid is asked of the caller ("Venter på bruker"), with a reminder and a last day
   that ends before TOPdesk's ten days run out, then a clean close; each reply is re-checked.
3. Register the hire in SAP, once (idempotency key per workflow and attempt). SAP's refusal goes
   to the caller like a form problem. Until the manager has decided, a withdrawn case (the caller
   closed it) withdraws the registration in SAP again and tells the case handler so.
4. Wait for the manager's approval (`workflows/approval.py`: SAP decides, the DFØ webhook is a
   hint). A start date changed in the case meanwhile moves the registration, which goes back to
   the manager. A manager who does not decide escalates the case one rung at a time (seed 000,
   "Avvikshåndtering"). A rejection goes to the caller, whose corrected form is registered anew.
5. Complete the case with a reply that says what was registered.
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.payroll import (
        PayrollActivities,
        RegisterNewHire,
        RegistrationResult,
        UpdateStartDate,
    )
    from domain.cases import (
        Approval,
        CaseOutcome,
        WaitState,
    )
    from domain.identifiers import changed
    from domain.new_hire import (
        RECEIVED_REPLY,
        NewHireForm,
        NewHireInput,
        NewHireResult,
        check_form,
        form_unit,
        label,
        registered_reply,
        start_date_moved_reply,
    )
    from domain.processes import NEW_HIRE
    from workflows import versions
    from workflows.approval import (
        CHECKING,
        WAITING_FOR_MANAGER,
        ApprovedCaseWorkflow,
        ManagerApproval,
        dfo_step,
        registered,
        registered_or_asked,
        withdrawable,
    )
    from workflows.case import CaseClosed, CaseConversation
    from workflows.idempotency import idempotency_key
    from workflows.rejection import Rejection


@dataclass
class NewHireState:
    """What the new-hire routine keeps between its steps."""

    form: NewHireForm | None = None
    registration: RegistrationResult | None = None
    start_date_moves: int = 0  # each a step of its own in the idempotency keys


@workflow.defn(name="NewHire")
class NewHireWorkflow(ApprovedCaseWorkflow):
    @workflow.init
    def __init__(self, input: NewHireInput) -> None:
        self.case = CaseConversation(
            NEW_HIRE.name, NEW_HIRE.category, input.case_number, input.timings
        )
        self.approval = ManagerApproval(self.case)
        self.rejection = Rejection(self.case)
        self.state = NewHireState()

    @workflow.run
    async def run(self, input: NewHireInput) -> NewHireResult:
        try:
            await self.open_case(RECEIVED_REPLY)
            registration = await self._registered_and_approved()
        except CaseClosed as closed:
            await self.case.undo_if_withdrawn(closed.outcome)
            return NewHireResult(case_number=input.case_number, outcome=closed.outcome)
        await self.case.finish(
            registered_reply(registration.start_date, registration.employee_number)
        )
        return NewHireResult(
            case_number=input.case_number,
            outcome=CaseOutcome.REGISTERED,
            registration_id=registration.registration_id,
            employee_number=registration.employee_number,
        )

    async def _registered_and_approved(self) -> RegistrationResult:
        attempt = 0
        while True:
            if not versions.reads_before_working():
                await self.case.move_to(WaitState.WORKING, CHECKING)
            self.state.form = await self._checked_form()
            if await self.rejection.unchanged(self.state.form):
                continue
            registration = await self._register(self.state.form, attempt)
            attempt += 1
            if registration is None:
                continue
            self.state.registration = registration
            self.case.identify(self.state.form.unit, registration.employee_key)
            withdrawable(self.case, registration.registration_id)
            decided = await self.approval.wait(registration, self._follow_changes)
            # Approved, it has taken effect; rejected, it is dead in SAP: neither is withdrawn.
            self.case.settled(registered(decided.registration_id))
            if decided.approval is Approval.APPROVED:
                return decided
            await self.rejection.ask(self.state.form, decided.reason)

    async def _checked_form(self) -> NewHireForm:
        """Read and check the form until it passes; the caller is asked for what is wrong."""
        while True:
            snapshot = await self.case.read()
            if versions.reads_before_working():
                await self.case.move_to(WaitState.WORKING, CHECKING)
            check = check_form(snapshot.texts, today=versions.today())
            # The unit also while the form is incomplete or refused: those cases are the unit's
            # to act on. The employee's key comes from SAP.
            self.case.identify(form_unit(snapshot.texts), None)
            if check.refusal is not None:
                await self.case.close(check.refusal, outcome=CaseOutcome.REFUSED)
            if check.form is not None:
                return check.form
            await self.case.ask_caller(check.problems)

    async def _register(self, form: NewHireForm, attempt: int) -> RegistrationResult | None:
        key = idempotency_key("register", attempt)
        return await registered_or_asked(
            self.case,
            "registrerer i SAP",
            PayrollActivities.register_new_hire,
            RegisterNewHire(idempotency_key=key, form=form),
        )

    async def _follow_changes(self, registration: RegistrationResult) -> RegistrationResult:
        """The caller wrote while the manager decides: apply a new start date, report the rest."""
        self.state.registration = registration
        snapshot = await self.case.read()
        check = check_form(snapshot.texts, today=versions.today())
        detail = WAITING_FOR_MANAGER
        if check.form is None:
            problems = check.problems or [check.refusal or ""]
            await self.case.reply("Endringen kunne ikke brukes: " + " ".join(problems))
        elif await self._apply_form_changes(check.form):
            detail = "startdatoen er endret; venter på leders nye godkjenning i SAP"
        await self.case.move_to(WaitState.AWAITING_APPROVAL, detail)
        return self.state.registration

    async def _apply_form_changes(self, form: NewHireForm) -> bool:
        """Move the registration's start date if the form's has changed (True if it did)."""
        assert self.state.form is not None and self.state.registration is not None
        others = [
            label(field)
            for field in NewHireForm.model_fields
            if field != "start_date"
            and changed(getattr(self.state.form, field), getattr(form, field))
        ]
        self.state.form = form
        if others:
            await self.case.note(
                "Innmelder har endret " + ", ".join(others) + " etter registreringen i SAP. "
                "Endringen må føres manuelt i SAP."
            )
        if form.start_date == self.state.registration.start_date:
            return False
        # One key per move: moving back to an earlier date is a new change, not a repeat.
        self.state.start_date_moves += 1
        self.state.registration = await dfo_step(
            self.case,
            PayrollActivities.update_start_date,
            UpdateStartDate(
                idempotency_key=idempotency_key("start-date", self.state.start_date_moves),
                registration_id=self.state.registration.registration_id,
                start_date=form.start_date,
            ),
        )
        await self.case.reply(start_date_moved_reply(self.state.registration.start_date))
        return True
