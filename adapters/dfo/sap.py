"""SAP HR registrations at DFØ: a stub with durable state for the port (`sap_port.py`).

DFØ publishes read APIs (ansatte, stillinger) but no public API for registering in SAP (the
service centre registers through SAP's forms, which are then sent to the manager for approval;
dfo-domain.md §1, §6). The stub therefore stands in for those forms. It keeps its state in SQLite
so that it survives restarts, answers a repeated idempotency key with the first answer, and lets
tests and demos inject faults and record the manager's decision (`sap_controls.py`).
"""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path

from adapters.dfo import sap_tables as tables
from adapters.dfo.sap_changes import Endring, applied, refusal
from adapters.dfo.sap_controls import SapControls
from adapters.dfo.sap_port import (
    ApprovalState,
    Employee,
    NewHire,
    PayrollError,
    PayrollPort,
    PayrollRejected,
    PayrollUnavailable,
    Registration,
    Settlement,
)
from adapters.dfo.store import StubStore


class SapStub(SapControls):
    """SAP's registration forms, durable in one SQLite file shared by every process using it;
    what the manager, the payroll run and the tests do to them is `SapControls`'s."""

    def __init__(self, path: Path) -> None:
        self.store = StubStore(path, tables.SCHEMA, refusal=_refused)

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
            number = tables.count(db) + 1
            registration = Registration(
                id=f"NH-{number:06d}",
                ansattnummer=f"{number + 5000000:08d}",
                startdato=hire.startdato,
                status=ApprovalState.PENDING,
            )
            tables.insert(db, registration, person)
            return self.store.remember(db, idempotency_key, registration)

    def update_start_date(
        self, registration_id: str, start_date: date, idempotency_key: str
    ) -> Registration:
        """Move the start date; the changed form goes back to the manager for approval."""
        self.store.suffer_faults(PayrollUnavailable("SAP svarer ikke"))
        with self.store.transaction() as db:
            if (earlier := self.store.remembered(db, idempotency_key, Registration)) is not None:
                return earlier
            registration = tables.load(db, registration_id).model_copy(
                update={"startdato": start_date, "status": ApprovalState.PENDING, "reason": None}
            )
            tables.store(db, registration)
            return self.store.remember(db, idempotency_key, registration)

    def approval_status(self, registration_id: str) -> Registration:
        self.store.suffer_faults(PayrollUnavailable("SAP svarer ikke"))
        with self.store.transaction() as db:
            return tables.load(db, registration_id)

    def employee(self, employee_number: str) -> Employee:
        self.store.suffer_faults(PayrollUnavailable("SAP svarer ikke"))
        with self.store.transaction() as db:
            return tables.employee(db, employee_number)

    def register_extension(
        self, employee_number: str, new_end_date: date, idempotency_key: str
    ) -> Registration:
        """The new end date on a form to the manager; SAP changes it once approved."""
        self.store.suffer_faults(PayrollUnavailable("SAP svarer ikke"))
        with self.store.transaction() as db:
            if (earlier := self.store.remembered(db, idempotency_key, Registration)) is not None:
                return earlier
            employee = tables.employee(db, employee_number)
            registration = Registration(
                id=f"FL-{tables.count(db) + 1:06d}",
                ansattnummer=employee.ansattnummer,
                startdato=employee.startdato,
                sluttdato=new_end_date,
                status=ApprovalState.PENDING,
                type="forlengelse",
            )
            tables.insert(db, registration, f"ansatt:{employee_number}")
            return self.store.remember(db, idempotency_key, registration)

    def register_final_settlement(
        self, employee_number: str, end_date: date, run: date, idempotency_key: str
    ) -> Settlement:
        """Register the settlement once per key, to be paid with the payroll run `run`."""
        self.store.suffer_faults(PayrollUnavailable("SAP svarer ikke"))
        with self.store.transaction() as db:
            if (earlier := self.store.remembered(db, idempotency_key, Settlement)) is not None:
                return earlier
            employee = tables.employee(db, employee_number)
            count = db.execute("select count(*) from settlements").fetchone()[0]
            settlement = Settlement(
                id=f"SO-{count + 1:06d}",
                ansattnummer=employee.ansattnummer,
                sluttdato=end_date,
                utbetales=run,
            )
            tables.save_settlement(db, settlement)
            return self.store.remember(db, idempotency_key, settlement)

    def settlement_status(self, settlement_id: str) -> Settlement:
        self.store.suffer_faults(PayrollUnavailable("SAP svarer ikke"))
        with self.store.transaction() as db:
            return tables.settlement(db, settlement_id)

    def cancel_registration(self, registration_id: str, idempotency_key: str) -> Registration:
        """Withdraw a form that is not approved (the case was withdrawn); an approved one has
        taken effect in SAP and can only be undone by a new form."""
        self.store.suffer_faults(PayrollUnavailable("SAP svarer ikke"))
        with self.store.transaction() as db:
            if (earlier := self.store.remembered(db, idempotency_key, Registration)) is not None:
                return earlier
            registration = tables.load(db, registration_id)
            if registration.status is ApprovalState.APPROVED:
                raise PayrollRejected(
                    f"Registreringen {registration_id} er godkjent og kan ikke trekkes; "
                    "den må reverseres med en ny registrering."
                )
            if registration.status is not ApprovalState.WITHDRAWN:
                registration = registration.model_copy(update={"status": ApprovalState.WITHDRAWN})
                tables.store(db, registration)
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
            employee = tables.employee(db, employee_number)
            if not Decimal(0) < percentage < employee.stillingsprosent:
                raise PayrollRejected(
                    f"Ny stillingsprosent må være over 0 og under dagens "
                    f"{employee.stillingsprosent} % (fikk {percentage} %)."
                )
            registration = Registration(
                id=f"SE-{tables.count(db) + 1:06d}",
                ansattnummer=employee.ansattnummer,
                startdato=employee.startdato,
                status=ApprovalState.PENDING,
                type="stillingsendring",
                stillingsprosent=percentage,
                gjelder_fra=from_date,
            )
            tables.insert(db, registration, f"ansatt:{employee_number}")
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
            employee = tables.employee(db, employee_number)
            if (reason := refusal(employee, change)) is not None:
                raise PayrollRejected(reason)
            registration = Registration(
                id=f"AE-{tables.count(db) + 1:06d}",
                ansattnummer=employee.ansattnummer,
                startdato=employee.startdato,
                status=ApprovalState.PENDING if change.til_godkjenning else ApprovalState.APPROVED,
                type="endring",
                gjelder_fra=change.gjelder_fra,
                endring=change,
            )
            tables.insert(db, registration, f"ansatt:{employee_number}")
            if not change.til_godkjenning:
                tables.save_employee(db, employee.model_copy(update=applied(employee, change)))
            return self.store.remember(db, idempotency_key, registration)

    def cancel_final_settlement(self, settlement_id: str, idempotency_key: str) -> Settlement:
        """Cancel a settlement that is not yet paid (the case was withdrawn); paid money must be
        claimed back, which is not this form."""
        self.store.suffer_faults(PayrollUnavailable("SAP svarer ikke"))
        with self.store.transaction() as db:
            if (earlier := self.store.remembered(db, idempotency_key, Settlement)) is not None:
                return earlier
            settlement = tables.settlement(db, settlement_id)
            if settlement.utbetalt:
                raise PayrollRejected(
                    f"Sluttoppgjøret {settlement_id} er utbetalt og kan ikke kanselleres."
                )
            settlement = settlement.model_copy(update={"kansellert": True})
            tables.save_settlement(db, settlement)
            return self.store.remember(db, idempotency_key, settlement)

    def move_final_settlement(
        self, settlement_id: str, end_date: date, run: date, idempotency_key: str
    ) -> Settlement:
        """The end date moved: the settlement gets the new end date and is paid with `run`."""
        self.store.suffer_faults(PayrollUnavailable("SAP svarer ikke"))
        with self.store.transaction() as db:
            if (earlier := self.store.remembered(db, idempotency_key, Settlement)) is not None:
                return earlier
            settlement = tables.settlement(db, settlement_id)
            if settlement.utbetalt or settlement.kansellert:
                done = "utbetalt" if settlement.utbetalt else "kansellert"
                raise PayrollRejected(
                    f"Sluttoppgjøret {settlement_id} er {done} og kan ikke flyttes."
                )
            settlement = settlement.model_copy(update={"sluttdato": end_date, "utbetales": run})
            tables.save_settlement(db, settlement)
            return self.store.remember(db, idempotency_key, settlement)

    def stop_pay(self, employee_number: str, from_date: date, idempotency_key: str) -> Employee:
        """Stop the pay of someone whose end date passed with no case, so that no pay goes out
        that must be claimed back; a second stop never moves the first one later."""
        self.store.suffer_faults(PayrollUnavailable("SAP svarer ikke"))
        with self.store.transaction() as db:
            if (earlier := self.store.remembered(db, idempotency_key, Employee)) is not None:
                return earlier
            employee = tables.employee(db, employee_number)
            if employee.lonn_stoppet_fra is None or from_date < employee.lonn_stoppet_fra:
                employee = employee.model_copy(update={"lonn_stoppet_fra": from_date})
                tables.save_employee(db, employee)
            return self.store.remember(db, idempotency_key, employee)

    def employees_ending(self, first: date, last: date) -> list[Employee]:
        """Whose end date lies in [first, last]: the list the centre takes before a payroll run."""
        self.store.suffer_faults(PayrollUnavailable("SAP svarer ikke"))
        with self.store.transaction() as db:
            employees = tables.employees(db)
        return [e for e in employees if e.sluttdato is not None and first <= e.sluttdato <= last]

    def employees_missing_settlement(self, today: date) -> list[Employee]:
        """Who has ended (end date before `today`, or pay stopped) but has no live settlement:
        the quarterly check that nobody left without one."""
        self.store.suffer_faults(PayrollUnavailable("SAP svarer ikke"))
        with self.store.transaction() as db:
            employees = tables.employees(db)
            settled = {s.ansattnummer for s in tables.settlements(db) if not s.kansellert}
        return [e for e in employees if _has_left(e, today) and e.ansattnummer not in settled]


def _refused() -> PayrollRejected:
    return PayrollRejected("SAP avviste forespørselen.")


def _person_key(national_id: str) -> str:
    """The stub needs to recognise a person again, not to keep the fødselsnummer itself."""
    return hashlib.sha256(national_id.encode()).hexdigest()


def _has_left(employee: Employee, today: date) -> bool:
    """Past the end date, or paid no more: either way the person is owed a settlement."""
    ended = employee.sluttdato is not None and employee.sluttdato < today
    return ended or employee.lonn_stoppet_fra is not None


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
