"""TOPdesk activities: read a case and write to it, through the TOPdesk port."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import final_errors
from activities.sealing import IdentifierSeal
from adapters.topdesk.errors import TopdeskBadRequest, TopdeskRejected
from adapters.topdesk.models import Incident, NewIncident, Ref
from adapters.topdesk.port import TopdeskPort
from domain.calendar_day import norwegian_day
from domain.cases import TopdeskStatus

# The error type a workflow sees when it would change the status of a case the caller closed.
CASE_CLOSED = "CaseClosedByCaller"


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
    external_number: str | None = None  # set on the cases saksflyt opens itself


class CaseWrite(BaseModel):
    """One write to a case: an internal note, or a reply the caller sees and/or a new status;
    `operator_group` hands the case to that group first (the escalation ladder's rungs)."""

    case_number: str
    reply: str | None = None
    note: str | None = None
    status: TopdeskStatus | None = None
    operator_group: str | None = None


class NewCase(BaseModel):
    """A case saksflyt opens itself (to tell a unit, or for a form from the DFØ portal).
    `external_number` is its key: the same key never opens a second case."""

    external_number: str
    caller_email: str
    category: str
    brief_description: str
    request: str


class OpenCasesQuery(BaseModel):
    categories: list[str]


class OpenCases(BaseModel):
    """Open cases of some categories, each with its form text only (not the replies)."""

    cases: list[CaseSnapshot]


class CaseWritten(BaseModel):
    case_number: str
    status: str | None


class TopdeskActivities:
    def __init__(self, topdesk: TopdeskPort, seal: IdentifierSeal) -> None:
        self.topdesk = topdesk
        self.seal = seal

    @activity.defn(name="topdesk.read_case")
    def read_case(self, ref: CaseRef) -> CaseSnapshot:
        """Re-read the case: webhooks are hints, TOPdesk is the truth. Its identifiers reach
        the workflow sealed (activities/sealing.py)."""
        with final_errors(TopdeskRejected):
            incident = self.topdesk.get_incident(ref.case_number)
            trail = self.topdesk.progress_trail(ref.case_number)
        replies = [
            entry.plain_text or entry.memo_text or ""
            for entry in reversed(trail)
            if entry.from_caller and not entry.invisible_for_caller
        ]
        return self._snapshot(incident, replies)

    @activity.defn(name="topdesk.open_case")
    def open_case(self, case: NewCase) -> CaseRef:
        """Open the case once: an earlier attempt may have created it, so look it up first."""
        with final_errors(TopdeskRejected):
            found = self.topdesk.find_by_external_number(case.external_number)
            if found is None:
                found = self.topdesk.create_incident(
                    NewIncident(
                        caller_lookup={"email": case.caller_email},
                        brief_description=case.brief_description[:80],
                        request=case.request.replace("\n", "<br>"),
                        category=Ref(name=case.category),
                        external_number=case.external_number,
                    )
                )
        return CaseRef(case_number=found.number)

    @activity.defn(name="topdesk.open_cases")
    def open_cases(self, query: OpenCasesQuery) -> OpenCases:
        """The cases of these categories still being handled (not completed): what the end-date
        watch must not act on behind a case handler's back."""
        categories = ",".join(f"'{category}'" for category in query.categories)
        fiql = f"completed==false;category.name=in=({categories})"
        with final_errors(TopdeskRejected):
            incidents = self.topdesk.list_incidents(fiql)
        return OpenCases(cases=[self._snapshot(incident, []) for incident in incidents])

    def _snapshot(self, incident: Incident, replies: list[str]) -> CaseSnapshot:
        """The case as a workflow sees it: its texts with every identifier sealed."""
        today = norwegian_day(datetime.now(UTC))
        texts = [incident.request or "", *replies]
        return CaseSnapshot(
            case_number=incident.number,
            category=incident.category.name if incident.category else None,
            status=incident.processing_status.name if incident.processing_status else None,
            completed=incident.completed,
            closed=incident.closed,
            texts=[self.seal.seal_text(text, today) for text in texts],
            external_number=incident.external_number,
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
        if write.status is not None and self.topdesk.get_incident(number).closed:
            # An open status would reopen a case the caller has closed since the workflow last
            # read it: the withdrawal would be lost. The workflow is told instead.
            raise ApplicationError(f"case {number} is closed", type=CASE_CLOSED, non_retryable=True)
        if write.operator_group:
            try:
                incident = self.topdesk.set_operator_group(number, write.operator_group)
            except TopdeskBadRequest:
                # A rung whose group this TOPdesk lacks must not fail the case: the note still
                # reaches the case handlers, and says so.
                missing = f"(Operatørgruppen «{write.operator_group}» finnes ikke i TOPdesk.)"
                write = write.model_copy(update={"note": f"{write.note or ''} {missing}".strip()})
            else:
                if not (write.note or write.reply or write.status):
                    return incident
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
