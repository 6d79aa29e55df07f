"""Archive activities: documents and standard letters into the employee's personnel file in
ePhorte, through the archive port.

Seed 001 files every letter, resignation, SPK message and case confirmation "i personalmappe i
ePhorte", and sends the standard letters "til ansatt med leder på kopi"; an outgoing letter filed
with its recipients is dispatched by the archive, so one call both sends and files it.
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import activity

from activities.errors import final_errors
from adapters.dfo.archive import ArchiveDocument, ArchivePort, ArchiveRejected
from adapters.dfo.letters import LetterError, render_letter
from domain.archive import DocumentType
from domain.letters import LetterFields, LetterKind


class FileDocument(BaseModel):
    idempotency_key: str
    employee_number: str
    employee_name: str
    year: int  # the workflow's year: the archive numbers a new personnel file in it
    title: str
    text: str
    document_type: DocumentType = DocumentType.INCOMING


class SendLetter(BaseModel):
    idempotency_key: str
    kind: LetterKind
    fields: LetterFields  # `navn` and `ansattnummer` name the personnel file too
    year: int


class Filed(BaseModel):
    """Where a document now lies: the personnel file's case number and its journal post."""

    archive_case: str
    journal_post: str
    recipient: str | None = None
    copy_to: str | None = None


class ArchiveActivities:
    def __init__(self, archive: ArchivePort) -> None:
        self.archive = archive

    @activity.defn(name="archive.file_document")
    def file_document(self, request: FileDocument) -> Filed:
        """File a document in the employee's personnel file, once (by key and by content)."""
        document = ArchiveDocument(
            tittel=request.title, dokumenttype=request.document_type, innhold=request.text
        )
        with final_errors(ArchiveRejected):
            return self._file(
                request.idempotency_key,
                request.employee_number,
                request.employee_name,
                request.year,
                document,
            )

    @activity.defn(name="archive.send_letter")
    def send_letter(self, request: SendLetter) -> Filed:
        """Render a standard letter, send it (manager in copy where seed 001 says so) and file
        it. A letter with a hole in it is refused, naming the missing field."""
        with final_errors(LetterError, ArchiveRejected):
            letter = render_letter(request.kind, request.fields)
            document = ArchiveDocument(
                tittel=letter.tittel,
                dokumenttype=DocumentType.OUTGOING,
                innhold=letter.tekst,
                mottaker=letter.mottaker,
                kopi_til=letter.kopi_til,
            )
            return self._file(
                request.idempotency_key,
                request.fields.ansattnummer or "",
                letter.mottaker,
                request.year,
                document,
            )

    def _file(
        self, key: str, employee_number: str, name: str, year: int, document: ArchiveDocument
    ) -> Filed:
        personnel_file = self.archive.find_or_create_personnel_file(
            employee_number, name, year, f"{key}/file"
        )
        post = self.archive.file_document(personnel_file.saksnummer, document, f"{key}/post")
        return Filed(
            archive_case=personnel_file.saksnummer,
            journal_post=post.journalpostnummer,
            recipient=post.mottaker,
            copy_to=post.kopi_til,
        )
