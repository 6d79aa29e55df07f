"""DFØ's self-service portal (Selvbetjeningsportalen): the resignation form, as a port and a stub.

The employee resigns in the portal, and the form goes from the employee via the service centre to
the personnel approver (seed 000, "Skjemaflyt"). DFØ publishes no API for the portal's forms, so
the stub stands in for it: it keeps the submitted forms in SQLite (durable, shared by every process
that opens the file), answers a repeated submission key with the first form, lets tests inject
faults, and tells saksflyt of each new form by webhook, the way DFØ tells of other changes (an
event that names the object, which the receiver then reads again: dfo-domain.md §1.5).

A delivery that fails is kept in an outbox and sent again by `redeliver()`, so an intake that was
down when the employee pressed "send" still hears of the form; without an intake URL the event is
only stored.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import requests
import structlog
from pydantic import BaseModel

from adapters.dfo.store import FaultKind, StubStore
from adapters.webhooks import WebhookSender

log = structlog.get_logger(__name__)

RESIGNATION_SUBMITTED = "resignation_submitted"
# A webhook is a hint that must not hold up the employee's "send": short, and kept for later.
DELIVERY_TIMEOUT = (2.0, 5.0)


class PortalError(Exception):
    """Anything that went wrong with the portal."""


class PortalUnavailable(PortalError):
    """The portal could not be reached or timed out; worth retrying later."""


class PortalRejected(PortalError):
    """The portal refused the request as it stands (no such form); retrying will not help."""


class ResignationForm(BaseModel):
    """A resignation as the employee submitted it in the portal, in the portal's field names.

    `siste_arbeidsdag` is the last working day the employee asks for; `innsendt` the day the
    resignation was given, from which the notice period runs. `leder` is the personnel approver the
    portal sent the form to (seed 000), who gets the termination letter in copy.
    """

    id: str
    ansattnummer: str
    navn: str
    epost: str
    siste_arbeidsdag: date
    innsendt: date
    tekst: str = ""
    leder: str | None = None


class DeliveryStatus(StrEnum):
    DELIVERED = "levert"
    PENDING = "venter"  # in the outbox: the last attempt failed
    STORED = "lagret"  # no intake configured: kept, never sent


class PortalEvent(BaseModel):
    """One event the portal emitted, and how its delivery went."""

    seq: int
    event: str
    form_id: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None = None


class PortalPort(Protocol):
    def resignation(self, form_id: str) -> ResignationForm: ...


_SCHEMA = """
create table if not exists forms (id text primary key, data text not null);
create table if not exists events (
    seq integer primary key autoincrement, event text not null, form_id text not null,
    status text not null, attempts integer not null, last_error text, updated text not null);
