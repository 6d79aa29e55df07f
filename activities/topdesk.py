"""TOPdesk activities: read a case and write to it, through the TOPdesk port."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import final_errors
from adapters.topdesk.errors import TopdeskRejected
from adapters.topdesk.models import Incident
from adapters.topdesk.port import TopdeskPort
from domain.cases import TopdeskStatus


class CaseRef(BaseModel):
    case_number: str


class CaseSnapshot(BaseModel):
    """What a workflow needs of a case: its status and the texts the caller has written.

    `texts` holds the request (the form) followed by the caller's visible replies, oldest first.
    """

    case_number: str
    category: str | None
    status: str | None
    completed: bool
    closed: bool
    texts: list[str]


class CaseWrite(BaseModel):
    """One write to a case: an internal note, or a reply the caller sees and/or a new status."""

    case_number: str
    reply: str | None = None
    note: str | None = None
    status: TopdeskStatus | None = None


class CaseWritten(BaseModel):
    case_number: str
    status: str | None


class TopdeskActivities:
    def __init__(self, topdesk: TopdeskPort) -> None:
        self.topdesk = topdesk

    @activity.defn(name="topdesk.read_case")
    def read_case(self, ref: CaseRef) -> CaseSnapshot:
        """Re-read the case: webhooks are hints, TOPdesk is the truth."""
        with final_errors(TopdeskRejected):
            incident = self.topdesk.get_incident(ref.case_number)
            trail = self.topdesk.progress_trail(ref.case_number)
        replies = [
            entry.plain_text or entry.memo_text or ""
            for entry in reversed(trail)
            if entry.from_caller and not entry.invisible_for_caller
        ]
        return CaseSnapshot(
            case_number=incident.number,
            category=incident.category.name if incident.category else None,
            status=incident.processing_status.name if incident.processing_status else None,
            completed=incident.completed,
            closed=incident.closed,
            texts=[incident.request or "", *replies],
        )

    @activity.defn(name="topdesk.write_case")
    def write_case(self, write: CaseWrite) -> CaseWritten:
        """Apply one write. Each write is one TOPdesk call, so a retry never repeats half of it;
        and a retried reply or note that TOPdesk had already taken is not written twice."""
        with final_errors(TopdeskRejected):
            if activity.info().attempt > 1 and self._already_written(write):
                incident = self.topdesk.get_incident(write.case_number)
            else:
                incident = self._apply(write)
        status = incident.processing_status.name if incident.processing_status else None
        return CaseWritten(case_number=incident.number, status=status)

    def _already_written(self, write: CaseWrite) -> bool:
        """TOPdesk has no idempotency key: an earlier attempt that timed out may have landed. It
        did if our text is the newest operator entry (a legitimate repeat of the same text always
        has the caller's reply in between)."""
        text = write.note or write.reply
        if not text:
            return False  # a bare status change is idempotent by itself
        newest = next(
            (e for e in self.topdesk.progress_trail(write.case_number) if e.operator), None
        )
        return newest is not None and _same_text(newest.plain_text or "", text)

    def _apply(self, write: CaseWrite) -> Incident:
        number = write.case_number
        if write.note:
            return self.topdesk.add_note(number, write.note)
        if write.status is TopdeskStatus.COMPLETED:
            return self.topdesk.complete(number, write.reply or "")
        if write.reply:
            return self.topdesk.reply_to_caller(number, write.reply, write.status)
        if write.status is not None:
            return self.topdesk.set_status(number, write.status)
        raise ApplicationError("a case write needs a note, a reply or a status", non_retryable=True)


def _same_text(written: str, text: str) -> bool:
    return " ".join(written.split()) == " ".join(text.split())
