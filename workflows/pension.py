"""Retirement ("Pensjon", seed 001): from the employee's form to SPK's pension message, the
pension letter and the personnel file, and on to a reduced position (partial pension) or a final
settlement (full pension).

Steps:
1. Read the case (a case of another category is left untouched), tell the caller it is received.
2. Check the form (Navn, Ansattnummer, Pensjonstype, Uttaksgrad, Fra dato on the first of a
   month, Leder, and for partial pension Ny stillingsprosent) and the employee in SAP; ask the
   caller for what is missing or wrong.
3. SPK takes the message at the earliest four months before the pension date: earlier than that
   the case is "På vent", the caller told why and the day it is taken up again, on a durable timer
   to that day. A case handler may send at once (`send_now`). A new "Fra dato" written meanwhile
   re-arms the timer.
4. Send the pension message to SPK, once per form; SPK's refusal goes to the caller. Less than two
   months before the pension date the caller is warned and the case handler told.
5. Send the standard pension letter to the employee, the manager in copy (filed in the personnel
   file), and file the SPK message and the case confirmation there too.
6. Partial pension: register the new position percentage in SAP from the pension date and wait
   for the manager's approval; a rejection goes to the caller. Then complete the case.
   Full pension: the final settlement, as a child workflow on this case, ends the process.
A changed form while on hold or awaiting approval (a new "Fra dato", uttaksgrad, ...) takes back
what hangs on it (the SPK message, the position change) and goes round again from step 2. A
withdrawn case undoes, newest first: the position change, then the SPK message.
"""

from __future__ import annotations

from datetime import date, datetime, time

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.archive import ArchiveActivities, Filed, FileDocument
    from activities.payroll import (
        CancelRegistration,
        PayrollActivities,
        RegisterPositionChange,
        RegistrationResult,
    )
    from activities.pension import (
        PensionActivities,
        PensionMessageResult,
        SendPensionMessage,
        WithdrawPensionMessage,
    )
    from domain.archive import DocumentType
    from domain.cases import (
        OSLO,
        Approval,
        CaseEvent,
        CaseOutcome,
        WaitState,
        manager_rejected_problem,
        unknown_employee_problem,
    )
    from domain.final_settlement import (
        FinalSettlementResult,
        SettlementOrder,
        TerminationReason,
    )
    from domain.letters import LetterFields, LetterKind
    from domain.pension import (
        RECEIVED_REPLY,
        OperatorOverride,
        PensionForm,
        PensionInput,
        PensionResult,
        PensionType,
        change_not_used_reply,
        check_form,
        confirmation_text,
        employment_problems,
        filed_stays_note,
        full_pension_reply,
        is_late,
        last_working_day,
        late_note,
        late_warning,
        message_resent_reply,
        on_hold_detail,
        on_hold_reply,
        override_note,
        partial_pension_reply,
        spk_message_text,
        spk_opens,
        spk_refused_problem,
        unanswered_note,
        withdrawn_note,
    )
    from domain.processes import FINAL_SETTLEMENT, PENSION
    from workflows.approval import (
        CHECKING,
        WAITING_FOR_MANAGER,
        ApprovedCaseWorkflow,
        ManagerApproval,
        dfo,
        employment,
        refused,
        registered_or_asked,
        sap,
        sap_refusal,
        send_letter,
    )
    from workflows.case import CaseClosed, CaseConversation
    from workflows.final_settlement import SettlementChild

# The hold ends in the morning of the day SPK takes the message (seed 000: the caller is told
# the day; the case handlers' working day starts then).
TAKE_UP_AT = time(8, 0)
SPK_REFUSED = "SpkRejected"  # activities/pension.py: SPK refused the message as it stands
SPK_MESSAGE = "pensjonsmeldingen til SPK"
POSITION_CHANGE = "stillingsendringen i SAP"


class PlanChanged(Exception):
    """The caller changed what the SPK message or the position change is made of."""