"""

_EMPLOYEE_NUMBER = re.compile(r"[0-9]{8}")


class PortalStub:
    """The portal's resignation forms, durable in one SQLite file; with `intake_url` set it posts
    each new form's event there (`adapters/webhooks.py`), with the shared webhook secret in
    `secret_header`."""

    def __init__(
        self,
        path: Path,
        intake_url: str | None = None,
        secret: str = "",
        secret_header: str = "X-Saksflyt-Secret",
    ) -> None:
        self.store = StubStore(path, _SCHEMA)
        self.intake_url = intake_url
        self.sender = WebhookSender(
            intake_url or "", secret, secret_header, timeout=DELIVERY_TIMEOUT
        )

    # -- the port ------------------------------------------------------------------------

    def resignation(self, form_id: str) -> ResignationForm:
        """The form as submitted; an unknown id is refused (a webhook that named no real form)."""
        self.store.suffer_faults(PortalUnavailable("Selvbetjeningsportalen svarer ikke"))
        with self.store.transaction() as db:
            row = db.execute("select data from forms where id = ?", (form_id,)).fetchone()
        if row is None:
            raise PortalRejected(f"Oppsigelsen {form_id} finnes ikke i Selvbetjeningsportalen.")
        return ResignationForm.model_validate_json(row[0])

    # -- what the employee does ------------------------------------------------------------

    def submit_resignation(
        self,
        *,
        ansattnummer: str,
        navn: str,
        epost: str,
        siste_arbeidsdag: date,
        innsendt: date,
        idempotency_key: str,
        tekst: str = "",
        leder: str | None = None,
    ) -> ResignationForm:
        """Store the form once per key (a double click sends one resignation), then emit its
        event. The event is stored in the same transaction as the form, so no form is ever
        without one; the HTTP delivery happens after the commit."""
        if _EMPLOYEE_NUMBER.fullmatch(ansattnummer) is None:
            raise PortalRejected(f"ansattnummer «{ansattnummer}» må ha åtte sifre.")
        if not navn.strip() or "@" not in epost:
            raise PortalRejected("navn og e-post må fylles ut.")
        with self.store.transaction() as db:
            if (earlier := self.store.remembered(db, idempotency_key, ResignationForm)) is not None:
                return earlier
            count = int(db.execute("select count(*) from forms").fetchone()[0])
            form = ResignationForm(
                id=f"OPP-{count + 1:06d}",
                ansattnummer=ansattnummer,
                navn=navn.strip(),
                epost=epost.strip(),
                siste_arbeidsdag=siste_arbeidsdag,
                innsendt=innsendt,
                tekst=tekst.strip(),
                leder=leder,
            )
            db.execute("insert into forms values (?, ?)", (form.id, form.model_dump_json()))
            status = DeliveryStatus.PENDING if self.intake_url else DeliveryStatus.STORED
            seq = db.execute(
                "insert into events (event, form_id, status, attempts, updated) "
                "values (?, ?, ?, 0, ?)",
                (RESIGNATION_SUBMITTED, form.id, status, _now()),
            ).lastrowid
            self.store.remember(db, idempotency_key, form)
        if self.intake_url and seq is not None:
            self._deliver(seq, form.id)
        return form

    # -- what operators and the tests do ---------------------------------------------------

    def redeliver(self) -> int:
        """Send every event still in the outbox again, oldest first; returns how many got
        through. Safe to repeat: the intake starts one workflow per form, however often told."""
        with self.store.transaction() as db:
            pending = db.execute(
                "select seq, form_id from events where status = ? order by seq",
                (DeliveryStatus.PENDING,),
            ).fetchall()
        return sum(self._deliver(seq, form_id) for seq, form_id in pending)

    def events(self) -> list[PortalEvent]:
        with self.store.transaction() as db:
            rows = db.execute(
                "select seq, event, form_id, status, attempts, last_error from events order by seq"
            ).fetchall()
        return [
            PortalEvent(
                seq=seq, event=event, form_id=form_id, status=status, attempts=attempts,
                last_error=error,
            )
            for seq, event, form_id, status, attempts, error in rows
        ]  # fmt: skip

    def inject_fault(self, kind: FaultKind, times: int = 1, seconds: float = 0.0) -> None:
        """Make the next `times` reads fail as unavailable, or answer `seconds` late."""
        self.store.inject_fault(kind, times, seconds)

    # -- delivery ------------------------------------------------------------------------

    def _deliver(self, seq: int, form_id: str) -> bool:
        """POST one event; record the outcome either way. Never raises: the form is in."""
        error: str | None = None
        try:
            event = {"event": RESIGNATION_SUBMITTED, "form_id": form_id}
            response = self.sender.post(json.dumps(event).encode())
            if not response.ok:
                error = f"HTTP {response.status_code}"
        except requests.RequestException as failure:
            error = type(failure).__name__
        with self.store.transaction() as db:
            _record_attempt(db, seq, error)
        if error is not None:
            log.warning("portal.delivery_failed", form_id=form_id, error=error)
        return error is None


def _record_attempt(db: sqlite3.Connection, seq: int, error: str | None) -> None:
    status = DeliveryStatus.PENDING if error else DeliveryStatus.DELIVERED
    db.execute(
        "update events set status = ?, attempts = attempts + 1, last_error = ?, updated = ? "
        "where seq = ?",
        (status, error, _now(), seq),
    )


def _now() -> str:
    return datetime.now(UTC).isoformat()


__all__ = [
    "RESIGNATION_SUBMITTED",
    "DeliveryStatus",
    "PortalError",
    "PortalEvent",
    "PortalPort",
    "PortalRejected",
    "PortalStub",
    "PortalUnavailable",
    "ResignationForm",
]
