"""The incident writes that are not plain field updates (§2.1, §2.7): archive and unarchive,
escalate and de-escalate, time spent, attachments, and the caller's reply from the portal.

Split from ``incidents.py`` only to keep each module short; ``Incidents`` is the one object the
API and the simulator use.
"""

from __future__ import annotations

import mimetypes
import uuid
from typing import Any

from .catalog import (
    ARCHIVING_REASONS,
    DEESCALATION_REASONS,
    ESCALATION_REASONS,
    REOPENED_BY_CALLER,
    STATUSES,
    UPDATED_BY_CALLER,
    Choices,
)
from .config import API_PREFIX, ApiError
from .dates import format_date
from .fields import check_fields, date_field, text_field
from .incidents import IncidentRules
from .records import render_incident

_TIME_SPENT_FIELDS = frozenset(
    {"timeSpent", "notes", "entryDate", "operator", "operatorGroup", "reason"}
)


class Incidents(IncidentRules):
    """All incident rules: those of ``IncidentRules`` and the ones below."""

    def archive(self, by: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
        """``PUT .../archive`` with an optional archiving reason (§2.1); archived is read-only."""
        check_fields(body, frozenset({"id", "name"}))
        reason = ARCHIVING_REASONS.resolve(body) if body else ARCHIVING_REASONS.items[0]
        with self._store.transaction() as tx:
            now = self._clock.now()
            doc = self._writable(tx, by, key)
            doc["status"] = doc["status"] + "Archived"
            doc["archivingReason"] = reason.ref()
            self._touch(doc, now, self.operator)
            tx.save_incident(doc)
        return render_incident(doc)

    def unarchive(self, by: str, key: str) -> dict[str, Any]:
        with self._store.transaction() as tx:
            now = self._clock.now()
            doc = self._load(tx, by, key)
            if not doc["status"].endswith("Archived"):
                raise ApiError(400, "The incident is not archived")
            doc["status"] = doc["status"].removesuffix("Archived")
            doc["archivingReason"] = None
            self._touch(doc, now, self.operator)
            tx.save_incident(doc)
        return render_incident(doc)

    # the caller's side -------------------------------------------------------------------
    def caller_reply(self, number: str, text: str) -> dict[str, Any]:
        """What TOPdesk does when the caller answers in the self-service portal.

        A visible action authored by the caller; status "Oppdatert av bruker", or "Gjenåpnet av
        bruker" when the case was already completed (NTNU's status set, §3); then a webhook.
        """
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "'text' must be a non-empty string")
        with self._store.transaction() as tx:
            now = self._clock.now()
            doc = self._writable(tx, "number", number)
            caller = doc["caller"] or {"id": None, "dynamicName": "Innmelder"}
            person = {"id": caller["id"], "name": caller["dynamicName"]}
            reopened = bool(doc["completed"] or doc["closed"])
            self._add_texts(tx, doc, {"action": text}, now, operator=None, person=person)
            status = REOPENED_BY_CALLER if reopened else UPDATED_BY_CALLER
            self._set_status(doc, STATUSES.by_name(status), now)
            self._touch(doc, now, person)
            tx.save_incident(doc)
            self._outbox.enqueue(tx, "reopened" if reopened else "caller_replied", doc)
        return render_incident(doc)

    # escalation (§2.1: the line changes only here, never through ``status``) ------------
    def escalate(self, by: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
        """First line → second line, with an optional escalation reason."""
        return self._change_line(by, key, body, ESCALATION_REASONS, "firstLine", "secondLine")

    def deescalate(self, by: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
        """Second line → first line, with an optional de-escalation reason."""
        return self._change_line(by, key, body, DEESCALATION_REASONS, "secondLine", "firstLine")

    def _change_line(
        self, by: str, key: str, body: dict[str, Any], reasons: Choices, old: str, new: str
    ) -> dict[str, Any]:
        check_fields(body, frozenset({"id", "name"}))
        reason = reasons.resolve(body).ref() if body else None
        with self._store.transaction() as tx:
            now = self._clock.now()
            doc = self._writable(tx, by, key)
            if doc["status"] != old:
                raise ApiError(400, f"The incident is {doc['status']}, not {old}")
            doc["status"] = new
            doc["escalationStatus"] = "Escalated" if new == "secondLine" else "Deescalated"
            doc["escalationReason"] = reason
            doc["escalationOperator"] = dict(self.operator)
            self._touch(doc, now, self.operator)
            tx.save_incident(doc)
        return render_incident(doc)

    # time spent ---------------------------------------------------------------------------
    def register_time(self, by: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
        """``POST .../timespent``: minutes (non-zero) with optional notes; adds to ``timeSpent``.

        TOPdeskPy sends ``timespent`` (§7.9); like any unknown field that is a 400, which here
        names the right spelling.
        """
        if "timespent" in body:
            raise ApiError(400, "Unknown field 'timespent' (the field is 'timeSpent')")
        check_fields(body, _TIME_SPENT_FIELDS)
        minutes = body.get("timeSpent")
        if isinstance(minutes, bool) or not isinstance(minutes, int | float) or minutes == 0:
            raise ApiError(400, "'timeSpent' must be a non-zero number of minutes")
        notes = text_field(body, "notes", 250)
        with self._store.transaction() as tx:
            now = self._clock.now()
            doc = self._writable(tx, by, key)
            entry = {
                "id": str(uuid.uuid4()),
                "timeSpent": minutes,
                "notes": notes,
                "entryDate": date_field(body, "entryDate") or format_date(now),
                "operator": dict(self.operator),
                "operatorGroup": doc["operatorGroup"],
                "reason": None,
            }
            tx.add_entry(doc["id"], "timespent", entry)
            doc["timeSpent"] = doc.get("timeSpent", 0) + minutes
            self._touch(doc, now, self.operator)
            tx.save_incident(doc)
        return entry

    # attachments (§4) ---------------------------------------------------------------------
    def attach(
        self, by: str, key: str, file_name: str, content: bytes, description: str, hidden: bool
    ) -> dict[str, Any]:
        if not file_name:
            raise ApiError(400, "The part 'file' needs a file name")
        with self._store.transaction() as tx:
            now = self._clock.now()
            doc = self._writable(tx, by, key)
            attachment_id = str(uuid.uuid4())
            base = f"{API_PREFIX}/incidents/id/{doc['id']}/attachments/{attachment_id}"
            entry = {
                "id": attachment_id,
                "fileName": file_name,
                "downloadUrl": f"{base}/download",
                "size": len(content),
                "description": description or None,
                "invisibleForCaller": hidden,
                "entryDate": format_date(now),
                "operator": dict(self.operator),
                "person": None,
            }
            tx.add_entry(doc["id"], "attachment", entry)
            tx.save_blob(attachment_id, content)
            self._touch(doc, now, self.operator)
            tx.save_incident(doc)
        return entry

    def attachment_content(self, incident_id: str, attachment_id: str) -> tuple[str, str, bytes]:
        """(file name, MIME type, bytes); ``application/octet-stream`` when unknown (§4)."""
        entry = self._attachment(incident_id, attachment_id)
        with self._store.transaction() as tx:
            content = tx.blob(attachment_id) or b""
        kind = mimetypes.guess_type(entry["fileName"])[0] or "application/octet-stream"
        return entry["fileName"], kind, content

    def delete_attachment(self, incident_id: str, attachment_id: str) -> None:
        self._attachment(incident_id, attachment_id)
        with self._store.transaction() as tx:
            self._writable(tx, "id", incident_id)
            tx.delete_entry(attachment_id)

    def _attachment(self, incident_id: str, attachment_id: str) -> dict[str, Any]:
        for entry in self.entries("id", incident_id, "attachment"):
            if entry["id"] == attachment_id:
                return entry
        raise ApiError(404, f"No attachment with id '{attachment_id}'")
