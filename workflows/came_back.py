"""A case that comes back ("CaseCameBack", domain/came_back.py): the caller wrote in, or reopened,
a case whose routine has finished.

The intake starts one per event, its id made of the case number and the webhook's event key, so
a repeated webhook finds it and nothing is done twice. Steps:
1. Read the case (a case the caller has closed again ends here) and show it "I arbeid".
2. A registered new hire whose form now carries another start date: move the registration in SAP
   (one key per event), tell the caller, wait for the manager's new approval as the new hire
   does, and complete the case again.
3. Anything else: a note to the case handlers saying what came and that saksflyt did nothing
   with it, and the case given to their group ("Tildelt").
"""

from __future__ import annotations

import contextlib

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.payroll import (
        PayrollActivities,
        RegistrationRef,
        RegistrationResult,
        UpdateStartDate,
    )
    from activities.topdesk import CaseWrite
    from domain.calendar_day import norwegian_day
    from domain.came_back import (
        CASE_HANDLERS,
        CameBackInput,
        CameBackResult,
        form_problems,
        handler_note,
        not_carried,
        other_answers,
        others_note,
        rejected,
        unchanged_start_date,
    )
    from domain.cases import Approval, CaseOutcome, TopdeskStatus
    from domain.new_hire import check_form, registered_reply, start_date_moved_reply
    from workflows.approval import ApprovedCaseWorkflow, ManagerApproval, dfo_step
    from workflows.case import CaseClosed, CaseConversation
    from workflows.idempotency import idempotency_key

LOOKING = "innmelder skrev etter at saken var avsluttet"


class LeftToHandler(Exception):
    """Saksflyt cannot carry what came; `why` is told to the case handler."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


@workflow.defn(name="CaseCameBack")
class CameBackWorkflow(ApprovedCaseWorkflow):
    @workflow.init
    def __init__(self, input: CameBackInput) -> None:
        self.case = CaseConversation(
            input.process, input.category, input.case_number, input.timings
        )
        self.approval = ManagerApproval(self.case)

    @workflow.run
    async def run(self, input: CameBackInput) -> CameBackResult:
        result = CameBackResult(case_number=input.case_number, carried=False)
        try:
            texts = (await self.case.read_for_work(LOOKING)).texts
            registration = await self._carried(input, texts)
        except CaseClosed as closed:
            return result.model_copy(update={"reason": closed.outcome.value})
        except LeftToHandler as left:
            await self._to_case_handlers(input.event, left.why)
            return result.model_copy(update={"reason": left.why})
        await self.case.finish(
            registered_reply(registration.start_date, registration.employee_number)
        )
        return result.model_copy(update={"carried": True, "start_date": registration.start_date})

    async def _carried(self, input: CameBackInput, texts: list[str]) -> RegistrationResult:
        """Move a registered new hire to the form's new start date and wait for the manager's
        approval of it; raises LeftToHandler for anything else."""
        why = not_carried(input)
        if why is not None or input.registration_id is None:
            raise LeftToHandler(why or "")
        check = check_form(texts, today=norwegian_day(workflow.now()))
        if check.form is None:
            raise LeftToHandler(form_problems(check.problems or [check.refusal or ""]))
        registration = await dfo_step(
            self.case,
            PayrollActivities.approval_status,
            RegistrationRef(registration_id=input.registration_id),
        )
        if check.form.start_date == registration.start_date:
            raise LeftToHandler(unchanged_start_date(registration.start_date))
        registration = await dfo_step(
            self.case,
            PayrollActivities.update_start_date,
            UpdateStartDate(
                idempotency_key=idempotency_key("start-date"),
                registration_id=registration.registration_id,
                start_date=check.form.start_date,
            ),
        )
        await self.case.reply(start_date_moved_reply(registration.start_date))
        others = other_answers(texts[-1]) if len(texts) > 1 else []
        if others:
            await self.case.note(others_note(others))
        decided = await self.approval.wait(registration, self._as_it_stands)
        if decided.approval is not Approval.APPROVED:
            raise LeftToHandler(rejected(decided.reason))
        return decided

    async def _as_it_stands(self, registration: RegistrationResult) -> RegistrationResult:
        """The caller's later events start workflows of their own: nothing to follow here."""
        return registration

    async def _to_case_handlers(self, event: str, why: str) -> None:
        """The note, to the case handlers' group, then the status of a case an operator has
        been given (seed 002: "Tildelt"); a case the caller closed meanwhile keeps its close."""
        await self.case.write(
            CaseWrite(
                case_number=self.case.case_number,
                note=handler_note(event, why),
                operator_group=CASE_HANDLERS,
            )
        )
        with contextlib.suppress(CaseClosed):
            await self.case.write(
                CaseWrite(case_number=self.case.case_number, status=TopdeskStatus.ASSIGNED)
            )
        # saksflyt's routine does not apply to what came: the case is the handler's now
        self.case.ended(CaseOutcome.NOT_APPLICABLE)
