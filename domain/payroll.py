"""What the workflows hand SAP's activities (`activities/payroll.py`) and get back from them.

In saksflyt's words, not SAP's: the port's forms and Norwegian field names stay in the adapter
(`adapters/dfo/sap_port.py`), and the activities translate. These are domain types because a
workflow builds and reads them, and a workflow takes no type from below the activities
(`tests/test_layers.py`).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel

from domain.cases import Approval
from domain.employment import Employment
from domain.employment_change import EmploymentChangeForm
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
    position_percentage: Decimal | None = None
    employee_key: str | None = None  # the employee's pseudonym (domain.identifiers)


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
    end_date: date | None = None
    cancelled: bool = False


class CancelRegistration(BaseModel):
    idempotency_key: str
    registration_id: str


class RegisterPositionChange(BaseModel):
    idempotency_key: str
    employee_number: str
    percentage: Decimal
    from_date: date


class CancelSettlement(BaseModel):
    idempotency_key: str
    settlement_id: str


class MoveSettlement(BaseModel):
    idempotency_key: str
    settlement_id: str
    end_date: date
    run: date


class StopPay(BaseModel):
    idempotency_key: str
    employee_number: str
    from_date: date


class Period(BaseModel):
    first: date
    last: date


class Day(BaseModel):
    day: date


class RegisterEmploymentChange(BaseModel):
    idempotency_key: str
    change: EmploymentChangeForm
    settlement_run: date | None = None  # a lasting reduction's partial final settlement


class Employments(BaseModel):
    employments: list[Employment]
