"""Statens pensjonskasse (SPK): the pension message port, and a stub with durable state.

The employer, not the employee, tells SPK that someone retires ("pensjonsmelding", dfo-domain.md
§3.4); it also tells SPK of a death (seed 001, "Annen fratredelse": "Ved dødsfall sender
Tjenestesenteret pensjonsmelding til Statens pensjonskasse"). SPK takes the message through
*Min virksomhet* or Altinn, not a public API, so the stub stands in for that form. The timing rules
(at least 2 and at most 4 months ahead) belong to the workflow, which warns and lets an operator
override; the stub refuses only what SPK could not take at all: a malformed message, or a second,
different message for the same person and pension date.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel

from adapters.dfo.store import FaultKind, StubStore
from domain.pension import PensionType


class SpkError(Exception):
    """Anything that went wrong with SPK."""


class SpkUnavailable(SpkError):
    """SPK could not be reached or timed out; worth retrying later."""


class SpkRejected(SpkError):
    """SPK refused the message as it stands; a person must correct it."""


class PensionStatus(StrEnum):
    RECEIVED = "mottatt"
    PROCESSED = "behandlet"
    WITHDRAWN = "trukket"


class PensionMessage(BaseModel):
    """A pensjonsmelding as the employer sends it.

    `uttaksgrad` is the share of the pension taken out, in percent (100 = full pension; partial
    pension also reduces the position in SAP, seed 001 "Pensjon"). `sluttdato` is the last day in
    the position, None when the person stays on part-time. The model accepts any values so that
    SPK, not the caller's constructor, is the one that refuses a malformed message.
    """

    ansattnummer: str
    pensjonstype: PensionType
    uttaksgrad: int
    fradato: date
    sluttdato: date | None = None
    arsak: str | None = None


class PensionReceipt(BaseModel):
    """SPK's receipt for a message, and where its handling stands."""

    id: str
    ansattnummer: str
    pensjonstype: PensionType
    fradato: date
    status: PensionStatus


class PensionPort(Protocol):
    def send_pension_message(
        self, message: PensionMessage, idempotency_key: str
    ) -> PensionReceipt: ...

    def message_status(self, receipt_id: str) -> PensionReceipt: ...

    def withdraw_pension_message(self, receipt_id: str, idempotency_key: str) -> PensionReceipt: ...


_SCHEMA = """
create table if not exists messages (
    id text primary key, ansattnummer text not null, fradato text not null,
    status text not null, message text not null, receipt text not null);
"""

_EMPLOYEE_NUMBER = re.compile(r"[0-9]{8}")


