"""The personnel file in ePhorte / Sikri Elements: the port, and a stub with durable state.

Seed 001 files the resignation, the termination and pension letters, the SPK message and the case
confirmation "i personalmappe i ePhorte". NTNU keeps one personnel file per employee, titled with
the name and ordered by ansattnummer (dfo-domain.md §4); the archive numbers a case `YYYY/NNNNN`
and its journal posts `YYYY/NNNNN-D`. A journal post cannot be taken back, so filing must be
idempotent by the document itself, not only by the caller's key (§6 item 12: a checksum on the
document, as USN's TOA archiver does). The stub keys on ansattnummer and takes no fødselsnummer.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel

from adapters.dfo.store import FaultKind, StubStore
from domain.archive import DocumentType


class ArchiveError(Exception):
    """Anything that went wrong with the archive."""


class ArchiveUnavailable(ArchiveError):
    """The archive could not be reached or timed out; worth retrying later."""


class ArchiveRejected(ArchiveError):
    """The archive refused the request as it stands; a person must correct it."""


class CaseStatus(StrEnum):
    OPEN = "B"  # under behandling
    CLOSED = "A"  # avsluttet


class ArchiveDocument(BaseModel):
    """A document to file; its checksum is what makes a second filing of it a no-op.

    An outgoing letter names its `mottaker` (and `kopi_til`): filing it dispatches it
    ("ekspedering"), as Elements sends outgoing journal posts to their recipients.
    """

    tittel: str
    dokumenttype: DocumentType
    innhold: str
    mottaker: str | None = None
    kopi_til: str | None = None

    @property
    def sjekksum(self) -> str:
        """The content's SHA-256: the same text is the same document, whatever key it came with."""
        return hashlib.sha256(self.innhold.encode()).hexdigest()


class PersonnelFile(BaseModel):
    """A personalmappe: a case in archive part PERS titled with the employee's name."""

    saksnummer: str
    tittel: str
    ansattnummer: str
    saksstatus: CaseStatus


class JournalPost(BaseModel):
    """A filed document: `journalpostnummer` is the case number plus its document number."""

    journalpostnummer: str
    saksnummer: str
    dokumentnummer: int
    tittel: str
    dokumenttype: DocumentType
    sjekksum: str
    mottaker: str | None = None
    kopi_til: str | None = None


class ArchivePort(Protocol):
    def find_or_create_personnel_file(
        self, ansattnummer: str, navn: str, year: int, idempotency_key: str
    ) -> PersonnelFile: ...

    def file_document(
        self, saksnummer: str, document: ArchiveDocument, idempotency_key: str
    ) -> JournalPost: ...


_SCHEMA = """
create table if not exists files (
    saksnummer text primary key, year integer not null, sequence integer not null,
    ansattnummer text not null, status text not null, data text not null);
create table if not exists posts (
    journalpostnummer text primary key, saksnummer text not null, dokumentnummer integer not null,
    sjekksum text not null, innhold text not null, data text not null,
    unique (saksnummer, sjekksum));
"""

_EMPLOYEE_NUMBER = re.compile(r"[0-9]{8}")
_CASE_NUMBER = re.compile(r"([0-9]{4})/([0-9]{1,7})")