@workflow.defn(name="Pension")
class PensionWorkflow(ApprovedCaseWorkflow):
    @workflow.init
    def __init__(self, input: PensionInput) -> None:
        self.case = CaseConversation(
            PENSION.name, PENSION.category, input.case_number, input.timings
        )
        self.approval = ManagerApproval(self.case)
        self.settlement = SettlementChild()
        self.override: OperatorOverride | None = None
        self.form: PensionForm | None = None  # the form now acted on
        self.message: PensionMessageResult | None = None  # SPK's receipt of the live message
        self.sent_for: PensionForm | None = None  # the form the live message was sent for
        self.registration: RegistrationResult | None = None
        self.hold_until: datetime | None = None  # the day the caller was told, while on hold
        self.told_from: date | None = None  # the pension date the caller was last told of
        self.messages = 0  # one key per message: a moved date is a new message
        self.registrations = 0
        self.filed: list[Filed] = []

    @workflow.signal
    def send_now(self, order: OperatorOverride) -> None:
        """A case handler sends the SPK message at once, not waiting for the four months. Only
        while the case waits for that: an override is for the message on hold, not a later one."""
        if self.case.first_time(order.event_id) and self.case.progress.state is WaitState.ON_HOLD:
            self.override = order

    async def forward_caller_event(self, event: CaseEvent) -> None:
        await self.settlement.forward(event)

    def handed_over(self) -> bool:
        return self.settlement.running

    @workflow.run
    async def run(self, input: PensionInput) -> PensionResult:
        try:
            await self.open_case(RECEIVED_REPLY)
            form = await self._planned()
            if form.full:
                settled = await self._settled(form, input)
                return await self._ended(settled.outcome, settled.registration_id)
            await self.case.finish(partial_pension_reply(form))
        except CaseClosed as closed:
            await self.case.undo_if_withdrawn(closed.outcome)
            return await self._ended(closed.outcome)
        return self._result(CaseOutcome.REGISTERED)

    async def _planned(self) -> PensionForm:
        """Go round until SPK has the message for the form as it stands and, for a partial
        pension, the manager has approved the new position percentage."""
        while True:
            form = await self._checked_form()
            if not await self._message_stands(form):
                continue
            if form.full or await self._position_change_approved(form):
                return form

    # -- the form --------------------------------------------------------------------------

    async def _checked_form(self) -> PensionForm:
        """A valid form for an employee SAP knows; the caller is asked for what is wrong."""
        while True:
            snapshot = await self.case.read_for_work(CHECKING)
            check = check_form(snapshot.texts, self._today())
            problems = check.problems
            if check.form is not None:
                problems = await self._employment_problems(check.form)
                if not problems:
                    self.form = check.form
                    return check.form
            await self.case.ask_caller(problems)

    async def _employment_problems(self, form: PensionForm) -> list[str]:
        now = await employment(self.case, form.employee_number)
        if now is None:
            return [unknown_employee_problem(form.employee_number)]
        return employment_problems(form, now)

    # -- SPK -------------------------------------------------------------------------------

    async def _message_stands(self, form: PensionForm) -> bool:
        """SPK has the message for `form` (True), sent now or before; False when the form must
        be read again (the caller wrote while on hold, or SPK refused and the caller answered)."""
        if self.sent_for is not None and self.sent_for.message() == form.message():
            return True
        await self._withdraw_old(form)
        if not await self._window_open(form):
            return False
        return await self._sent(form)

    async def _window_open(self, form: PensionForm) -> bool:
        """dfo-domain.md §3.4: SPK takes the message at the earliest four months before the
        pension date. Until then the case is on hold (seed 000: why, and the day it is taken up
        again); True when the day has come or a case handler says send now, False when the
        caller wrote meanwhile."""
        opens = spk_opens(form.from_date)
        if self._today() >= opens or self.override is not None:
            return True
        until = datetime.combine(opens, TAKE_UP_AT, tzinfo=OSLO)
        if until == self.hold_until:  # the caller wrote, and the date stands: no news for them
            await self.case.note(
                "Innmelder har skrevet i saken mens den står på vent; pensjonsdatoen er uendret. "
                "Se svaret."
            )
            await self.case.move_to(WaitState.ON_HOLD, on_hold_detail(opens), until)
        else:
            await self.case.hold(
                on_hold_reply(form.from_date, opens, self._moved(form)),
                WaitState.ON_HOLD,
                on_hold_detail(opens),
                until,
            )
            self.hold_until, self.told_from = until, form.from_date
        woke = await self.case.wait_for(
            lambda: self.case.unread_events > 0 or self.override is not None,
            until - workflow.now(),
            "send pensjonsmeldingen til SPK",
        )
        return not woke or self.override is not None

    async def _sent(self, form: PensionForm) -> bool:
        """Send the message once (a key per message); SPK's refusal goes to the caller."""
        today = self._today()
        key = f"{workflow.info().workflow_id}/spk/{self.messages}"
        self.messages += 1
        try:
            receipt = await dfo(
                PensionActivities.send_pension_message,
                SendPensionMessage(
                    idempotency_key=key,
                    employee_number=form.employee_number,
                    pension_type=PensionType(form.kind.value),
                    percentage=form.percentage,
                    from_date=form.from_date,
                    end_date=last_working_day(form) if form.full else None,
                ),
            )
        except ActivityError as error:
            refusal = refused(error, SPK_REFUSED)
            if refusal is None:
                raise
            await self.case.ask_caller([spk_refused_problem(refusal)])
            return False
        self.message, self.sent_for, self.hold_until = receipt, form, None
        self.case.on_withdrawal(SPK_MESSAGE, lambda: self._withdraw(receipt))
        if self._moved(form):
            await self.case.reply(message_resent_reply(form.from_date))
        self.told_from = form.from_date
        await self._tell_about_timing(form, receipt, today)
        await self._letter_and_files(form, receipt, today)
        return True

    async def _tell_about_timing(
        self, form: PensionForm, receipt: PensionMessageResult, today: date
    ) -> None:
        """The override's note names who and why; a late message warns caller and handler."""
        if self.override is not None and today < spk_opens(form.from_date):
            await self.case.note(override_note(self.override, form.from_date))
        self.override = None
        if is_late(form.from_date, today):
            # dfo-domain.md §3.4: at least two months ahead for SPK to guarantee payment.
            await self.case.reply(late_warning(form.from_date))
            await self.case.note(late_note(form.from_date, receipt.receipt_id))

    async def _withdraw_old(self, form: PensionForm) -> None:
        """A message sent for another form is taken back before a new one goes."""
        if self.message is None or self.sent_for is None:
            return
        old, old_date = self.message, self.sent_for.from_date
        await self._withdraw(old)
        self.case.settled(SPK_MESSAGE)  # taken back already: nothing to undo
        self.message = self.sent_for = None
        await self.case.note(withdrawn_note(old.receipt_id, old_date, form.from_date))

    async def _withdraw(self, receipt: PensionMessageResult) -> None:
        await dfo(
            PensionActivities.withdraw_pension_message,
            WithdrawPensionMessage(
                idempotency_key=f"{workflow.info().workflow_id}/spk/withdraw/{receipt.receipt_id}",
                receipt_id=receipt.receipt_id,
            ),
        )

    # -- the letter and the personnel file --------------------------------------------------

    async def _letter_and_files(
        self, form: PensionForm, receipt: PensionMessageResult, today: date
    ) -> None:
        """Seed 001, "Pensjon": the standard pension letter to the employee with the manager in
        copy; letter, SPK message and the confirmation from NTNU Hjelp in the personnel file.
        Once per message: a new pension date gets a new letter."""
        key = f"{workflow.info().workflow_id}/{self.messages - 1}"
        case_number = self.case.case_number
        letter = LetterFields(
            navn=form.name,
            ansattnummer=form.employee_number,
            saksnummer=case_number,
            leder=form.manager,
            fradato=form.from_date,
            pensjonstype=PensionType(form.kind.value),
            uttaksgrad=form.percentage,
        )
        self.filed.append(
            await send_letter(f"{self.messages - 1}/letter", LetterKind.PENSION, letter)
        )
        documents = [
            (
                "spk-message",
                f"Pensjonsmelding til SPK ({receipt.receipt_id})",
                spk_message_text(form, receipt.receipt_id, today, case_number),
                DocumentType.OUTGOING,
            ),
            (
                "confirmation",
                f"Bekreftelse fra NTNU Hjelp, sak {case_number}",
                confirmation_text(form, case_number, receipt.receipt_id),
                DocumentType.NOTE_NO_FOLLOW_UP,
            ),
        ]
        for step, title, text, kind in documents:
            document = FileDocument(
                idempotency_key=f"{key}/{step}",
                employee_number=form.employee_number,
                employee_name=form.name,
                year=today.year,
                title=title,
                text=text,
                document_type=kind,
            )
            self.filed.append(await dfo(ArchiveActivities.file_document, document))

    # -- partial pension: the position change ---------------------------------------------

    async def _position_change_approved(self, form: PensionForm) -> bool:
        """Register the reduced position percentage from the pension date and wait for the
        manager; False when the caller must be heard (a rejection) or the form changed."""
        registration = await self._register_position(form)
        if registration is None:
            return False
        try:
            decided = await self.approval.wait(registration, self._caller_wrote)
        except PlanChanged:
            await self._cancel(self.registration or registration)
            self.case.settled(POSITION_CHANGE)
            return False
        self.registration = decided
        self.case.settled(POSITION_CHANGE)  # approved takes effect; a rejected form is void
        if decided.approval is Approval.APPROVED:
            return True
        await self.case.ask_caller([manager_rejected_problem(decided.reason)])
        return False

    async def _register_position(self, form: PensionForm) -> RegistrationResult | None:
        assert form.new_position is not None
        key = f"{workflow.info().workflow_id}/position/{self.registrations}"
        self.registrations += 1
        registration = await registered_or_asked(
            self.case,
            "registrerer ny stillingsprosent i SAP",
            PayrollActivities.register_position_change,
            RegisterPositionChange(
                idempotency_key=key,
                employee_number=form.employee_number,
                percentage=form.new_position,
                from_date=form.from_date,
            ),
        )
        if registration is not None:
            self.registration = registration
            self.case.on_withdrawal(POSITION_CHANGE, lambda: self._cancel(registration))
        return registration

    async def _caller_wrote(self, registration: RegistrationResult) -> RegistrationResult:
        """The caller wrote while the manager decides: a changed form starts over (PlanChanged);
        a form that cannot be used is answered; anything else goes to the case handler."""
        self.registration = registration
        snapshot = await self.case.read()
        check = check_form(snapshot.texts, self._today())
        if check.form is None:
            await self.case.reply(change_not_used_reply(check.problems))
        elif self.form is not None and check.form.plan() != self.form.plan():
            raise PlanChanged
        else:
            await self.case.note(
                "Innmelder har skrevet i saken mens stillingsendringen venter på leders "
                "godkjenning. Se svaret; endringer i navn eller leder må føres manuelt."
            )
        await self.case.move_to(WaitState.AWAITING_APPROVAL, WAITING_FOR_MANAGER)
        return registration

    async def _cancel(self, registration: RegistrationResult) -> None:
        """Withdraw the position change; one the manager approved meanwhile stays, and the
        case handler is told to reverse it."""
        try:
            await sap(
                PayrollActivities.cancel_registration,
                CancelRegistration(
                    idempotency_key=f"{workflow.info().workflow_id}/position/cancel/"
                    f"{registration.registration_id}",
                    registration_id=registration.registration_id,
                ),
            )
        except ActivityError as error:
            refusal = sap_refusal(error)
            if refusal is None:
                raise
            await self.case.note(f"Stillingsendringen kunne ikke trekkes i SAP: {refusal}")

    # -- full pension: the final settlement ------------------------------------------------

    async def _settled(self, form: PensionForm, input: PensionInput) -> FinalSettlementResult:
        """Seed 001, "Pensjon": full pension ends with a final settlement, on this case; the
        child completes it when paid. A retirement is a resignation of the position (seed 001
        and dfo-domain.md §3.4: the employee resigns to retire); the letter is the pension
        letter, so the child sends none. A case withdrawn meanwhile: the child takes back the
        settlement, this workflow the SPK message."""
        number = self.case.case_number
        await self.case.reply(full_pension_reply(form))
        await self.case.move_to(WaitState.HANDED_OVER, FINAL_SETTLEMENT.workflow_id(number))
        settled = await self.settlement.settle(
            number,
            input.timings,
            SettlementOrder(
                name=form.name,
                employee_number=form.employee_number,
                end_date=last_working_day(form),
                reason=TerminationReason.RESIGNATION,
                manager=form.manager,
                termination_letter=False,
            ),
            PENSION.category,
            input.calendar,
        )
        await self.case.undo_if_withdrawn(settled.outcome)
        return settled

    async def _ended(self, outcome: CaseOutcome, settlement_id: str | None = None) -> PensionResult:
        """The case has ended, by this workflow or by the settlement on it: tell the handler
        what stays in the archive if it was withdrawn, or at SPK if the caller never answered;
        and show the case as done without writing to it again (TOPdesk already shows how it
        ended)."""
        if outcome is CaseOutcome.WITHDRAWN and self.filed:
            await self.case.note(filed_stays_note([filed.journal_post for filed in self.filed]))
        if outcome is CaseOutcome.CLOSED_WITHOUT_REPLY and self.message is not None:
            await self.case.note(unanswered_note(self.message.receipt_id))
        self.case.ended(outcome)
        result = self._result(outcome)
        result.settlement_id = settlement_id
        return result

    # -- helpers ---------------------------------------------------------------------------

    def _moved(self, form: PensionForm) -> bool:
        """The caller was told another pension date before this one."""
        return self.told_from is not None and self.told_from != form.from_date

    def _today(self) -> date:
        return workflow.now().astimezone(OSLO).date()

    def _result(self, outcome: CaseOutcome) -> PensionResult:
        return PensionResult(
            case_number=self.case.case_number,
            outcome=outcome,
            receipt_id=self.message.receipt_id if self.message else None,
            from_date=self.sent_for.from_date if self.sent_for else None,
            registration_id=self.registration.registration_id if self.registration else None,
            archive_case=self.filed[0].archive_case if self.filed else None,
            journal_posts=[filed.journal_post for filed in self.filed],
        )