class SpkStub:
    """SPK's pension message form, durable in one SQLite file shared by every process using it."""

    def __init__(self, path: Path) -> None:
        self.store = StubStore(
            path, _SCHEMA, refusal=lambda: SpkRejected("SPK avviste forespørselen.")
        )

    # -- the port ------------------------------------------------------------------------

    def send_pension_message(self, message: PensionMessage, idempotency_key: str) -> PensionReceipt:
        """Take the message once per key. The same message under a new key is a retry that lost
        its key, so it gets the first receipt; a different message for the same person and pension
        date would give SPK two answers to one question, so it is refused."""
        self.store.suffer_faults(SpkUnavailable("SPK svarer ikke"))
        with self.store.transaction() as db:
            if (earlier := self.store.remembered(db, idempotency_key, PensionReceipt)) is not None:
                return earlier
            if problems := _malformed(message):
                raise SpkRejected("Pensjonsmeldingen kan ikke tas imot: " + "; ".join(problems))
            if (live := self._live(db, message)) is not None:
                return self.store.remember(db, idempotency_key, live)
            receipt = PensionReceipt(
                id=f"SPK-{self._count(db) + 1:06d}",
                ansattnummer=message.ansattnummer,
                pensjonstype=message.pensjonstype,
                fradato=message.fradato,
                status=PensionStatus.RECEIVED,
            )
            db.execute(
                "insert into messages values (?, ?, ?, ?, ?, ?)",
                (receipt.id, message.ansattnummer, message.fradato.isoformat(), receipt.status,
                 message.model_dump_json(), receipt.model_dump_json()),
            )  # fmt: skip
            return self.store.remember(db, idempotency_key, receipt)

    def message_status(self, receipt_id: str) -> PensionReceipt:
        self.store.suffer_faults(SpkUnavailable("SPK svarer ikke"))
        with self.store.transaction() as db:
            return self._load(db, receipt_id)

    def withdraw_pension_message(self, receipt_id: str, idempotency_key: str) -> PensionReceipt:
        """Withdraw a message: a withdrawn case, or a moved pension date, undoes what was sent
        (issue 3: cancellation undoes in reverse order). A withdrawn message no longer blocks a new
        one for the same date."""
        self.store.suffer_faults(SpkUnavailable("SPK svarer ikke"))
        with self.store.transaction() as db:
            if (earlier := self.store.remembered(db, idempotency_key, PensionReceipt)) is not None:
                return earlier
            receipt = self._load(db, receipt_id)
            self._set_status(db, receipt, PensionStatus.WITHDRAWN)
            return self.store.remember(db, idempotency_key, self._load(db, receipt_id))

    # -- what SPK and the tests do ---------------------------------------------------------

    def mark_processed(self, receipt_id: str) -> None:
        """SPK has handled the message; tests and the demo stand in for SPK here."""
        with self.store.transaction() as db:
            self._set_status(db, self._load(db, receipt_id), PensionStatus.PROCESSED)

    def inject_fault(self, kind: FaultKind, times: int = 1, seconds: float = 0.0) -> None:
        """Make the next `times` calls fail as unavailable, or answer `seconds` late."""
        self.store.inject_fault(kind, times, seconds)

    def messages(self) -> list[PensionMessage]:
        with self.store.transaction() as db:
            rows = db.execute("select message from messages order by id").fetchall()
        return [PensionMessage.model_validate_json(row[0]) for row in rows]

    # -- storage -------------------------------------------------------------------------

    def _live(self, db: sqlite3.Connection, message: PensionMessage) -> PensionReceipt | None:
        """The receipt of the same message already taken, or None; refuse a different one."""
        row = db.execute(
            "select id, message from messages where ansattnummer = ? and fradato = ? "
            "and status != ?",
            (message.ansattnummer, message.fradato.isoformat(), PensionStatus.WITHDRAWN),
        ).fetchone()
        if row is None:
            return None
        if PensionMessage.model_validate_json(row[1]) != message:
            raise SpkRejected(
                f"SPK har allerede en pensjonsmelding ({row[0]}) for ansattnummer "
                f"{message.ansattnummer} fra {message.fradato.isoformat()}; trekk den først."
            )
        return self._load(db, row[0])

    @staticmethod
    def _count(db: sqlite3.Connection) -> int:
        return int(db.execute("select count(*) from messages").fetchone()[0])

    @staticmethod
    def _load(db: sqlite3.Connection, receipt_id: str) -> PensionReceipt:
        row = db.execute("select receipt from messages where id = ?", (receipt_id,)).fetchone()
        if row is None:
            raise SpkRejected(f"Pensjonsmeldingen {receipt_id} finnes ikke hos SPK.")
        return PensionReceipt.model_validate_json(row[0])

    @staticmethod
    def _set_status(db: sqlite3.Connection, receipt: PensionReceipt, status: PensionStatus) -> None:
        updated = receipt.model_copy(update={"status": status})
        db.execute(
            "update messages set status = ?, receipt = ? where id = ?",
            (status, updated.model_dump_json(), receipt.id),
        )


def _malformed(message: PensionMessage) -> list[str]:
    """What SPK could not read; each problem names the field."""
    problems = []
    if _EMPLOYEE_NUMBER.fullmatch(message.ansattnummer) is None:
        problems.append(f"ansattnummer «{message.ansattnummer}» må ha åtte sifre")
    if not 1 <= message.uttaksgrad <= 100:
        problems.append(f"uttaksgrad {message.uttaksgrad} må være mellom 1 og 100 prosent")
    return problems


__all__ = [
    "PensionMessage",
    "PensionPort",
    "PensionReceipt",
    "PensionStatus",
    "PensionType",
    "SpkError",
    "SpkRejected",
    "SpkStub",
    "SpkUnavailable",
]