class ArchiveStub:
    """The archive's personnel files, durable in one SQLite file shared by every process."""

    def __init__(self, path: Path) -> None:
        self.store = StubStore(
            path, _SCHEMA, refusal=lambda: ArchiveRejected("Arkivet avviste forespørselen.")
        )

    # -- the port ------------------------------------------------------------------------

    def find_or_create_personnel_file(
        self, ansattnummer: str, navn: str, year: int, idempotency_key: str
    ) -> PersonnelFile:
        """Return the employee's open personnel file, creating it (numbered in `year`) only when
        there is none: one open file per ansattnummer, whatever key or year the caller brings.
        `year` is passed in so that the caller's clock, not the stub's, decides the number."""
        self.store.suffer_faults(ArchiveUnavailable("Arkivet svarer ikke"))
        with self.store.transaction() as db:
            if (earlier := self.store.remembered(db, idempotency_key, PersonnelFile)) is not None:
                return earlier
            if _EMPLOYEE_NUMBER.fullmatch(ansattnummer) is None:
                raise ArchiveRejected(f"ansattnummer «{ansattnummer}» må ha åtte sifre.")
            if not navn.strip():
                raise ArchiveRejected("navn mangler: mappen får den ansattes navn som tittel.")
            if not 1000 <= year <= 9999:
                raise ArchiveRejected(f"saksåret {year} har ikke fire sifre.")
            row = db.execute(
                "select data from files where ansattnummer = ? and status = ?",
                (ansattnummer, CaseStatus.OPEN),
            ).fetchone()
            if row is not None:
                existing = PersonnelFile.model_validate_json(row[0])
                return self.store.remember(db, idempotency_key, existing)
            sequence = self._next_sequence(db, year)
            personnel_file = PersonnelFile(
                saksnummer=f"{year}/{sequence:05d}",
                tittel=navn.strip(),
                ansattnummer=ansattnummer,
                saksstatus=CaseStatus.OPEN,
            )
            db.execute(
                "insert into files values (?, ?, ?, ?, ?, ?)",
                (personnel_file.saksnummer, year, sequence, ansattnummer, CaseStatus.OPEN,
                 personnel_file.model_dump_json()),
            )  # fmt: skip
            return self.store.remember(db, idempotency_key, personnel_file)

    def file_document(
        self, saksnummer: str, document: ArchiveDocument, idempotency_key: str
    ) -> JournalPost:
        """File the document as the file's next journal post, once: the same key, or the same
        content under another key, returns the journal post already made."""
        self.store.suffer_faults(ArchiveUnavailable("Arkivet svarer ikke"))
        with self.store.transaction() as db:
            if (earlier := self.store.remembered(db, idempotency_key, JournalPost)) is not None:
                return earlier
            personnel_file = self._file(db, saksnummer)
            if personnel_file.saksstatus is CaseStatus.CLOSED:
                raise ArchiveRejected(f"Saken {personnel_file.saksnummer} er avsluttet.")
            if not document.tittel.strip():
                raise ArchiveRejected("tittel mangler på dokumentet.")
            row = db.execute(
                "select data from posts where saksnummer = ? and sjekksum = ?",
                (personnel_file.saksnummer, document.sjekksum),
            ).fetchone()
            if row is not None:
                filed = JournalPost.model_validate_json(row[0])
                return self.store.remember(db, idempotency_key, filed)
            post = self._new_post(db, personnel_file.saksnummer, document)
            db.execute(
                "insert into posts values (?, ?, ?, ?, ?, ?)",
                (post.journalpostnummer, post.saksnummer, post.dokumentnummer, post.sjekksum,
                 document.innhold, post.model_dump_json()),
            )  # fmt: skip
            return self.store.remember(db, idempotency_key, post)

    # -- what operators and the tests do ---------------------------------------------------

    def documents(self, saksnummer: str) -> list[JournalPost]:
        """The file's journal posts in the order they were filed."""
        with self.store.transaction() as db:
            personnel_file = self._file(db, saksnummer)
            rows = db.execute(
                "select data from posts where saksnummer = ? order by dokumentnummer",
                (personnel_file.saksnummer,),
            ).fetchall()
        return [JournalPost.model_validate_json(row[0]) for row in rows]

    def document_text(self, journalpostnummer: str) -> str:
        """What was filed under the journal post, for a test or an operator to read."""
        with self.store.transaction() as db:
            row = db.execute(
                "select innhold from posts where journalpostnummer = ?", (journalpostnummer,)
            ).fetchone()
        if row is None:
            raise ArchiveRejected(f"Journalposten {journalpostnummer} finnes ikke.")
        return str(row[0])

    def close_personnel_file(self, saksnummer: str) -> None:
        """The archivist closes the file (status A); a later find-or-create opens a new one, as
        only open cases may be reused (dfo-domain.md §6 item 12)."""
        with self.store.transaction() as db:
            closed = self._file(db, saksnummer).model_copy(update={"saksstatus": CaseStatus.CLOSED})
            db.execute(
                "update files set status = ?, data = ? where saksnummer = ?",
                (CaseStatus.CLOSED, closed.model_dump_json(), closed.saksnummer),
            )

    def inject_fault(self, kind: FaultKind, times: int = 1, seconds: float = 0.0) -> None:
        """Make the next `times` calls fail as unavailable, or answer `seconds` late."""
        self.store.inject_fault(kind, times, seconds)

    # -- storage -------------------------------------------------------------------------

    @staticmethod
    def _next_sequence(db: sqlite3.Connection, year: int) -> int:
        row = db.execute("select max(sequence) from files where year = ?", (year,)).fetchone()
        return int(row[0] or 0) + 1

    @staticmethod
    def _new_post(
        db: sqlite3.Connection, saksnummer: str, document: ArchiveDocument
    ) -> JournalPost:
        row = db.execute(
            "select max(dokumentnummer) from posts where saksnummer = ?", (saksnummer,)
        ).fetchone()
        number = int(row[0] or 0) + 1
        return JournalPost(
            journalpostnummer=f"{saksnummer}-{number}",
            saksnummer=saksnummer,
            dokumentnummer=number,
            tittel=document.tittel.strip(),
            dokumenttype=document.dokumenttype,
            sjekksum=document.sjekksum,
            mottaker=document.mottaker,
            kopi_til=document.kopi_til,
        )

    @staticmethod
    def _file(db: sqlite3.Connection, saksnummer: str) -> PersonnelFile:
        row = db.execute(
            "select data from files where saksnummer = ?", (_canonical(saksnummer),)
        ).fetchone()
        if row is None:
            raise ArchiveRejected(f"Saken {saksnummer} finnes ikke i arkivet.")
        return PersonnelFile.model_validate_json(row[0])


def _canonical(saksnummer: str) -> str:
    """`YYYY/NNNNN` with the sequence zero-padded, so "2026/7" and "2026/00007" name one case
    (domain.identifiers.archive_case_number drops the zeros). Anything else names no case."""
    match = _CASE_NUMBER.fullmatch(saksnummer.strip())
    if match is None:
        return saksnummer
    year, sequence = match.groups()
    return f"{year}/{int(sequence):05d}"


__all__ = [
    "ArchiveDocument",
    "ArchiveError",
    "ArchivePort",
    "ArchiveRejected",
    "ArchiveStub",
    "ArchiveUnavailable",
    "CaseStatus",
    "DocumentType",
    "JournalPost",
    "PersonnelFile",
]
