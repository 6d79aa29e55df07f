"""The final settlement's way through payroll (seed 001, "Annen fratredelse"; dfo-domain.md §6.4):
registered in SAP once, for the run that still takes it; the case on hold until the day after
that run; a new end date moving the settlement, its letter and the timer; SAP asked whether it
paid, and the escalation ladder climbed while it has not. And the state the settlement routine
keeps, most of which is about that wait.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.payroll import (
        CancelSettlement,
        MoveSettlement,
        PayrollActivities,
        RegisterSettlement,
        SettlementRef,
        SettlementResult,
    )
    from domain.calendar_day import OSLO, norwegian_day
    from domain.cases import WaitState
    from domain.final_settlement import FORM, SettlementForm, moved_reply, on_hold_reply
    from domain.forms import format_date
    from domain.letters import LetterFields, LetterKind
    from domain.payroll_calendar import PayrollCalendar
    from workflows import versions
    from workflows.approval import dfo_step, sap, sap_refusal, send_letter
    from workflows.case import CaseConversation
    from workflows.idempotency import idempotency_key

# Money is on the account at 00:00 on pay day (dfo-domain.md §2); SAP is asked the morning after.
CHECK_AT = time(9, 0)
CHECK_AGAIN_EVERY = timedelta(days=1)


@dataclass
class SettlementState:
    """What the settlement routine keeps between its steps."""

    form: SettlementForm | None = None
    moves: int = 0  # end dates moved, each a step of its own in the idempotency keys
    letter_sent: bool = False
    warned: bool = False  # of a late notice, once (domain.final_settlement.late_notice_warning)
    check_at: datetime | None = None  # when SAP is next asked whether the run paid


class SettlementPayroll:
    """The settlement in SAP from its registration until the payroll run has paid it."""

    def __init__(
        self, case: CaseConversation, calendar: PayrollCalendar, state: SettlementState
    ) -> None:
        self.case = case
        self.calendar = calendar
        self.state = state

    @property
    def form(self) -> SettlementForm:
        assert self.state.form is not None
        return self.state.form

    async def send_letter(self, form: SettlementForm) -> None:
        """The letter is sent and filed once per end date: a moved end date sends a new one."""
        fields = LetterFields(
            navn=form.name,
            ansattnummer=form.employee_number,
            saksnummer=self.case.case_number,
            leder=form.manager,
            sluttdato=form.end_date,
            arsak=form.reason.value,
        )
        await send_letter(self.case, f"letter/{self.state.moves}", LetterKind.TERMINATION, fields)
        self.state.letter_sent = True

    async def register(self, form: SettlementForm) -> SettlementResult:
        settlement = await dfo_step(
            self.case,
            PayrollActivities.register_final_settlement,
            RegisterSettlement(
                idempotency_key=idempotency_key("settlement"),
                employee_number=form.employee_number,
                end_date=form.end_date,
                run=self.calendar.settlement_run(form.end_date, norwegian_day(workflow.now())),
            ),
        )
        self.case.on_withdrawal(
            _settlement_in_sap(settlement),
            lambda: sap(
                PayrollActivities.cancel_final_settlement,
                CancelSettlement(
                    idempotency_key=idempotency_key("settlement", "cancel"),
                    settlement_id=settlement.settlement_id,
                ),
            ),
        )
        return settlement

    async def until_paid(self, settlement: SettlementResult) -> SettlementResult:
        """On hold until the run has paid the settlement; SAP is asked the day after the run."""
        await self._hold(settlement, on_hold_reply(self.form.end_date, settlement.run))
        told_handler = False
        while True:
            assert self.state.check_at is not None
            if await self.case.wait_for(
                lambda: self.case.unread_events > 0,
                self.state.check_at - workflow.now(),
                "sjekk utbetalingen etter lønnskjøringen",
            ):
                settlement = await self._caller_wrote(settlement)
                continue
            paid = await dfo_step(
                self.case,
                PayrollActivities.settlement_status,
                SettlementRef(settlement_id=settlement.settlement_id),
            )
            if paid.paid:
                self.case.settled(_settlement_in_sap(settlement))
                return paid
            await self._unpaid(paid, told_handler)
            told_handler = True
            self.state.check_at = workflow.now() + CHECK_AGAIN_EVERY

    async def _hold(self, settlement: SettlementResult, reply: str) -> None:
        self.state.check_at = _checked_after(settlement.run)
        await self.case.hold(
            reply,
            WaitState.AWAITING_PAYROLL,
            f"venter på lønnskjøringen {format_date(settlement.run)}",
            self.state.check_at,
        )

    async def _unpaid(self, settlement: SettlementResult, told_handler: bool) -> None:
        """Not paid after its run: a deviation (seed 000), escalated a rung at a time."""
        why = (
            f"Sluttoppgjøret {settlement.settlement_id} er ikke bekreftet utbetalt etter "
            f"lønnskjøringen {format_date(settlement.run)}. Sjekk i SAP."
        )
        if versions.escalates_undecided_manager():
            waited = workflow.now() - _checked_after(settlement.run)
            await self.case.escalate_if_overdue(waited, timedelta(0), why)
        elif not told_handler:  # cases started before the ladder keep their single note
            await self.case.note(why)

    async def _caller_wrote(self, settlement: SettlementResult) -> SettlementResult:
        """A new end date moves the settlement; anything else is for the case handler."""
        hold = self.case.progress
        snapshot = await self.case.read()
        values, _ = FORM.read(snapshot.texts)
        end_date = values.get("end_date")
        moved = isinstance(end_date, date) and end_date != self.form.end_date
        if moved and versions.settlement_follows_end_date():  # cases started before only noted it
            assert isinstance(end_date, date)
            return await self._move(settlement, end_date)
        await self.case.note(
            "Innmelder har skrevet i saken mens sluttoppgjøret venter på lønnskjøringen. "
            "Se svaret; endringer må føres manuelt i SAP."
        )
        await self.case.move_to(hold.state, hold.detail, hold.due)
        return settlement

    async def _move(self, settlement: SettlementResult, end_date: date) -> SettlementResult:
        """Seed 001: the settlement is paid the month after the end date, so a moved end date
        moves the settlement to that month's run, and the timer with it."""
        self.state.moves += 1
        try:
            moved = await sap(
                PayrollActivities.move_final_settlement,
                MoveSettlement(
                    idempotency_key=idempotency_key("settlement", "move", self.state.moves),
                    settlement_id=settlement.settlement_id,
                    end_date=end_date,
                    run=self.calendar.settlement_run(end_date, norwegian_day(workflow.now())),
                ),
            )
        except ActivityError as error:
            refusal = sap_refusal(error)
            if refusal is None:
                raise
            await self.case.reply(f"Den nye sluttdatoen kunne ikke brukes: {refusal}")
            await self._hold(settlement, on_hold_reply(self.form.end_date, settlement.run))
            return settlement
        self.state.form = self.form.model_copy(update={"end_date": end_date})
        if self.state.letter_sent:
            await self.send_letter(self.form)
        await self._hold(moved, moved_reply(end_date, moved.run))
        return moved


def _checked_after(run: date) -> datetime:
    """When SAP is asked whether `run` paid: the morning after it, in Norway."""
    return datetime.combine(run + timedelta(days=1), CHECK_AT, tzinfo=OSLO)


def _settlement_in_sap(settlement: SettlementResult) -> str:
    return f"sluttoppgjøret {settlement.settlement_id} i SAP"
