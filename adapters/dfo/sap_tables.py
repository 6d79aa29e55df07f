"""The SAP stub's tables in its SQLite file: registrations, employees and settlements, each row
its record as JSON; an unknown id is SAP's refusal, in SAP's words."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from adapters.dfo.sap_port import Employee, PayrollRejected, Registration, Settlement

SCHEMA = """
create table if not exists registrations (
    id text primary key, person text not null, data text not null, status text not null,
    reason text, updated text not null);
create table if not exists employees (ansattnummer text primary key, data text not null);
create table if not exists settlements (id text primary key, data text not null);
"""


def settlement(db: sqlite3.Connection, settlement_id: str) -> Settlement:
    row = db.execute("select data from settlements where id = ?", (settlement_id,)).fetchone()
    if row is None:
        raise PayrollRejected(f"Sluttoppgjøret {settlement_id} finnes ikke i SAP.")
    return Settlement.model_validate_json(row[0])


def settlements(db: sqlite3.Connection) -> list[Settlement]:
    rows = db.execute("select data from settlements order by id").fetchall()
    return [Settlement.model_validate_json(row[0]) for row in rows]


def save_employee(db: sqlite3.Connection, employee: Employee) -> None:
    db.execute(
        "insert or replace into employees values (?, ?)",
        (employee.ansattnummer, employee.model_dump_json()),
    )


def employees(db: sqlite3.Connection) -> list[Employee]:
    rows = db.execute("select data from employees order by ansattnummer").fetchall()
    return [Employee.model_validate_json(row[0]) for row in rows]


def save_settlement(db: sqlite3.Connection, settlement: Settlement) -> None:
    db.execute(
        "insert or replace into settlements values (?, ?)",
        (settlement.id, settlement.model_dump_json()),
    )


def count(db: sqlite3.Connection) -> int:
    return int(db.execute("select count(*) from registrations").fetchone()[0])


def insert(db: sqlite3.Connection, registration: Registration, person: str) -> None:
    db.execute(
        "insert into registrations values (?, ?, ?, ?, ?, ?)",
        (registration.id, person, registration.model_dump_json(), registration.status, None,
         now()),
    )  # fmt: skip


def employee(db: sqlite3.Connection, employee_number: str) -> Employee:
    row = db.execute(
        "select data from employees where ansattnummer = ?", (employee_number,)
    ).fetchone()
    if row is None:
        # DFØ answers an unknown employee with the fault text "IKKE ANSATT" (dfo-domain §1.2).
        raise PayrollRejected(f"IKKE ANSATT: ansattnummer {employee_number} finnes ikke i SAP.")
    return Employee.model_validate_json(row[0])


def load(db: sqlite3.Connection, registration_id: str) -> Registration:
    row = db.execute("select data from registrations where id = ?", (registration_id,)).fetchone()
    if row is None:
        raise PayrollRejected(f"Registreringen {registration_id} finnes ikke i SAP.")
    return Registration.model_validate_json(row[0])


def store(db: sqlite3.Connection, registration: Registration) -> None:
    db.execute(
        "update registrations set data = ?, status = ?, reason = ?, updated = ? where id = ?",
        (
            registration.model_dump_json(),
            registration.status,
            registration.reason,
            now(),
            registration.id,
        ),
    )


def now() -> str:
    return datetime.now(UTC).isoformat()
