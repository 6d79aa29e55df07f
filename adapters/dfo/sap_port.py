"""SAP HR at DFØ as saksflyt sees it: the registrations and employees in DFØ's terms, SAP's
errors, and the operations of the port (`PayrollPort`) that the stub in `sap.py` implements."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, Field

from adapters.dfo.sap_changes import Endring


class PayrollError(Exception):
    """Anything that went wrong with SAP."""


class PayrollUnavailable(PayrollError):
    """SAP could not be reached or timed out; worth retrying later."""


class PayrollRejected(PayrollError):
    """SAP refused the registration as it stands; a person must correct the data."""


class ApprovalState(StrEnum):
    PENDING = "til_godkjenning"
    APPROVED = "godkjent"
    REJECTED = "avvist"
    WITHDRAWN = "trukket"


class NewHire(BaseModel):
    """A new-hire registration, in DFØ's field names (dfo-domain.md §1.3)."""

    navn: str
    fnr: str = Field(pattern=r"^[0-9]{11}$")  # as DFØ's API takes them: 11 digits, no spaces
    startdato: date
    sluttdato: date | None = None
    kontonummer: str = Field(pattern=r"^[0-9]{11}$")
    dellonnsprosent: Decimal
    sakarkivnr: str
    organisasjon: str | None = None
    stillingstittel: str | None = None


class Registration(BaseModel):
    """A registration form in SAP and where its approval stands."""

    id: str
    ansattnummer: str
    startdato: date
    status: ApprovalState
    reason: str | None = None
    type: str = "nyansettelse"  # or "forlengelse", "stillingsendring", "endring"
    sluttdato: date | None = None
    stillingsprosent: Decimal | None = None
    gjelder_fra: date | None = None
    endring: Endring | None = None  # "Andre endringer arbeidsforhold" (sap_changes.py)


class Employee(BaseModel):
    """An employee as DFØ's `ansatte` API shows one (dfo-domain.md §1.3); `sluttdato` None is a
    permanent position (the API's 9999-12-31). `toa` is an hourly, monthly or assignment contract;
    `annen_stilling` means the person goes on in another position at NTNU."""

    ansattnummer: str
    startdato: date
    sluttdato: date | None = None
    navn: str = ""
    organisasjon: str | None = None
    enhet_epost: str | None = None
    stillingsprosent: Decimal = Decimal(100)
    toa: bool = False
    annen_stilling: bool = False
    lonn_stoppet_fra: date | None = None
    arbeidsforhold: int = 1  # employments in SAP: at most two (sap_changes.py)
    lonnsavtale: str = "lønnstrinn"  # or "årslønn"


class Settlement(BaseModel):
    """A final settlement (sluttoppgjør) registered in SAP, to be paid with the run `utbetales`."""

    id: str
    ansattnummer: str
    sluttdato: date
    utbetales: date
    utbetalt: bool = False
    kansellert: bool = False


class PayrollPort(Protocol):
    def register_new_hire(self, hire: NewHire, idempotency_key: str) -> Registration: ...

    def update_start_date(
        self, registration_id: str, start_date: date, idempotency_key: str
    ) -> Registration: ...

    def approval_status(self, registration_id: str) -> Registration: ...

    def employee(self, employee_number: str) -> Employee: ...

    def register_extension(
        self, employee_number: str, new_end_date: date, idempotency_key: str
    ) -> Registration: ...

    def register_final_settlement(
        self, employee_number: str, end_date: date, run: date, idempotency_key: str
    ) -> Settlement: ...

    def settlement_status(self, settlement_id: str) -> Settlement: ...

    def cancel_registration(self, registration_id: str, idempotency_key: str) -> Registration: ...

    def register_position_change(
        self, employee_number: str, percentage: Decimal, from_date: date, idempotency_key: str
    ) -> Registration: ...

    def cancel_final_settlement(self, settlement_id: str, idempotency_key: str) -> Settlement: ...

    def move_final_settlement(
        self, settlement_id: str, end_date: date, run: date, idempotency_key: str
    ) -> Settlement: ...

    def stop_pay(self, employee_number: str, from_date: date, idempotency_key: str) -> Employee: ...

    def register_employment_change(
        self, employee_number: str, change: Endring, idempotency_key: str
    ) -> Registration: ...

    def employees_ending(self, first: date, last: date) -> list[Employee]: ...

    def employees_missing_settlement(self, today: date) -> list[Employee]: ...
