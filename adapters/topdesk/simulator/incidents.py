"""The incident rules for reading, creating and updating (§2.3, §2.5).

Every write runs in one store transaction: validation errors roll it back, the modification date
moves, and the webhook event is queued in the same commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import catalog
from .catalog import (
    CALL_TYPES,
    CATEGORIES,
    CLOSURE_CODES,
    DURATIONS,
    ENTRY_TYPES,
    IMPACTS,
    PRIORITIES,
    STATUS_BY_NAME,
    STATUSES,
    SUBCATEGORIES,
    URGENCIES,
    Choice,
    is_uuid,
    stable_id,
)
from .config import ApiError
from .dates import Clock, format_date
from .fields import check_fields, date_field, flag_field, optional_fields, optional_ref, text_field
from .records import (
    CREATE_FIELDS,
    UPDATE_FIELDS,
    caller_from_body,
    make_entry,
    new_incident_doc,
    render_incident,
    request_text,
)
from .store import Store, Tx
from .webhooks import Outbox

# Search-list fields set by id or name (§2.3).
_OPTION_LISTS = (
    ("callType", CALL_TYPES),
    ("entryType", ENTRY_TYPES),
    ("impact", IMPACTS),
    ("urgency", URGENCIES),
    ("priority", PRIORITIES),
    ("duration", DURATIONS),
    ("closureCode", CLOSURE_CODES),
)


class IncidentRules:
    """Reading, creating and updating incidents; ``lifecycle.Incidents`` adds the rest."""

    def __init__(self, store: Store, clock: Clock, login: str, outbox: Outbox) -> None:
        self._store = store
        self._clock = clock
        self._outbox = outbox
        self.operator = {"id": stable_id("operator", login), "name": login}

    # reading -----------------------------------------------------------------------------
    def get(self, by: str, key: str) -> dict[str, Any]:
        with self._store.transaction() as tx:
            return render_incident(self._load(tx, by, key))

    def _load(self, tx: Tx, by: str, key: str) -> dict[str, Any]:
        doc = tx.incident(by, key) if by == "number" or is_uuid(key) else None
        if doc is None:
            raise ApiError(404, f"No incident with {by} '{key}'")
        return doc

    def entries(self, by: str, key: str, kind: str) -> list[dict[str, Any]]:
        with self._store.transaction() as tx:
            return tx.entries(self._load(tx, by, key)["id"], kind)

    def all(self, include_archived: bool) -> list[dict[str, Any]]:
        with self._store.transaction() as tx:
            return tx.incidents(include_archived)

    # create ------------------------------------------------------------------------------
    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        check_fields(body, CREATE_FIELDS)
        with self._store.transaction() as tx:
            now = self._clock.now()
            doc = new_incident_doc(caller_from_body(tx, body), self.operator, now)
            self._apply_shared(doc, body)
            status = body.get("processingStatus")
            self._set_status(doc, STATUSES.resolve(status) if status else None, now)
            seq = tx.next_incident_seq()
            doc["number"] = f"I{now:%y%m}-{seq:04d}"
            self._add_texts(tx, doc, body, now, self.operator, person=None)
            tx.save_incident(doc, seq)
            self._outbox.enqueue(tx, "incident_created", doc)
        return render_incident(doc)

    def update(self, by: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
        for forbidden in ("status", "mainIncident"):
            if forbidden in body:
                raise ApiError(400, f"'{forbidden}' cannot be set with an update")
        check_fields(body, UPDATE_FIELDS)
        with self._store.transaction() as tx:
            now = self._clock.now()
            doc = self._writable(tx, by, key)
            self._apply_shared(doc, body)
            if "processingStatus" in body:
                self._set_status(doc, STATUSES.resolve(body["processingStatus"]), now)
            self._apply_flags(doc, body, now)
            if "callDate" in body:
                doc["callDate"] = date_field(body, "callDate")
            self._add_texts(tx, doc, body, now, self.operator, person=None)
            self._touch(doc, now, self.operator)
            tx.save_incident(doc)
        return render_incident(doc)

    def _writable(self, tx: Tx, by: str, key: str) -> dict[str, Any]:
        doc = self._load(tx, by, key)
        if doc["status"].endswith("Archived"):
            raise ApiError(403, "The incident is archived")  # §2.5
        return doc

    def _apply_shared(self, doc: dict[str, Any], body: dict[str, Any]) -> None:
        """Fields create and update have in common; validation errors roll the write back."""
        if "briefDescription" in body:
            doc["briefDescription"] = text_field(body, "briefDescription", 80)
        if "externalNumber" in body:
            doc["externalNumber"] = text_field(body, "externalNumber", 60)
        self._apply_categories(doc, body)
        for key, choices in _OPTION_LISTS:
            if key in body:
                doc[key] = optional_ref(choices, body[key])
        if "operatorGroup" in body:  # id only (§2.3)
            doc["operatorGroup"] = optional_ref(
                catalog.OPERATOR_GROUPS, body["operatorGroup"], allow_name=False
            )
        for key in ("optionalFields1", "optionalFields2"):
            if key in body:
                doc[key] = optional_fields(doc[key], body[key], key)

    @staticmethod
    def _apply_categories(doc: dict[str, Any], body: dict[str, Any]) -> None:
        """A subcategory must lie in the category; alone it fills the category in (§2.3)."""
        if "category" in body:
            doc["category"] = optional_ref(CATEGORIES, body["category"])
            current = doc["subcategory"] and SUBCATEGORIES.by_id(doc["subcategory"]["id"])
            if current and (current.parent is None or current.parent.ref() != doc["category"]):
                doc["subcategory"] = None  # a new category invalidates the old subcategory
        if body.get("subcategory") is None:
            if "subcategory" in body:
                doc["subcategory"] = None
            return
        sub = SUBCATEGORIES.resolve(body["subcategory"])
        parent = sub.parent.ref() if sub.parent else None
        if "category" in body and doc["category"] != parent:
            raise ApiError(400, "The subcategory does not belong to the category")
        doc["category"], doc["subcategory"] = parent, sub.ref()

    @staticmethod
    def _set_status(doc: dict[str, Any], choice: Choice | None, now: datetime) -> None:
        """Set the processing status and the flags its processing state implies (§3 INFERENCE):
        Fullført completes, Lukket closes (and completes), På vent holds, open statuses reopen."""
        if choice is None:
            return
        doc["processingStatus"] = choice.ref()
        state = STATUS_BY_NAME[choice.name].processing_state
        stamp = format_date(now)
        doc["onHold"] = state == "onHold"
        doc["onHoldDate"] = (doc["onHoldDate"] or stamp) if state == "onHold" else None
        if state in ("completed", "closed"):
            doc["completed"] = True
            doc["completedDate"] = doc["completedDate"] or stamp
        if state == "closed":
            doc["closed"] = True
            doc["closedDate"] = doc["closedDate"] or stamp
        if state in ("open", "onHold"):
            doc.update(completed=False, completedDate=None, closed=False, closedDate=None)

    @staticmethod
    def _apply_flags(doc: dict[str, Any], body: dict[str, Any], now: datetime) -> None:
        """Explicit completed/closed/onHold (+ dates); they win over what the status implied."""
        stamp = format_date(now)
        if "completed" in body:
            done = flag_field(body, "completed")
            doc["completed"] = done
            doc["completedDate"] = (doc["completedDate"] or stamp) if done else None
            if not done:
                doc.update(closed=False, closedDate=None)
        if "closed" in body:
            closed = flag_field(body, "closed")
            doc["closed"] = closed
            doc["closedDate"] = (doc["closedDate"] or stamp) if closed else None
            if closed and not doc["completed"]:
                doc.update(completed=True, completedDate=stamp)
        for key in ("completedDate", "closedDate"):
            if body.get(key) is not None:
                doc[key] = date_field(body, key)
        if "onHold" in body:
            held = flag_field(body, "onHold")
            doc["onHold"] = held
            doc["onHoldDate"] = (doc["onHoldDate"] or stamp) if held else None

    def _add_texts(
        self,
        tx: Tx,
        doc: dict[str, Any],
        body: dict[str, Any],
        now: datetime,
        operator: dict[str, Any] | None,
        person: dict[str, Any] | None,
    ) -> None:
        """``request`` appends a request entry, ``action`` a progress-trail action (§2.5)."""
        action = text_field(body, "action")
        invisible = body.get("actionInvisibleForCaller", False)
        if not isinstance(invisible, bool):
            raise ApiError(400, "'actionInvisibleForCaller' must be true or false")
        if action:
            entry = make_entry(action, now, operator, person)
            tx.add_entry(doc["id"], "action", {**entry, "invisibleForCaller": invisible})
        request = text_field(body, "request")
        if request:
            tx.add_entry(doc["id"], "request", make_entry(request, now, operator, person))
            doc["request"] = request_text(tx.entries(doc["id"], "request"))

    @staticmethod
    def _touch(doc: dict[str, Any], now: datetime, who: dict[str, Any]) -> None:
        """Every write moves modificationDate and modifier (§6.1) — what pollers rely on."""
        doc["modificationDate"] = format_date(now)
        doc["modifier"] = dict(who)
