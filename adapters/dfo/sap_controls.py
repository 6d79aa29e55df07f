"""What is done to SAP's stub from outside the port: by the manager, DFØ and the tests.

The port (`sap_port.py`, implemented by `SapStub` in `sap.py`) is what saksflyt's activities may
call. The manager's decision in the DFØ portal, DFØ's payroll run, the employees SAP already has
and the faults a test injects happen to SAP without saksflyt asking; they are kept here, apart,
so that nothing in the port's module reads as something the activities could do.
"""

from __future__ import annotations

from datetime import date

from adapters.dfo import sap_tables as tables
from adapters.dfo.sap_changes import applied
from adapters.dfo.sap_port import ApprovalState, Employee, Registration, Settlement
from adapters.dfo.store import FaultKind, StubStore


class SapControls:
    """A mixin of `SapStub`: the controls of the manager, DFØ's payroll run and the tests, on
    the stub's own store."""

    store: StubStore

    def run_payroll(self, pay_day: date) -> None:
        """DFØ runs the payroll of `pay_day`: every settlement due by then and not cancelled is
        paid."""
        with self.store.transaction() as db:
            for settlement in tables.settlements(db):
                due = settlement.utbetales <= pay_day
                if due and not settlement.utbetalt and not settlement.kansellert:
                    tables.save_settlement(db, settlement.model_copy(update={"utbetalt": True}))

    def add_employee(self, employee: Employee) -> None:
        """SAP's existing employees; tests and the demo put them there."""
        with self.store.transaction() as db:
            tables.save_employee(db, employee)

    def decide(self, registration_id: str, approved: bool, reason: str | None = None) -> None:
        """The manager approves or rejects the form in the DFØ portal; an approved extension
        moves the employee's end date, an approved stillingsendring sets the percentage."""
        with self.store.transaction() as db:
            registration = tables.load(db, registration_id).model_copy(
                update={
                    "status": ApprovalState.APPROVED if approved else ApprovalState.REJECTED,
                    "reason": reason,
                }
            )
            tables.store(db, registration)
            if approved and registration.type == "forlengelse":
                employee = tables.employee(db, registration.ansattnummer)
                tables.save_employee(
                    db, employee.model_copy(update={"sluttdato": registration.sluttdato})
                )
            if approved and registration.type == "stillingsendring":
                employee = tables.employee(db, registration.ansattnummer)
                tables.save_employee(
                    db,
                    employee.model_copy(update={"stillingsprosent": registration.stillingsprosent}),
                )
            if approved and registration.endring is not None:
                employee = tables.employee(db, registration.ansattnummer)
                update = applied(employee, registration.endring)
                tables.save_employee(db, employee.model_copy(update=update))

    def inject_fault(self, kind: FaultKind, times: int = 1, seconds: float = 0.0) -> None:
        """Make the next `times` calls fail as unavailable, or answer `seconds` late."""
        self.store.inject_fault(kind, times, seconds)

    def registrations(self) -> list[Registration]:
        with self.store.transaction() as db:
            rows = db.execute("select data from registrations order by id").fetchall()
        return [Registration.model_validate_json(row[0]) for row in rows]

    def settlements(self) -> list[Settlement]:
        with self.store.transaction() as db:
            return tables.settlements(db)
