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
   rejection goes to the caller, whose corrected form is registered anew.
6. Complete the case with the new end date.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.payroll import (
        PayrollActivities,
        RegisterExtension,
        RegistrationResult,
    )
    from domain.cases import (
        Approval,
        CaseOutcome,
        WaitState,
        manager_rejected_problem,
        unknown_employee_problem,
    )
    from domain.extension import (
        CATEGORY,
        RECEIVED_REPLY,
        ExtensionForm,
        ExtensionInput,
        ExtensionResult,
        check_form,
        extension_problems,
        late_decision_warning,
        registered_reply,
    )
    from workflows.approval import (
        WAITING_FOR_MANAGER,
        ApprovedCaseWorkflow,
        ManagerApproval,
        employment,
        registered_or_asked,
    )
    from workflows.case import CaseClosed, CaseConversation


@workflow.defn(name="Extension")
class ExtensionWorkflow(ApprovedCaseWorkflow):
    @workflow.init
    def __init__(self, input: ExtensionInput) -> None:
        self.case = CaseConversation("extension", CATEGORY, input.case_number, input.timings)
        self.approval = ManagerApproval(self.case)
        self.warned = False

    @workflow.run
    async def run(self, input: ExtensionInput) -> ExtensionResult:
        try:
            await self.open_case(RECEIVED_REPLY)
            registration = await self._registered_and_approved()
        except CaseClosed as closed:
            return ExtensionResult(case_number=input.case_number, outcome=closed.outcome)
        assert registration.end_date is not None
        await self.case.complete(registered_reply(registration.end_date))
        return ExtensionResult(
            case_number=input.case_number,
            outcome=CaseOutcome.REGISTERED,
            registration_id=registration.registration_id,
            new_end_date=registration.end_date,
        )

    async def _registered_and_approved(self) -> RegistrationResult:
        attempt = 0
        while True:
            await self.case.move_to(WaitState.WORKING, "kontrollerer skjemaet")
            form = await self._checked_form()
            problems = await self._employment_problems(form)
            if problems:
                await self.case.ask_caller(problems)
                continue
            registration = await self._register(form, attempt)
            attempt += 1
            if registration is None:
                continue
            decided = await self.approval.wait(registration, self._caller_wrote)
            if decided.approval is Approval.APPROVED:
                return decided
            await self.case.ask_caller([manager_rejected_problem(decided.reason)])

    async def _checked_form(self) -> ExtensionForm:
        while True:
            snapshot = await self.case.read()
            check = check_form(snapshot.texts)
            if check.form is not None:
                return check.form
            await self.case.ask_caller(check.problems)

    async def _employment_problems(self, form: ExtensionForm) -> list[str]:
        """Check the extension against the employment in SAP; warn the unit once if late."""
        now = await employment(form.employee_number)
        if now is None:
            return [unknown_employee_problem(form.employee_number)]
        problems = extension_problems(form, now)
        warning = late_decision_warning(now, workflow.now().date())
        if not problems and warning and not self.warned:
            self.warned = True
            await self.case.reply(warning)
        return problems

    async def _register(self, form: ExtensionForm, attempt: int) -> RegistrationResult | None:
        key = f"{workflow.info().workflow_id}/extend/{attempt}"
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
        """SAP has no change of a pending extension: what the caller writes now is for the case
        handler, who is told so."""
        await self.case.read()
        await self.case.note(
            "Innmelder har skrevet i saken mens forlengelsen venter på leders godkjenning. "
            "Se svaret; endringer må føres manuelt i SAP."
        )
        await self.case.move_to(WaitState.AWAITING_APPROVAL, WAITING_FOR_MANAGER)
        return registration
