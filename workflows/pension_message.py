"""The pension message to SPK and what goes with it (seed 001, "Pensjon"; dfo-domain.md §3.4):
the four months' window it waits for, on hold; the message, once per form; a late message's
warning; the standard pension letter and the personnel file. And the state the pension routine
keeps, most of which is about the message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.archive import ArchiveActivities, Filed, FileDocument
    from activities.payroll import RegistrationResult
    from activities.pension import (
        PensionActivities,
        PensionMessageResult,
        SendPensionMessage,
        WithdrawPensionMessage,
    )
    from domain.archive import DocumentType
    from domain.calendar_day import OSLO, norwegian_day
    from domain.cases import WaitState
    from domain.letters import LetterFields, LetterKind
    from domain.pension import (
        OperatorOverride,
        PensionForm,
        PensionType,
        is_late,
        last_working_day,
        spk_opens,
    )
    from domain.pension_texts import (
        confirmation_text,
        late_note,
        late_warning,
        message_resent_reply,
        on_hold_detail,
        on_hold_reply,
        override_note,
        spk_message_text,
        spk_refused_problem,
        withdrawn_note,
    )
    from workflows.approval import dfo, dfo_step, refused, send_letter
    from workflows.case import CaseConversation
    from workflows.idempotency import idempotency_key

# The hold ends in the morning of the day SPK takes the message (seed 000: the caller is told
# the day; the case handlers' working day starts then).
TAKE_UP_AT = time(8, 0)
SPK_REFUSED = "SpkRejected"  # activities/pension.py: SPK refused the message as it stands
SPK_MESSAGE = "pensjonsmeldingen til SPK"


@dataclass
class PensionState:
    """What the pension routine knows between its steps."""

    form: PensionForm | None = None  # the form now acted on
    override: OperatorOverride | None = None  # a case handler's "send now", while on hold
    message: PensionMessageResult | None = None  # SPK's receipt of the live message
    sent_for: PensionForm | None = None  # the form the live message was sent for
    registration: RegistrationResult | None = None  # the position change (partial pension)
    hold_until: datetime | None = None  # the day the caller was told, while on hold
    told_from: date | None = None  # the pension date the caller was last told of
    messages: int = 0  # one key per message: a moved date is a new message
    registrations: int = 0
    filed: list[Filed] = field(default_factory=list)

    def moved(self, form: PensionForm) -> bool:
        """The caller was told another pension date before this one."""
        return self.told_from is not None and self.told_from != form.from_date


def today() -> date:
    return norwegian_day(workflow.now())


class PensionMessage:
    """The SPK message of one pension case."""

    def __init__(self, case: CaseConversation, state: PensionState) -> None:
        self.case = case
        self.state = state

    async def stands(self, form: PensionForm) -> bool:
        """SPK has the message for `form` (True), sent now or before; False when the form must
        be read again (the caller wrote while on hold, or SPK refused and the caller answered)."""
        if self.state.sent_for is not None and self.state.sent_for.message() == form.message():
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
        state = self.state
        opens = spk_opens(form.from_date)
        if today() >= opens or state.override is not None:
            return True
        until = datetime.combine(opens, TAKE_UP_AT, tzinfo=OSLO)
        if until == state.hold_until:  # the caller wrote, and the date stands: no news for them
            await self.case.note(
                "Innmelder har skrevet i saken mens den står på vent; pensjonsdatoen er uendret. "
                "Se svaret."
            )
            await self.case.move_to(WaitState.ON_HOLD, on_hold_detail(opens), until)
        else:
            await self.case.hold(
                on_hold_reply(form.from_date, opens, state.moved(form)),
                WaitState.ON_HOLD,
                on_hold_detail(opens),
                until,
            )
            state.hold_until, state.told_from = until, form.from_date
        woke = await self.case.wait_for(
            lambda: self.case.unread_events > 0 or state.override is not None,
            until - workflow.now(),
            "send pensjonsmeldingen til SPK",
        )
        return not woke or state.override is not None

    async def _sent(self, form: PensionForm) -> bool:
        """Send the message once (a key per message); SPK's refusal goes to the caller."""
        state, sent_on = self.state, today()
        key = idempotency_key("spk", state.messages)
        state.messages += 1
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
        state.message, state.sent_for, state.hold_until = receipt, form, None
        self.case.on_withdrawal(SPK_MESSAGE, lambda: self.withdraw(receipt))
        if state.moved(form):
            await self.case.reply(message_resent_reply(form.from_date))
        state.told_from = form.from_date
        await self._tell_about_timing(form, receipt, sent_on)
        await self._letter_and_files(form, receipt, sent_on)
        return True

    async def _tell_about_timing(
        self, form: PensionForm, receipt: PensionMessageResult, sent_on: date
    ) -> None:
        """The override's note names who and why; a late message warns caller and handler."""
        if self.state.override is not None and sent_on < spk_opens(form.from_date):
            await self.case.note(override_note(self.state.override, form.from_date))
        self.state.override = None
        if is_late(form.from_date, sent_on):
            # dfo-domain.md §3.4: at least two months ahead for SPK to guarantee payment.
            await self.case.reply(late_warning(form.from_date))
            await self.case.note(late_note(form.from_date, receipt.receipt_id))

    async def _withdraw_old(self, form: PensionForm) -> None:
        """A message sent for another form is taken back before a new one goes."""
        state = self.state
        if state.message is None or state.sent_for is None:
            return
        old, old_date = state.message, state.sent_for.from_date
        await self.withdraw(old, in_routine=True)
        self.case.settled(SPK_MESSAGE)  # taken back already: nothing to undo
        state.message = state.sent_for = None
        await self.case.note(withdrawn_note(old.receipt_id, old_date, form.from_date))

    async def withdraw(self, receipt: PensionMessageResult, in_routine: bool = False) -> None:
        """Take the message back; in the routine SPK's refusal waits for an operator, while a
        withdrawn case's undo keeps its own handling."""
        request = WithdrawPensionMessage(
            idempotency_key=idempotency_key("spk", "withdraw", receipt.receipt_id),
            receipt_id=receipt.receipt_id,
        )
        if in_routine:
            await dfo_step(self.case, PensionActivities.withdraw_pension_message, request)
        else:
            await dfo(PensionActivities.withdraw_pension_message, request)

    async def _letter_and_files(
        self, form: PensionForm, receipt: PensionMessageResult, sent_on: date
    ) -> None:
        """Seed 001, "Pensjon": the standard pension letter to the employee with the manager in
        copy; letter, SPK message and the confirmation from NTNU Hjelp in the personnel file.
        Once per message: a new pension date gets a new letter."""
        message = self.state.messages - 1
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
        filed = await send_letter(self.case, f"{message}/letter", LetterKind.PENSION, letter)
        self.state.filed.append(filed)
        documents = [
            (
                "spk-message",
                f"Pensjonsmelding til SPK ({receipt.receipt_id})",
                spk_message_text(form, receipt.receipt_id, sent_on, case_number),
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
                idempotency_key=idempotency_key(message, step),
                employee_number=form.employee_number,
                employee_name=form.name,
                year=sent_on.year,
                title=title,
                text=text,
                document_type=kind,
            )
            self.state.filed.append(
                await dfo_step(self.case, ArchiveActivities.file_document, document)
            )
