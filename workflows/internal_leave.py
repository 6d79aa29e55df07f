"""Internal leave ("Intern permisjon", seed 001): from the employee's application in NTNU Hjelp
to the manager's decision, the answer in the case and the documentation in the personnel file.

Steps:
1. Read the case (a case of another category is left untouched), tell the caller it is received.
2. Check the application (`domain/internal_leave.py`): what is missing or wrong is asked of the
   caller, as every process does (`workflows/case.py`); the employee must be in SAP, the period
   within the employment; a TOA contract is refused with the reason.
3. Give the manager the centre's advice: a case to the manager in NTNU Hjelp, opened once. The
   manager decides there; saksflyt only reads the decision. TOPdesk's webhook for the manager's
   reply (routed here by the manager's case's external number) wakes the case, and the manager's
   case is read daily anyway in case a webhook was lost. The manager is reminded in their case,
   and the application climbs the escalation ladder while no decision comes.
4. Answer the employee in the case, granted or refused with the manager's reason.
5. File the application, the advice and the decision in the personnel file in ePhorte, then
   complete the case. An application withdrawn before the decision (the caller closed it) closes
   the manager's case with word of it, and tells the case handler.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.archive import ArchiveActivities, Filed, FileDocument
    from activities.topdesk import (
        CASE_CLOSED,
        CaseRef,
        CaseSnapshot,
        CaseWrite,
        NewCase,
        TopdeskActivities,
    )
    from domain.cases import OSLO, CaseOutcome, TopdeskStatus, WaitState, unknown_employee_problem
    from domain.employment import Employment
    from domain.internal_leave import (
        EMPLOYEE_WROTE,
        MANAGER_CATEGORY,
        MANAGER_CLOSED,
        RECEIVED_REPLY,
        TOA_REFUSAL,
        UNCLEAR_ANSWER,
        WAITING_FOR_MANAGER,
        WITHDRAWN_FOR_MANAGER,
        InternalLeaveInput,
        InternalLeaveResult,
        LeaveApplication,
        ManagerDecision,
        advice,
        answer,
        check_application,
        document_title,
        documentation,
        filed_reply,
        leave_problems,
        manager_overdue,
        manager_reminder,
        read_answer,
        thanks_to_manager,
    )
    from domain.processes import INTERNAL_LEAVE
    from workflows.approval import CHECKING, dfo_step, employment
    from workflows.case import TOPDESK_RETRY, TOPDESK_TIMEOUT, CaseClosed, CaseConversation, refused
    from workflows.case_workflow import CaseWorkflow
    from workflows.idempotency import idempotency_key


@workflow.defn(name="InternalLeave")
class InternalLeaveWorkflow(CaseWorkflow):
    @workflow.init
    def __init__(self, input: InternalLeaveInput) -> None:
        self.case = CaseConversation(
            INTERNAL_LEAVE.name, INTERNAL_LEAVE.category, input.case_number, input.timings
        )
        self.manager_case: str | None = None
        self.texts_seen = 0

    @workflow.run
    async def run(self, input: InternalLeaveInput) -> InternalLeaveResult:
        try:
            await self.open_case(RECEIVED_REPLY)
            application, now = await self._checked_application()
            basis = advice(application, now)
            decision = await self._manager_decides(application, basis)
            await self.case.reply(answer(application, decision))
        except CaseClosed as closed:
            await self.case.undo_if_withdrawn(closed.outcome)
            return InternalLeaveResult(
                case_number=input.case_number,
                outcome=closed.outcome,
                manager_case=self.manager_case,
            )
        filed = await self._file(application, basis, decision)
        await self.case.finish(filed_reply(filed.journal_post))
        return InternalLeaveResult(
            case_number=input.case_number,
            outcome=CaseOutcome.DECIDED,
            granted=decision.granted,
            manager_case=self.manager_case,
            journal_post=filed.journal_post,
        )

    async def _checked_application(self) -> tuple[LeaveApplication, Employment]:
        """The application once it is complete and fits the employment in SAP."""
        while True:
            snapshot = await self.case.read_for_work(CHECKING)
            check = check_application(snapshot.texts)
            if check.application is None:
                await self.case.ask_caller(check.problems)
                continue
            application = check.application
            self.case.identify(application.unit, None)
            now = await employment(self.case, application.employee_number)
            if now is None:
                await self.case.ask_caller([unknown_employee_problem(application.employee_number)])
                continue
            if now.toa:
                await self.case.close(TOA_REFUSAL, outcome=CaseOutcome.REFUSED)
            problems = leave_problems(application, now)
            if not problems:
                self.texts_seen = len(snapshot.texts)
                return application, now
            await self.case.ask_caller(problems)

    async def _manager_decides(self, application: LeaveApplication, basis: str) -> ManagerDecision:
        """Send the advice to the manager and wait for the decision in the manager's case."""
        manager_case = self.manager_case = await self._open_manager_case(application, basis)
        self.case.on_withdrawal(
            f"lederens sak {manager_case}",
            lambda: _write(
                CaseWrite(
                    case_number=manager_case,
                    reply=WITHDRAWN_FOR_MANAGER,
                    status=TopdeskStatus.COMPLETED,
                )
            ),
        )
        timings = self.case.timings
        waiting_since = workflow.now()
        escalates = waiting_since + timings.approval_reminder_after
        await self.case.move_to(WaitState.AWAITING_APPROVAL, WAITING_FOR_MANAGER, escalates)
        replies_seen, reminded, closed_noted = 0, False, False
        while True:
            await self.case.wait_for(
                lambda: self.case.unread_events > 0,
                timings.approval_poll_every,
                "ser etter leders vedtak",
            )
            if self.case.unread_events > 0:
                await self._employee_wrote()
            found = await _read(manager_case)
            replies = found.texts[1:]  # the first text is the advice, the request of the case
            decision = read_answer(replies)
            if decision.decision is not None:
                self.case.settled(f"lederens sak {manager_case}")
                await self._thank_manager(manager_case, decision.decision)
                return decision.decision
            if decision.unclear and len(replies) > replies_seen:
                await _write(CaseWrite(case_number=manager_case, reply=UNCLEAR_ANSWER))
            replies_seen = len(replies)
            if found.closed and not closed_noted:
                closed_noted = True
                await self.case.note(MANAGER_CLOSED)
            waited = workflow.now() - waiting_since
            if waited < timings.approval_reminder_after:
                continue
            if not reminded and not found.closed:
                reminded = True
                await _write(
                    CaseWrite(case_number=manager_case, reply=manager_reminder(waited.days))
                )
            await self.case.escalate_if_overdue(
                waited, timings.approval_reminder_after, manager_overdue(waited.days)
            )

    async def _open_manager_case(self, application: LeaveApplication, basis: str) -> str:
        """The manager's case, opened once: its external number is this case's number."""
        opened = await workflow.execute_activity_method(
            TopdeskActivities.open_case,
            NewCase(
                external_number=self.case.case_number,
                caller_email=application.manager_email,
                category=MANAGER_CATEGORY,
                brief_description=f"Søknad om intern permisjon fra {application.name}",
                request=basis,
            ),
            start_to_close_timeout=TOPDESK_TIMEOUT,
            retry_policy=TOPDESK_RETRY,
            summary="TOPdesk: sak til leder med søknaden",
        )
        return opened.case_number

    async def _employee_wrote(self) -> None:
        """Re-read the application (a withdrawal ends the routine); a new text from the employee
        while the manager decides is for the case handler."""
        snapshot = await self.case.read()
        if len(snapshot.texts) > self.texts_seen:
            self.texts_seen = len(snapshot.texts)
            await self.case.note(EMPLOYEE_WROTE)

    async def _thank_manager(self, manager_case: str, decision: ManagerDecision) -> None:
        """Complete the manager's case; one the manager closed meanwhile is left as it is."""
        try:
            await _write(
                CaseWrite(
                    case_number=manager_case,
                    reply=thanks_to_manager(decision, self.case.case_number),
                    status=TopdeskStatus.COMPLETED,
                )
            )
        except ActivityError as error:
            if refused(error, CASE_CLOSED) is None:
                raise

    async def _file(
        self, application: LeaveApplication, basis: str, decision: ManagerDecision
    ) -> Filed:
        """Seed 001, step 5: the documentation into the personnel file, once."""
        today = workflow.now().astimezone(OSLO).date()
        return await dfo_step(
            self.case,
            ArchiveActivities.file_document,
            FileDocument(
                idempotency_key=idempotency_key("documentation"),
                employee_number=application.employee_number,
                employee_name=application.name,
                year=today.year,
                title=document_title(decision),
                text=documentation(application, basis, decision),
            ),
        )


async def _read(case_number: str) -> CaseSnapshot:
    return await workflow.execute_activity_method(
        TopdeskActivities.read_case,
        CaseRef(case_number=case_number),
        start_to_close_timeout=TOPDESK_TIMEOUT,
        retry_policy=TOPDESK_RETRY,
        summary=f"TOPdesk: les leders sak {case_number}",
    )


async def _write(write: CaseWrite) -> None:
    await workflow.execute_activity_method(
        TopdeskActivities.write_case,
        write,
        start_to_close_timeout=TOPDESK_TIMEOUT,
        retry_policy=TOPDESK_RETRY,
        summary=f"TOPdesk: skriv i leders sak {write.case_number}",
    )
