"""Payroll activities: registrations in SAP at DFØ, through the payroll port.

What the workflows hand them and get back is `domain/payroll.py`'s; this module translates it to
and from the port's SAP terms.
"""

from __future__ import annotations

from temporalio import activity

from activities.errors import final_errors
from activities.sealing import IdentifierSeal
from adapters.dfo.sap import (
    ApprovalState,
    Employee,
    NewHire,
    PayrollPort,
    PayrollRejected,
    Registration,
    Settlement,
)
from adapters.dfo.sap_changes import Endring
from domain.cases import Approval
from domain.employment import Employment
from domain.identifiers import employee_key
from domain.payroll import (
    CancelRegistration,
    CancelSettlement,
    Day,
    EmployeeRef,
    Employments,
    MoveSettlement,
    Period,
    RegisterEmploymentChange,
    RegisterExtension,
    RegisterNewHire,
    RegisterPositionChange,
    RegisterSettlement,
    RegistrationRef,
    RegistrationResult,
    SettlementRef,
    SettlementResult,
    StopPay,
    UpdateStartDate,
)

# The error type a workflow sees when SAP refuses a registration as it stands.
REFUSED = PayrollRejected.__name__

_APPROVAL = {
    ApprovalState.PENDING: Approval.PENDING,
    ApprovalState.APPROVED: Approval.APPROVED,
    ApprovalState.REJECTED: Approval.REJECTED,
    ApprovalState.WITHDRAWN: Approval.WITHDRAWN,
}


class PayrollActivities:
    """`pseudonym_key` keys the employee's pseudonym (`employee_key` in the results that name an
    employee), which workflows show in visibility instead of the employee number."""

    def __init__(self, payroll: PayrollPort, pseudonym_key: str, seal: IdentifierSeal) -> None:
        self.payroll = payroll
        self.pseudonym_key = pseudonym_key
        self.seal = seal  # SAP is where the sealed identifiers of a form are opened

    def _pseudonym(self, employee_number: str) -> str:
        return employee_key(employee_number, self.pseudonym_key)

    @activity.defn(name="sap.register_new_hire")
    def register_new_hire(self, request: RegisterNewHire) -> RegistrationResult:
        """Register once per idempotency key; the form then waits for the manager's approval."""
        form = request.form
        hire = NewHire(
            navn=form.name,
            fnr=self.seal.open(form.national_id),
            startdato=form.start_date,
            sluttdato=form.end_date,
            kontonummer=self.seal.open(form.bank_account),
            dellonnsprosent=form.position_percentage,
            sakarkivnr=form.archive_case,
            organisasjon=form.unit,
            stillingstittel=form.job_title,
        )
        with final_errors(PayrollRejected):
            result = _result(self.payroll.register_new_hire(hire, request.idempotency_key))
        return result.model_copy(update={"employee_key": self._pseudonym(result.employee_number)})

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
            employment = _employment(self.payroll.employee(ref.employee_number))
        return employment.model_copy(
            update={"employee_key": self._pseudonym(employment.employee_number)}
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

    @activity.defn(name="sap.cancel_registration")
    def cancel_registration(self, request: CancelRegistration) -> RegistrationResult:
        """Withdraw a registration that is not yet approved: a withdrawn case undoes it."""
        with final_errors(PayrollRejected):
            registration = self.payroll.cancel_registration(
                request.registration_id, request.idempotency_key
            )
        return _result(registration)

    @activity.defn(name="sap.register_position_change")
    def register_position_change(self, request: RegisterPositionChange) -> RegistrationResult:
        """Register a reduced position percentage once per key; it then waits for approval."""
        with final_errors(PayrollRejected):
            registration = self.payroll.register_position_change(
                request.employee_number,
                request.percentage,
                request.from_date,
                request.idempotency_key,
            )
        return _result(registration)

    @activity.defn(name="sap.register_employment_change")
    def register_employment_change(self, request: RegisterEmploymentChange) -> RegistrationResult:
        """Register one change of "Andre endringer arbeidsforhold" once per key; SAP refuses
        what it cannot hold (a third employment, the wrong salary agreement)."""
        change = Endring.of(request.change, request.settlement_run)
        with final_errors(PayrollRejected):
            registration = self.payroll.register_employment_change(
                request.change.employee_number, change, request.idempotency_key
            )
        return _result(registration)

    @activity.defn(name="sap.cancel_final_settlement")
    def cancel_final_settlement(self, request: CancelSettlement) -> SettlementResult:
        with final_errors(PayrollRejected):
            settlement = self.payroll.cancel_final_settlement(
                request.settlement_id, request.idempotency_key
            )
        return _settlement(settlement)

    @activity.defn(name="sap.move_final_settlement")
    def move_final_settlement(self, request: MoveSettlement) -> SettlementResult:
        """The end date moved: the settlement follows it to its new payroll run."""
        with final_errors(PayrollRejected):
            settlement = self.payroll.move_final_settlement(
                request.settlement_id, request.end_date, request.run, request.idempotency_key
            )
        return _settlement(settlement)

    @activity.defn(name="sap.stop_pay")
    def stop_pay(self, request: StopPay) -> Employment:
        with final_errors(PayrollRejected):
            employee = self.payroll.stop_pay(
                request.employee_number, request.from_date, request.idempotency_key
            )
        return _employment(employee)

    @activity.defn(name="sap.employees_ending")
    def employees_ending(self, period: Period) -> Employments:
        """SAP's report of employees whose end date falls in the period."""
        with final_errors(PayrollRejected):
            employees = self.payroll.employees_ending(period.first, period.last)
        return Employments(employments=[_employment(employee) for employee in employees])

    @activity.defn(name="sap.employees_missing_settlement")
    def employees_missing_settlement(self, today: Day) -> Employments:
        """SAP's report of employees past their end date, or with stopped pay, who have no
        final settlement."""
        with final_errors(PayrollRejected):
            employees = self.payroll.employees_missing_settlement(today.day)
        return Employments(employments=[_employment(employee) for employee in employees])

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
        position_percentage=registration.stillingsprosent,
    )


def _settlement(settlement: Settlement) -> SettlementResult:
    return SettlementResult(
        settlement_id=settlement.id,
        run=settlement.utbetales,
        paid=settlement.utbetalt,
        end_date=settlement.sluttdato,
        cancelled=settlement.kansellert,
    )


def _employment(employee: Employee) -> Employment:
    return Employment(
        employee_number=employee.ansattnummer,
        start_date=employee.startdato,
        end_date=employee.sluttdato,
        name=employee.navn,
        unit=employee.organisasjon,
        unit_email=employee.enhet_epost,
        position_percentage=employee.stillingsprosent,
        toa=employee.toa,
        other_position=employee.annen_stilling,
        pay_stopped_from=employee.lonn_stoppet_fra,
    )
