"""SAP HR registrations at DFØ: the port, and a stub with durable state.

DFØ publishes read APIs (ansatte, stillinger) but no public API for registering in SAP (the
service centre registers through SAP's forms, which are then sent to the manager for approval;
dfo-domain.md §1, §6). The stub therefore stands in for those forms. It keeps its state in SQLite
so that it survives restarts, answers a repeated idempotency key with the first answer, and lets
tests and demos inject faults and record the manager's decision.
"""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel

from adapters.dfo.store import FaultKind, StubStore


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


class NewHire(BaseModel):
    """A new-hire registration, in DFØ's field names (dfo-domain.md §1.3)."""

    navn: str
    fnr: str
    startdato: date
    sluttdato: date | None = None
    kontonummer: str
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
    type: str = "nyansettelse"  # or "forlengelse"
    sluttdato: date | None = None


class Employee(BaseModel):
    """An employee as DFØ's `ansatte` API shows one (dfo-domain.md §1.3); `sluttdato` None is a
    permanent position (the API's 9999-12-31)."""

    ansattnummer: str
    startdato: date
    sluttdato: date | None = None


class Settlement(BaseModel):
    """A final settlement (sluttoppgjør) registered in SAP, to be paid with the run `utbetales`."""

    id: str
    ansattnummer: str
    sluttdato: date
    utbetales: date
    utbetalt: bool = False


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


_SCHEMA = """
create table if not exists registrations (
    id text primary key, person text not null, data text not null, status text not null,
    reason text, updated text not null);
create table if not exists employees (ansattnummer text primary key, data text not null);
create table if not exists settlements (id text primary key, data text not null);
"""


