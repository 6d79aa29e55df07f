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

from pydantic import BaseModel, Field

from adapters.dfo.sap_changes import Endring, applied, refusal
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
            # A rejected or withdrawn form is dead in SAP: the hire is registered on a new form.
            if db.execute(
                "select 1 from registrations where person = ? and status not in (?, ?)",
                (person, ApprovalState.REJECTED, ApprovalState.WITHDRAWN),
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
            return self._settlement(db, settlement_id)

    def cancel_registration(self, registration_id: str, idempotency_key: str) -> Registration:
        """Withdraw a form that is not approved (the case was withdrawn); an approved one has
        taken effect in SAP and can only be undone by a new form."""
        self.store.suffer_faults(PayrollUnavailable("SAP svarer ikke"))
        with self.store.transaction() as db:
            if (earlier := self.store.remembered(db, idempotency_key, Registration)) is not None:
                return earlier
            registration = self._load(db, registration_id)
            if registration.status is ApprovalState.APPROVED:
                raise PayrollRejected(
                    f"Registreringen {registration_id} er godkjent og kan ikke trekkes; "
                    "den må reverseres med en ny registrering."
                )
            if registration.status is not ApprovalState.WITHDRAWN:
                registration = registration.model_copy(update={"status": ApprovalState.WITHDRAWN})
                self._store(db, registration)
            return self.store.remember(db, idempotency_key, registration)

    def register_position_change(
        self, employee_number: str, percentage: Decimal, from_date: date, idempotency_key: str
    ) -> Registration:
        """A reduced position percentage (partial pension) on a form to the manager; SAP changes
        it once approved. Only a reduction is a stillingsendring here."""
        self.store.suffer_faults(PayrollUnavailable("SAP svarer ikke"))
        with self.store.transaction() as db:
            if (earlier := self.store.remembered(db, idempotency_key, Registration)) is not None:
                return earlier
            employee = self._employee(db, employee_number)
            if not Decimal(0) < percentage < employee.stillingsprosent:
                raise PayrollRejected(
                    f"Ny stillingsprosent må være over 0 og under dagens "
                    f"{employee.stillingsprosent} % (fikk {percentage} %)."
                )
            registration = Registration(
                id=f"SE-{self._count(db) + 1:06d}",
                ansattnummer=employee.ansattnummer,
                startdato=employee.startdato,
                status=ApprovalState.PENDING,
                type="stillingsendring",
                stillingsprosent=percentage,
                gjelder_fra=from_date,
            )
            self._insert(db, registration, f"ansatt:{employee_number}")
            return self.store.remember(db, idempotency_key, registration)

    def register_employment_change(
        self, employee_number: str, change: Endring, idempotency_key: str
    ) -> Registration:
        """One change of "Andre endringer arbeidsforhold" on a form, once per key: to the manager,
        or in effect at once when the routine sends it to no one."""
        self.store.suffer_faults(PayrollUnavailable("SAP svarer ikke"))
        with self.store.transaction() as db:
            if (earlier := self.store.remembered(db, idempotency_key, Registration)) is not None:
                return earlier
            employee = self._employee(db, employee_number)
            if (reason := refusal(employee, change)) is not None:
                raise PayrollRejected(reason)
            registration = Registration(
                id=f"AE-{self._count(db) + 1:06d}",
                ansattnummer=employee.ansattnummer,
                startdato=employee.startdato,
                status=ApprovalState.PENDING if change.til_godkjenning else ApprovalState.APPROVED,
                type="endring",
                gjelder_fra=change.gjelder_fra,
                endring=change,
            )
            self._insert(db, registration, f"ansatt:{employee_number}")
            if not change.til_godkjenning:
                self._save_employee(db, employee.model_copy(update=applied(employee, change)))
            return self.store.remember(db, idempotency_key, registration)

    def cancel_final_settlement(self, settlement_id: str, idempotency_key: str) -> Settlement:
        """Cancel a settlement that is not yet paid (the case was withdrawn); paid money must be
        claimed back, which is not this form."""
        self.store.suffer_faults(PayrollUnavailable("SAP svarer ikke"))
        with self.store.transaction() as db:
            if (earlier := self.store.remembered(db, idempotency_key, Settlement)) is not None:
                return earlier
            settlement = self._settlement(db, settlement_id)
            if settlement.utbetalt:
                raise PayrollRejected(
                    f"Sluttoppgjøret {settlement_id} er utbetalt og kan ikke kanselleres."
                )
            settlement = settlement.model_copy(update={"kansellert": True})
            self._save_settlement(db, settlement)
            return self.store.remember(db, idempotency_key, settlement)

    def move_final_settlement(
        self, settlement_id: str, end_date: date, run: date, idempotency_key: str
    ) -> Settlement:
        """The end date moved: the settlement gets the new end date and is paid with `run`."""
        self.store.suffer_faults(PayrollUnavailable("SAP svarer ikke"))
        with self.store.transaction() as db:
            if (earlier := self.store.remembered(db, idempotency_key, Settlement)) is not None:
                return earlier
            settlement = self._settlement(db, settlement_id)
            if settlement.utbetalt or settlement.kansellert:
                done = "utbetalt" if settlement.utbetalt else "kansellert"
                raise PayrollRejected(
                    f"Sluttoppgjøret {settlement_id} er {done} og kan ikke flyttes."
                )
            settlement = settlement.model_copy(update={"sluttdato": end_date, "utbetales": run})
            self._save_settlement(db, settlement)
            return self.store.remember(db, idempotency_key, settlement)

    def stop_pay(self, employee_number: str, from_date: date, idempotency_key: str) -> Employee:
        """Stop the pay of someone whose end date passed with no case, so that no pay goes out
        that must be claimed back; a second stop never moves the first one later."""
        self.store.suffer_faults(PayrollUnavailable("SAP svarer ikke"))
        with self.store.transaction() as db:
            if (earlier := self.store.remembered(db, idempotency_key, Employee)) is not None:
                return earlier
            employee = self._employee(db, employee_number)
            if employee.lonn_stoppet_fra is None or from_date < employee.lonn_stoppet_fra:
                employee = employee.model_copy(update={"lonn_stoppet_fra": from_date})
                self._save_employee(db, employee)
            return self.store.remember(db, idempotency_key, employee)

    def employees_ending(self, first: date, last: date) -> list[Employee]:
        """Whose end date lies in [first, last]: the list the centre takes before a payroll run."""
        self.store.suffer_faults(PayrollUnavailable("SAP svarer ikke"))
        with self.store.transaction() as db:
            employees = self._employees(db)
        return [e for e in employees if e.sluttdato is not None and first <= e.sluttdato <= last]

    def employees_missing_settlement(self, today: date) -> list[Employee]:
        """Who has ended (end date before `today`, or pay stopped) but has no live settlement:
        the quarterly check that nobody left without one."""
        self.store.suffer_faults(PayrollUnavailable("SAP svarer ikke"))
        with self.store.transaction() as db:
            employees = self._employees(db)
            settled = {s.ansattnummer for s in self._settlements(db) if not s.kansellert}
        return [e for e in employees if _has_left(e, today) and e.ansattnummer not in settled]

    # -- what the manager and the tests do -------------------------------------------------

    def run_payroll(self, pay_day: date) -> None:
        """DFØ runs the payroll of `pay_day`: every settlement due by then and not cancelled is
        paid."""
        with self.store.transaction() as db:
            for settlement in self._settlements(db):
                due = settlement.utbetales <= pay_day
                if due and not settlement.utbetalt and not settlement.kansellert:
                    self._save_settlement(db, settlement.model_copy(update={"utbetalt": True}))

    def add_employee(self, employee: Employee) -> None:
        """SAP's existing employees; tests and the demo put them there."""
        with self.store.transaction() as db:
            self._save_employee(db, employee)

    def decide(self, registration_id: str, approved: bool, reason: str | None = None) -> None:
        """The manager approves or rejects the form in the DFØ portal; an approved extension
        moves the employee's end date, an approved stillingsendring sets the percentage."""
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
                self._save_employee(
                    db, employee.model_copy(update={"sluttdato": registration.sluttdato})
                )
            if approved and registration.type == "stillingsendring":
                employee = self._employee(db, registration.ansattnummer)
                self._save_employee(
                    db,
                    employee.model_copy(update={"stillingsprosent": registration.stillingsprosent}),
                )
            if approved and registration.endring is not None:
                employee = self._employee(db, registration.ansattnummer)
                update = applied(employee, registration.endring)
                self._save_employee(db, employee.model_copy(update=update))

    def inject_fault(self, kind: FaultKind, times: int = 1, seconds: float = 0.0) -> None:
        """Make the next `times` calls fail as unavailable, or answer `seconds` late."""
        self.store.inject_fault(kind, times, seconds)

    def registrations(self) -> list[Registration]:
        with self.store.transaction() as db:
            rows = db.execute("select data from registrations order by id").fetchall()
        return [Registration.model_validate_json(row[0]) for row in rows]

    def settlements(self) -> list[Settlement]:
        with self.store.transaction() as db:
            return self._settlements(db)

    # -- storage -------------------------------------------------------------------------

    @staticmethod
    def _settlement(db: sqlite3.Connection, settlement_id: str) -> Settlement:
        row = db.execute("select data from settlements where id = ?", (settlement_id,)).fetchone()
        if row is None:
            raise PayrollRejected(f"Sluttoppgjøret {settlement_id} finnes ikke i SAP.")
        return Settlement.model_validate_json(row[0])

    @staticmethod
    def _settlements(db: sqlite3.Connection) -> list[Settlement]:
        rows = db.execute("select data from settlements order by id").fetchall()
        return [Settlement.model_validate_json(row[0]) for row in rows]

    @staticmethod
    def _save_employee(db: sqlite3.Connection, employee: Employee) -> None:
        db.execute(
            "insert or replace into employees values (?, ?)",
            (employee.ansattnummer, employee.model_dump_json()),
        )

    @staticmethod
    def _employees(db: sqlite3.Connection) -> list[Employee]:
        rows = db.execute("select data from employees order by ansattnummer").fetchall()
        return [Employee.model_validate_json(row[0]) for row in rows]

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


def _has_left(employee: Employee, today: date) -> bool:
    """Past the end date, or paid no more: either way the person is owed a settlement."""
    ended = employee.sluttdato is not None and employee.sluttdato < today
    return ended or employee.lonn_stoppet_fra is not None


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
