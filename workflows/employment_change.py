"""Other changes to an employment ("Andre endringer arbeidsforhold", seed 001): from the unit's
form to a change registered in SAP: cost allocation, position share, organisational unit,
salary, work country or fixed allowances.

Steps:
1. Read the case. A case of another category is left untouched, and so is a case saksflyt opened
   itself in this category to tell a unit about its employees (the end-date watch, the quarterly
   follow-up: it has an external number, which no form from a person has). Tell the caller the
   case is received.
2. Check the form for its kind (`domain/employment_change_form.py`); what seed 001 puts outside
   the routine (a larger reorganisation, a salary change under HTA 2.5.1) is completed with the
   way there. Look the employee up in SAP. Anything missing or wrong is asked of the caller.
3. Register the change in SAP, once per attempt; SAP's refusal (a third employment, the wrong
   salary agreement) goes to the caller. A lasting reduction of the position share is registered
   with its partial final settlement and that settlement's payroll run.
4. Cost allocation, position share, unit and salary go to the manager: the case waits for the
   approval as every process does (`workflows/approval.py`), escalating a manager who does not
   decide. A changed form meanwhile withdraws the pending registration and registers anew; a
   rejection goes to the caller. Work country and fixed allowances take effect at once.
5. Salary: the letter about the new salary goes to the employee, the manager in copy, and is
   filed in the personnel file. Then the case is completed with what was registered.
A case withdrawn while the manager decides withdraws the registration in SAP.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.archive import Filed
    from activities.payroll import (
        CancelRegistration,
        PayrollActivities,
        RegisterEmploymentChange,
        RegistrationResult,
    )
    from activities.topdesk import CaseSnapshot
    from domain.cases import (
        Approval,
        CaseOutcome,
        WaitState,
        unknown_employee_problem,
    )
    from domain.employment import Employment
    from domain.employment_change import (
        NOTED_FOR_HANDLER,
        RECEIVED_REPLY,
        REGISTERED_ANEW_REPLY,
        ChangeKind,
        EmploymentChangeForm,
        EmploymentChangeInput,
        EmploymentChangeResult,
        Registered,
        change_not_used,
        check_form,
        employment_problems,
        moves_whole_position,
        new_salary,
        partial_resignation,
        partial_settlement_run,
        registered_reply,
    )
    from domain.letters import LetterFields, LetterKind
    from domain.processes import EMPLOYMENT_CHANGE
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


class FormChanged(Exception):
    """The caller changed what is registered while the manager decides."""


@workflow.defn(name="EmploymentChange")
class EmploymentChangeWorkflow(ApprovedCaseWorkflow):
    @workflow.init
    def __init__(self, input: EmploymentChangeInput) -> None:
        self.case = CaseConversation(
            EMPLOYMENT_CHANGE.name, EMPLOYMENT_CHANGE.category, input.case_number, input.timings
        )
        self.approval = ManagerApproval(self.case)
        self.rejection = Rejection(self.case)
        self.calendar = input.calendar
        self.attempts = 0
        self.form: EmploymentChangeForm | None = None
        self.done = Registered()

    @workflow.run
    async def run(self, input: EmploymentChangeInput) -> EmploymentChangeResult:
        try:
            if opened_by_saksflyt(await self.case.read()):
                self.case.ended(CaseOutcome.NOT_APPLICABLE)
                return EmploymentChangeResult(
                    case_number=input.case_number, outcome=CaseOutcome.NOT_APPLICABLE
                )
            await self.case.acknowledge(RECEIVED_REPLY)
            form, registration = await self._registered()
            filed = await self._salary_letter(form) if form.kind is ChangeKind.SALARY else None
        except CaseClosed as closed:
            await self.case.undo_if_withdrawn(closed.outcome)
            return EmploymentChangeResult(case_number=input.case_number, outcome=closed.outcome)
        await self.case.finish(registered_reply(form, self.done))
        return EmploymentChangeResult(
            case_number=input.case_number,
            outcome=CaseOutcome.REGISTERED,
            kind=form.kind,
            registration_id=registration.registration_id,
            journal_post=filed.journal_post if filed else None,
        )

    async def _registered(self) -> tuple[EmploymentChangeForm, RegistrationResult]:
        """Go round until SAP holds the change and, where the routine asks, the manager has
        approved it."""
        while True:
            form, now = await self._checked_form()
            if await self.rejection.unchanged(form.change()):
                continue
            registration = await self._register(form, now)
            if registration is None:
                continue
            if not form.kind.needs_approval:
                return form, registration
            withdrawable(self.case, registration.registration_id)
            try:
                decided = await self.approval.wait(registration, self._caller_wrote)
            except FormChanged:
                await self._withdraw(self.case.progress.registration_id or "")
                continue
            # Approved, it has taken effect; rejected, it is dead in SAP: neither is withdrawn.
            self.case.settled(registered(decided.registration_id))
            if decided.approval is Approval.APPROVED:
                return form, decided
            await self.rejection.ask(form.change(), decided.reason)

    async def _checked_form(self) -> tuple[EmploymentChangeForm, Employment]:
        """A valid form for an employee SAP knows; the caller is asked for what is wrong, and
        what is not this routine completes the case with the way there."""
        while True:
            snapshot = await self.case.read_for_work(CHECKING)
            check = check_form(snapshot.texts, workflow.now().date())
            if check.refusal is not None:
                await self.case.close(check.refusal, outcome=CaseOutcome.REFUSED)
            problems = check.problems
            if check.form is not None and not problems:
                now = await employment(self.case, check.form.employee_number)
                if now is None:
                    problems = [unknown_employee_problem(check.form.employee_number)]
                elif not (problems := employment_problems(check.form, now)):
                    self.form = check.form
                    return check.form, now
            await self.case.ask_caller(problems)

    async def _register(
        self, form: EmploymentChangeForm, now: Employment
    ) -> RegistrationResult | None:
        run = (
            partial_settlement_run(form, self.calendar) if partial_resignation(form, now) else None
        )
        self.done = Registered(
            settlement_run=run, new_main_position=moves_whole_position(form, now)
        )
        key = idempotency_key("change", self.attempts)
        self.attempts += 1
        return await registered_or_asked(
            self.case,
            f"registrerer endring av {form.kind.value} i SAP",
            PayrollActivities.register_employment_change,
            RegisterEmploymentChange(idempotency_key=key, change=form, settlement_run=run),
        )

    async def _caller_wrote(self, registration: RegistrationResult) -> RegistrationResult:
        """The caller wrote while the manager decides: a changed change is registered anew
        (FormChanged); a form that cannot be used is answered; the rest is for the handler."""
        snapshot = await self.case.read()
        check = check_form(snapshot.texts, workflow.now().date())
        if check.form is None or check.problems:
            await self.case.reply(change_not_used(check.problems or [check.refusal or ""]))
        elif self.form is not None and check.form.change() != self.form.change():
            raise FormChanged
        else:
            await self.case.note(NOTED_FOR_HANDLER)
        await self.case.move_to(WaitState.AWAITING_APPROVAL, WAITING_FOR_MANAGER)
        return registration

    async def _withdraw(self, registration_id: str) -> None:
        """SAP cannot change a form that waits for the manager: withdraw it, so the changed form
        is registered on a new one. One the manager approved in the same moment stays, and the
        case handler is told to reverse it."""
        try:
            await sap(
                PayrollActivities.cancel_registration,
                CancelRegistration(
                    idempotency_key=idempotency_key("withdraw", registration_id),
                    registration_id=registration_id,
                ),
            )
        except ActivityError as error:
            refusal = sap_refusal(error)
            if refusal is None:
                raise
            await self.case.note(f"Den første registreringen kunne ikke trekkes i SAP: {refusal}")
        self.case.settled(registered(registration_id))
        await self.case.reply(REGISTERED_ANEW_REPLY)

    async def _salary_letter(self, form: EmploymentChangeForm) -> Filed:
        """Seed 001, "Endre lønn": the letter about the new salary to the employee, the manager
        in copy, filed in the personnel file."""
        fields = LetterFields(
            navn=form.name,
            ansattnummer=form.employee_number,
            saksnummer=self.case.case_number,
            leder=form.manager,
            fradato=form.from_date,
            ny_lonn=new_salary(form),
        )
        filed = await send_letter(self.case, "salary-letter", LetterKind.SALARY, fields)
        self.done = self.done.model_copy(update={"letter_filed": True})
        return filed


def opened_by_saksflyt(snapshot: CaseSnapshot) -> bool:
    """A case saksflyt opened itself carries its key as the external number; a form a person
    sends has none."""
    return bool(snapshot.external_number)


__all__ = ["EmploymentChangeWorkflow"]
