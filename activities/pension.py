"""Pension activities: pension messages to Statens pensjonskasse (SPK), through the pension port."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel
from temporalio import activity

from activities.errors import final_errors
from adapters.dfo.spk import (
    PensionMessage,
    PensionPort,
    PensionReceipt,
    PensionStatus,
    SpkRejected,
)
from domain.pension import PensionType


class SendPensionMessage(BaseModel):
    idempotency_key: str
    employee_number: str
    pension_type: PensionType
    percentage: int  # share of the pension taken out; 100 is a full pension
    from_date: date
    end_date: date | None = None
    reason: str | None = None


class WithdrawPensionMessage(BaseModel):
    idempotency_key: str
    receipt_id: str


class PensionMessageResult(BaseModel):
    receipt_id: str
    from_date: date
    withdrawn: bool


class PensionActivities:
    def __init__(self, spk: PensionPort) -> None:
        self.spk = spk

    @activity.defn(name="spk.send_pension_message")
    def send_pension_message(self, request: SendPensionMessage) -> PensionMessageResult:
        """Send the message once per key; SPK's refusal is final (a person must correct it)."""
        message = PensionMessage(
            ansattnummer=request.employee_number,
            pensjonstype=request.pension_type,
            uttaksgrad=request.percentage,
            fradato=request.from_date,
            sluttdato=request.end_date,
            arsak=request.reason,
        )
        with final_errors(SpkRejected):
            return _result(self.spk.send_pension_message(message, request.idempotency_key))

    @activity.defn(name="spk.withdraw_pension_message")
    def withdraw_pension_message(self, request: WithdrawPensionMessage) -> PensionMessageResult:
        """Take a message back: the case was withdrawn, or the pension date moved."""
        with final_errors(SpkRejected):
            receipt = self.spk.withdraw_pension_message(request.receipt_id, request.idempotency_key)
        return _result(receipt)


def _result(receipt: PensionReceipt) -> PensionMessageResult:
    return PensionMessageResult(
        receipt_id=receipt.id,
        from_date=receipt.fradato,
        withdrawn=receipt.status is PensionStatus.WITHDRAWN,
    )
