"""Payroll activities: registrations in SAP at DFØ, through the payroll port."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel
from temporalio import activity

from activities.errors import final_errors
from adapters.dfo.sap import (
    ApprovalState,
    NewHire,
    PayrollPort,
    PayrollRejected,
    Registration,
    Settlement,
)
from domain.cases import Approval
from domain.extension import Employment
from domain.new_hire import NewHireForm


class RegisterNewHire(BaseModel):
    idempotency_key: str
    form: NewHireForm


class UpdateStartDate(BaseModel):
    idempotency_key: str
    registration_id: str
    start_date: date


class RegistrationRef(BaseModel):
    registration_id: str


class EmployeeRef(BaseModel):
    employee_number: str


class RegisterExtension(BaseModel):
    idempotency_key: str
    employee_number: str
    new_end_date: date


class RegistrationResult(BaseModel):
    registration_id: str
    employee_number: str
    start_date: date
    approval: Approval
    reason: str | None = None
    end_date: date | None = None


class RegisterSettlement(BaseModel):
    idempotency_key: str
    employee_number: str
    end_date: date
    run: date


class SettlementRef(BaseModel):
    settlement_id: str


class SettlementResult(BaseModel):
    settlement_id: str
    run: date
    paid: bool


# The error type a workflow sees when SAP refuses a registration as it stands.
REFUSED = PayrollRejected.__name__

_APPROVAL = {
    ApprovalState.PENDING: Approval.PENDING,
    ApprovalState.APPROVED: Approval.APPROVED,
    ApprovalState.REJECTED: Approval.REJECTED,
}


class PayrollActivities:
    def __init__(self, payroll: PayrollPort) -> None:
        self.payroll = payroll

    @activity.defn(name="sap.register_new_hire")
    def register_new_hire(self, request: RegisterNewHire) -> RegistrationResult:
        """Register once per idempotency key; the form then waits for the manager's approval."""
        form = request.form
        hire = NewHire(
            navn=form.name,
            fnr=form.national_id,
            startdato=form.start_date,
            sluttdato=form.end_date,
            kontonummer=form.bank_account,
            dellonnsprosent=form.position_percentage,
            sakarkivnr=form.archive_case,
            organisasjon=form.unit,
            stillingstittel=form.job_title,
        )
        with final_errors(PayrollRejected):
            return _result(self.payroll.register_new_hire(hire, request.idempotency_key))

    @activity.defn(name="sap.update_start_date")
    def update_start_date(self, request: UpdateStartDate) -> RegistrationResult:
        with final_errors(PayrollRejected):
            registration = self.payroll.update_start_date(
                request.registration_id, request.start_date, request.idempotency_key
            )
        return _result(registration)

    @activity.defn(name="sap.employee")
    def employee(self, ref: EmployeeRef) -> Employment:
        """The employment as SAP has it now; an unknown employee number is a final error."""
        with final_errors(PayrollRejected):
            employee = self.payroll.employee(ref.employee_number)
        return Employment(
            employee_number=employee.ansattnummer,
            start_date=employee.startdato,
            end_date=employee.sluttdato,
        )

    @activity.defn(name="sap.register_extension")
    def register_extension(self, request: RegisterExtension) -> RegistrationResult:
        """Register the new end date once per idempotency key; it then waits for approval."""
        with final_errors(PayrollRejected):
            registration = self.payroll.register_extension(
                request.employee_number, request.new_end_date, request.idempotency_key
            )
        return _result(registration)

    @activity.defn(name="sap.register_final_settlement")
    def register_final_settlement(self, request: RegisterSettlement) -> SettlementResult:
        """Register the final settlement once per idempotency key, for the given payroll run."""
        with final_errors(PayrollRejected):
            settlement = self.payroll.register_final_settlement(
                request.employee_number, request.end_date, request.run, request.idempotency_key
            )
        return _settlement(settlement)

    @activity.defn(name="sap.settlement_status")
    def settlement_status(self, ref: SettlementRef) -> SettlementResult:
        with final_errors(PayrollRejected):
            return _settlement(self.payroll.settlement_status(ref.settlement_id))

    @activity.defn(name="sap.approval_status")
    def approval_status(self, ref: RegistrationRef) -> RegistrationResult:
        with final_errors(PayrollRejected):
            return _result(self.payroll.approval_status(ref.registration_id))


def _result(registration: Registration) -> RegistrationResult:
    return RegistrationResult(
        registration_id=registration.id,
        employee_number=registration.ansattnummer,
        start_date=registration.startdato,
        approval=_APPROVAL[registration.status],
        reason=registration.reason,
        end_date=registration.sluttdato,
    )


def _settlement(settlement: Settlement) -> SettlementResult:
    return SettlementResult(
        settlement_id=settlement.id, run=settlement.utbetales, paid=settlement.utbetalt
    )
