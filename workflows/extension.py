"""Extension of a temporary contract ("Forlengelse", seed 001): from the unit's form to an
approved new end date in SAP.

Steps:
1. Read the case (a case of another category is left untouched), tell the caller it is received.
2. Check the form (Ansattnummer, Ny sluttdato, ePhorte-nummer of the signed extension letter);
   ask the caller for what is missing or wrong, as every process does (`workflows/case.py`).
3. Look the employee up in SAP: an unknown employee number, a permanent position, or a new end
   date that is not after the current one goes back to the caller.
4. Warn the unit when a temporary employee of more than one year gets the decision less than one
   month before the end date (seed 001, "Annen fratredelse").
5. Register the new end date in SAP, once; wait for the manager's approval (SAP decides). A
   manager who does not decide escalates the case one rung at a time (seed 000,
   "Avvikshåndtering"). A rejection goes to the caller, whose corrected form is registered anew.
   A new end date the caller writes meanwhile is a new extension: SAP cannot change a pending
   form, so it is withdrawn and the new date registered anew, back to the manager.
6. Complete the case with the new end date. A case withdrawn before the manager decided (the
   caller closed it) withdraws the registration in SAP again and tells the case handler so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.payroll import (
        CancelRegistration,
        PayrollActivities,
        RegisterExtension,
        RegistrationResult,
    )
    from domain.cases import (
        Approval,
        CaseOutcome,
        WaitState,
        payroll_refused_problem,
        unknown_employee_problem,
    )
    from domain.extension import (
        NOTED_FOR_HANDLER,
        RECEIVED_REPLY,
        ExtensionCheck,
        ExtensionForm,
        ExtensionInput,
        ExtensionResult,
        change_not_used,
        check_form,
        end_date_moved_reply,
        extension_problems,
        late_decision_warning,
        registered_reply,
        too_late_to_move_reply,
    )
    from domain.letters import LetterFields, LetterKind
    from domain.processes import EXTENSION
    from workflows import versions
    from workflows.approval import (
        CHECKING,
        WAITING_FOR_MANAGER,
        ApprovedCaseWorkflow,
        ManagerApproval,
        employment,
        registered,
        registered_or_asked,
        sap,
        sap_refusal,
        send_letter,
        withdrawable,
    )
    from workflows.case import CaseClosed, CaseConversation
    from workflows.idempotency import idempotency_key
    from workflows.rejection import Rejection


@dataclass
class ExtensionState:
    """What the extension routine keeps between its steps."""

    form: ExtensionForm | None = None
    warned: bool = False  # the unit has had the late-decision warning
    end_date_moves: int = 0  # each a step of its own in the idempotency keys


@workflow.defn(name="Extension")
class ExtensionWorkflow(ApprovedCaseWorkflow):
    @workflow.init
    def __init__(self, input: ExtensionInput) -> None:
        self.case = CaseConversation(
            EXTENSION.name, EXTENSION.category, input.case_number, input.timings
        )
        self.approval = ManagerApproval(self.case)
        self.rejection = Rejection(self.case)
        self.state = ExtensionState()

    @workflow.run
    async def run(self, input: ExtensionInput) -> ExtensionResult:
        try:
            await self.open_case(RECEIVED_REPLY)
            registration = await self._registered_and_approved()
        except CaseClosed as closed:
            await self.case.undo_if_withdrawn(closed.outcome)
            return ExtensionResult(case_number=input.case_number, outcome=closed.outcome)
        assert registration.end_date is not None
        confirmed = versions.extension_confirms()
        if confirmed:
            await self._confirm(registration.end_date)
        await self.case.finish(registered_reply(registration.end_date, confirmed))
        return ExtensionResult(
            case_number=input.case_number,
            outcome=CaseOutcome.REGISTERED,
            registration_id=registration.registration_id,
            new_end_date=registration.end_date,
        )

    async def _registered_and_approved(self) -> RegistrationResult:
        attempt = 0
        while True:
            if not versions.reads_before_working():
                await self.case.move_to(WaitState.WORKING, CHECKING)
            form = self.state.form = await self._checked_form()
            if await self.rejection.unchanged((form.employee_number, form.new_end_date)):
                continue
            problems = await self._employment_problems(form)
            if problems:
                await self.case.ask_caller(problems)
                continue
            registration = await self._register(form, attempt)
            attempt += 1
            if registration is None:
                continue
            withdrawable(self.case, registration.registration_id)
            decided = await self.approval.wait(registration, self._caller_wrote)
            if decided.approval is Approval.WITHDRAWN:
                continue  # withdrawn by a move whose new registration SAP refused
            # Approved, it has taken effect; rejected, it is dead in SAP: neither is withdrawn.
            self.case.settled(registered(decided.registration_id))
            if decided.approval is Approval.APPROVED:
                return decided
            await self.rejection.ask((form.employee_number, decided.end_date), decided.reason)

    async def _confirm(self, new_end_date: date) -> None:
        """Tell the employee the extension is registered, in the standard confirmation letter,
        filed in the personnel file beside the unit's signed extension letter."""
        assert self.state.form is not None
        fields = LetterFields(
            navn=self.state.form.name,
            ansattnummer=self.state.form.employee_number,
            saksnummer=self.case.case_number,
            ny_sluttdato=new_end_date,
        )
        await send_letter(self.case, "confirmation", LetterKind.EXTENSION, fields)

    async def _checked_form(self) -> ExtensionForm:
        while True:
            snapshot = await self.case.read()
            if versions.reads_before_working():
                await self.case.move_to(WaitState.WORKING, CHECKING)
            check = check_form(snapshot.texts)
            if check.form is not None:
                return check.form
            await self.case.ask_caller(check.problems)

    async def _employment_problems(self, form: ExtensionForm) -> list[str]:
        """Check the extension against the employment in SAP; warn the unit once if late."""
        now = await employment(self.case, form.employee_number)
        if now is None:
            return [unknown_employee_problem(form.employee_number)]
        problems = extension_problems(form, now)
        warning = late_decision_warning(now, versions.today())
        if not problems and warning and not self.state.warned:
            self.state.warned = True
            await self.case.reply(warning)
        return problems

    async def _register(self, form: ExtensionForm, attempt: int) -> RegistrationResult | None:
        key = idempotency_key("extend", attempt)
        return await registered_or_asked(
            self.case,
            "registrerer forlengelsen i SAP",
            PayrollActivities.register_extension,
            RegisterExtension(
                idempotency_key=key,
                employee_number=form.employee_number,
                new_end_date=form.new_end_date,
            ),
        )

    async def _caller_wrote(self, registration: RegistrationResult) -> RegistrationResult:
        """The caller wrote while the manager decides. A new end date moves the extension's
        anchor date: it is registered anew. Anything else is for the case handler."""
        snapshot = await self.case.read()
        check = check_form(snapshot.texts)
        changed = check.form is None or check.form.new_end_date != registration.end_date
        detail = WAITING_FOR_MANAGER
        if changed and versions.extension_follows_end_date():
            moved = await self._follow_form(check, registration)
            if moved.registration_id != registration.registration_id:
                detail = "sluttdatoen er endret; venter på leders nye godkjenning i SAP"
            registration = moved
        else:
            await self.case.note(NOTED_FOR_HANDLER)
        await self.case.move_to(WaitState.AWAITING_APPROVAL, detail)
        return registration

    async def _follow_form(
        self, check: ExtensionCheck, registration: RegistrationResult
    ) -> RegistrationResult:
        """Register the form's new end date anew if it can be; else tell the caller why not,
        and the registration waiting for the manager stays as it is."""
        problems = check.problems
        if check.form is not None:
            problems = await self._employment_problems(check.form)
        if check.form is None or problems:
            await self.case.reply(change_not_used(problems))
            return registration
        return await self._move_end_date(check.form, registration)

    async def _move_end_date(
        self, form: ExtensionForm, registration: RegistrationResult
    ) -> RegistrationResult:
        """SAP cannot change a form that waits for the manager: withdraw it, and register the
        new end date on a new form, which goes to the manager (seed 001, "Forlengelse")."""
        old = registration.registration_id
        try:
            await sap(
                PayrollActivities.cancel_registration,
                CancelRegistration(
                    idempotency_key=idempotency_key("withdraw", old),
                    registration_id=old,
                ),
            )
        except ActivityError as error:
            if sap_refusal(error) is None:
                raise
            # The manager approved the old date in the same moment; the approval wait finds it.
            await self.case.reply(too_late_to_move_reply(form.new_end_date))
            return registration
        self.case.settled(registered(old))
        # One key per move: moving back to an earlier date is a new extension, not a repeat.
        self.state.end_date_moves += 1
        try:
            moved = await sap(
                PayrollActivities.register_extension,
                RegisterExtension(
                    idempotency_key=idempotency_key("end-date", self.state.end_date_moves),
                    employee_number=form.employee_number,
                    new_end_date=form.new_end_date,
                ),
            )
        except ActivityError as error:
            refusal = sap_refusal(error)
            if refusal is None:
                raise
            # The old form is withdrawn: the approval wait ends with it, and the routine goes
            # round again from the form, where SAP's refusal is asked of the caller.
            await self.case.reply(change_not_used([payroll_refused_problem(refusal)]))
            return registration
        withdrawable(self.case, moved.registration_id)
        self.case.progress.registration_id = moved.registration_id
        await self.case.reply(end_date_moved_reply(form.new_end_date))
        return moved