class SapStub:
    """SAP's registration forms, durable in one SQLite file shared by every process using it."""

    def __init__(self, path: Path) -> None:
        self.store = StubStore(path, _SCHEMA)

    # -- the port ------------------------------------------------------------------------

    def register_new_hire(self, hire: NewHire, idempotency_key: str) -> Registration:
        """Create the registration once per key; a person with a live registration is refused."""
        self.store.suffer_faults(PayrollUnavailable("SAP svarer ikke"))
        with self.store.transaction() as db:
            if (earlier := self.store.remembered(db, idempotency_key, Registration)) is not None:
                return earlier
            person = _person_key(hire.fnr)
            # A rejected form is dead in SAP: the corrected hire is registered on a new form.
            if db.execute(
                "select 1 from registrations where person = ? and status != ?",
                (person, ApprovalState.REJECTED),
            ).fetchone():
                raise PayrollRejected("Personen er allerede registrert som ansatt i SAP.")
            number = self._count(db) + 1
            registration = Registration(
                id=f"NH-{number:06d}",
                ansattnummer=f"{number + 5000000:08d}",
                startdato=hire.startdato,
                status=ApprovalState.PENDING,
            )
            self._insert(db, registration, person)
            return self.store.remember(db, idempotency_key, registration)

    def update_start_date(
        self, registration_id: str, start_date: date, idempotency_key: str
    ) -> Registration:
        """Move the start date; the changed form goes back to the manager for approval."""
        self.store.suffer_faults(PayrollUnavailable("SAP svarer ikke"))
        with self.store.transaction() as db:
            if (earlier := self.store.remembered(db, idempotency_key, Registration)) is not None:
                return earlier
            registration = self._load(db, registration_id).model_copy(
                update={"startdato": start_date, "status": ApprovalState.PENDING, "reason": None}
            )
            self._store(db, registration)
            return self.store.remember(db, idempotency_key, registration)

    def approval_status(self, registration_id: str) -> Registration:
        self.store.suffer_faults(PayrollUnavailable("SAP svarer ikke"))
        with self.store.transaction() as db:
            return self._load(db, registration_id)

    def employee(self, employee_number: str) -> Employee:
        self.store.suffer_faults(PayrollUnavailable("SAP svarer ikke"))
        with self.store.transaction() as db:
            return self._employee(db, employee_number)

    def register_extension(
        self, employee_number: str, new_end_date: date, idempotency_key: str
    ) -> Registration:
        """The new end date on a form to the manager; SAP changes it once approved."""
        self.store.suffer_faults(PayrollUnavailable("SAP svarer ikke"))
        with self.store.transaction() as db:
            if (earlier := self.store.remembered(db, idempotency_key, Registration)) is not None:
                return earlier
            employee = self._employee(db, employee_number)
            registration = Registration(
                id=f"FL-{self._count(db) + 1:06d}",
                ansattnummer=employee.ansattnummer,
                startdato=employee.startdato,
                sluttdato=new_end_date,
                status=ApprovalState.PENDING,
                type="forlengelse",
            )
            self._insert(db, registration, f"ansatt:{employee_number}")
            return self.store.remember(db, idempotency_key, registration)

    def register_final_settlement(
        self, employee_number: str, end_date: date, run: date, idempotency_key: str
    ) -> Settlement:
        """Register the settlement once per key, to be paid with the payroll run `run`."""
        self.store.suffer_faults(PayrollUnavailable("SAP svarer ikke"))
        with self.store.transaction() as db:
            if (earlier := self.store.remembered(db, idempotency_key, Settlement)) is not None:
                return earlier
            employee = self._employee(db, employee_number)
            count = db.execute("select count(*) from settlements").fetchone()[0]
            settlement = Settlement(
                id=f"SO-{count + 1:06d}",
                ansattnummer=employee.ansattnummer,
                sluttdato=end_date,
                utbetales=run,
            )
            self._save_settlement(db, settlement)
            return self.store.remember(db, idempotency_key, settlement)

    def settlement_status(self, settlement_id: str) -> Settlement:
        self.store.suffer_faults(PayrollUnavailable("SAP svarer ikke"))
        with self.store.transaction() as db:
            found = db.execute(
                "select data from settlements where id = ?", (settlement_id,)
            ).fetchone()
        if found is None:
            raise PayrollRejected(f"Sluttoppgjøret {settlement_id} finnes ikke i SAP.")
        return Settlement.model_validate_json(found[0])

    # -- what the manager and the tests do -------------------------------------------------

    def run_payroll(self, pay_day: date) -> None:
        """DFØ runs the payroll of `pay_day`: every settlement due by then is paid."""
        with self.store.transaction() as db:
            for (data,) in db.execute("select data from settlements").fetchall():
                settlement = Settlement.model_validate_json(data)
                if settlement.utbetales <= pay_day and not settlement.utbetalt:
                    self._save_settlement(db, settlement.model_copy(update={"utbetalt": True}))

    def add_employee(self, employee: Employee) -> None:
        """SAP's existing employees; tests and the demo put them there."""
        with self.store.transaction() as db:
            db.execute(
                "insert or replace into employees values (?, ?)",
                (employee.ansattnummer, employee.model_dump_json()),
            )

    def decide(self, registration_id: str, approved: bool, reason: str | None = None) -> None:
        """The manager approves or rejects the form in the DFØ portal; an approved extension
        moves the employee's end date."""
        with self.store.transaction() as db:
            registration = self._load(db, registration_id).model_copy(
                update={
                    "status": ApprovalState.APPROVED if approved else ApprovalState.REJECTED,
                    "reason": reason,
                }
            )
            self._store(db, registration)
            if approved and registration.type == "forlengelse":
                employee = self._employee(db, registration.ansattnummer)
                db.execute(
                    "update employees set data = ? where ansattnummer = ?",
                    (
                        employee.model_copy(
                            update={"sluttdato": registration.sluttdato}
                        ).model_dump_json(),
                        employee.ansattnummer,
                    ),
                )

    def inject_fault(self, kind: FaultKind, times: int = 1, seconds: float = 0.0) -> None:
        """Make the next `times` calls fail as unavailable, or answer `seconds` late."""
        self.store.inject_fault(kind, times, seconds)

    def registrations(self) -> list[Registration]:
        with self.store.transaction() as db:
            rows = db.execute("select data from registrations order by id").fetchall()
        return [Registration.model_validate_json(row[0]) for row in rows]

    # -- storage -------------------------------------------------------------------------

    @staticmethod
    def _save_settlement(db: sqlite3.Connection, settlement: Settlement) -> None:
        db.execute(
            "insert or replace into settlements values (?, ?)",
            (settlement.id, settlement.model_dump_json()),
        )

    @staticmethod
    def _count(db: sqlite3.Connection) -> int:
        return int(db.execute("select count(*) from registrations").fetchone()[0])

    @staticmethod
    def _insert(db: sqlite3.Connection, registration: Registration, person: str) -> None:
        db.execute(
            "insert into registrations values (?, ?, ?, ?, ?, ?)",
            (registration.id, person, registration.model_dump_json(), registration.status, None,
             _now()),
        )  # fmt: skip

    @staticmethod
    def _employee(db: sqlite3.Connection, employee_number: str) -> Employee:
        row = db.execute(
            "select data from employees where ansattnummer = ?", (employee_number,)
        ).fetchone()
        if row is None:
            # DFØ answers an unknown employee with the fault text "IKKE ANSATT" (dfo-domain §1.2).
            raise PayrollRejected(f"IKKE ANSATT: ansattnummer {employee_number} finnes ikke i SAP.")
        return Employee.model_validate_json(row[0])

    @staticmethod
    def _load(db: sqlite3.Connection, registration_id: str) -> Registration:
        row = db.execute(
            "select data from registrations where id = ?", (registration_id,)
        ).fetchone()
        if row is None:
            raise PayrollRejected(f"Registreringen {registration_id} finnes ikke i SAP.")
        return Registration.model_validate_json(row[0])

    @staticmethod
    def _store(db: sqlite3.Connection, registration: Registration) -> None:
        db.execute(
            "update registrations set data = ?, status = ?, reason = ?, updated = ? where id = ?",
            (
                registration.model_dump_json(),
                registration.status,
                registration.reason,
                _now(),
                registration.id,
            ),
        )


def _person_key(national_id: str) -> str:
    """The stub needs to recognise a person again, not to keep the fødselsnummer itself."""
    return hashlib.sha256(national_id.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat()


__all__ = [
    "ApprovalState",
    "Employee",
    "NewHire",
    "PayrollError",
    "PayrollPort",
    "PayrollRejected",
    "PayrollUnavailable",
    "Registration",
    "SapStub",
    "Settlement",
]
