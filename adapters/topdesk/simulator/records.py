"""The incident document: the field sets create and update accept, a new incident's defaults,
the caller, progress-trail and request entries, and the GET shape.

Pure functions over plain dicts; the rules that change incidents are in ``incidents.py`` and
``lifecycle.py``.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from .catalog import BRANCH, REGISTERED, STATUSES, is_uuid, stable_id
from .config import API_PREFIX, ApiError
from .dates import format_date, html_to_plain, memo_header, parse_date
from .fields import OPTIONAL_FIELD_DEFAULTS, text_field
from .store import Tx

SHARED_FIELDS = frozenset(
    {
        "briefDescription",
        "request",
        "action",
        "actionInvisibleForCaller",
        "category",
        "subcategory",
        "callType",
        "entryType",
        "processingStatus",
        "externalNumber",
        "operatorGroup",
        "impact",
        "urgency",
        "priority",
        "duration",
        "closureCode",
        "optionalFields1",
        "optionalFields2",
    }
)
CREATE_FIELDS = SHARED_FIELDS | {"callerLookup", "caller"}
UPDATE_FIELDS = SHARED_FIELDS | {
    "completed",
    "completedDate",
    "closed",
    "closedDate",
    "onHold",
    "callDate",
}
DATE_KEYS = (
    "onHoldDate",
    "completedDate",
    "closedDate",
    "callDate",
    "creationDate",
    "modificationDate",
    "targetDate",
    "responseDate",
)
_CALLER_KEYS = {"dynamicName": 109, "email": 100, "phoneNumber": 25, "mobileNumber": 25}


def new_incident_doc(
    caller: dict[str, Any] | None, operator: dict[str, str], now: datetime
) -> dict[str, Any]:
    """A new incident with every field of the GET shape (§2.2) at its default."""
    stamp = format_date(now)
    return {
        "id": str(uuid.uuid4()),
        "status": "firstLine",
        "number": "",
        "request": "",
        "caller": caller,
        "callerBranch": None,
        "briefDescription": "",
        "externalNumber": "",
        "category": None,
        "subcategory": None,
        "callType": None,
        "entryType": None,
        "impact": None,
        "urgency": None,
        "priority": None,
        "duration": None,
        "targetDate": None,
        "onHold": False,
        "onHoldDate": None,
        "onHoldDuration": 0,
        "feedbackMessage": None,
        "feedbackRating": None,
        "operator": None,
        "operatorGroup": None,
        "supplier": None,
        "processingStatus": STATUSES.by_name(REGISTERED).ref(),
        "responded": False,
        "responseDate": None,
        "completed": False,
        "completedDate": None,
        "closed": False,
        "closedDate": None,
        "closureCode": None,
        "escalationStatus": None,
        "escalationReason": None,
        "escalationOperator": None,
        "timeSpent": 0,
        "callDate": stamp,
        "creator": dict(operator),
        "creationDate": stamp,
        "modifier": dict(operator),
        "modificationDate": stamp,
        "archivingReason": None,
        "majorCall": False,
        "mainIncident": None,
        "partialIncidents": [],
        "optionalFields1": dict(OPTIONAL_FIELD_DEFAULTS),
        "optionalFields2": dict(OPTIONAL_FIELD_DEFAULTS),
        "externalLinks": [],
    }


def caller_from_body(tx: Tx, body: dict[str, Any]) -> dict[str, Any] | None:
    """``callerLookup`` (registered person) or ``caller`` (unregistered), not both (§2.3)."""
    lookup, caller = body.get("callerLookup"), body.get("caller")
    if lookup is not None and caller is not None:
        raise ApiError(400, "Give either 'callerLookup' or 'caller', not both")
    if lookup is not None:
        return _registered_caller(tx, lookup)
    if caller is None:
        return None
    if not isinstance(caller, dict) or not caller.get("dynamicName"):
        raise ApiError(400, "'caller' needs a 'dynamicName'")
    for key in caller:
        if key not in _CALLER_KEYS:
            raise ApiError(400, f"Unknown field 'caller.{key}'")
    values = {key: text_field(caller, key, limit) for key, limit in _CALLER_KEYS.items()}
    return {"id": None, **values, "branch": None, "department": None, "budgetHolder": None}


def _registered_caller(tx: Tx, lookup: Any) -> dict[str, Any]:
    """Exactly one of id/email. An email not seen before registers the person (simulator
    convenience: the real instance needs an existing person with the Caller flag, §3.1)."""
    if not isinstance(lookup, dict) or len(lookup) != 1 or not set(lookup) <= {"id", "email"}:
        raise ApiError(400, "'callerLookup' needs exactly one of 'id' or 'email'")
    if "id" in lookup:
        person_id = lookup["id"]
        person = tx.person(person_id=person_id) if is_uuid(str(person_id)) else None
        if person is None:
            raise ApiError(400, "'callerLookup.id' cannot be parsed")
    else:
        email = text_field(lookup, "email", 100).strip()
        if "@" not in email:
            raise ApiError(400, "'callerLookup.email' is not an e-mail address")
        person = tx.person(email=email) or _register_person(tx, email)
    return {
        "id": person["id"],
        "dynamicName": person["dynamicName"],
        "email": person["email"],
        "mobileNumber": "",
        "phoneNumber": "",
        "branch": dict(BRANCH),
        "department": None,
        "budgetHolder": None,
    }


def _register_person(tx: Tx, email: str) -> dict[str, Any]:
    local = email.split("@", 1)[0]
    name = " ".join(part.capitalize() for part in re.split(r"[._-]+", local) if part)
    first, _, sur = name.partition(" ")
    person = {
        "id": stable_id("person", email.casefold()),
        "dynamicName": name or email,
        "firstName": first,
        "surName": sur,
        "email": email,
        "employeeNumber": "",
        "isCaller": True,
        "archived": False,
        "status": "person",
        "branch": {"id": BRANCH["id"], "name": BRANCH["name"]},
    }
    tx.add_person(person)
    return person


def make_entry(
    text: str, now: datetime, operator: dict[str, Any] | None, person: dict[str, Any] | None
) -> dict[str, Any]:
    """A request or action entry; exactly one of operator/person names the author (§2.6)."""
    stamp = format_date(now)
    return {
        "id": str(uuid.uuid4()),
        "memoText": text,
        "plainText": html_to_plain(text),
        "flag": 0,
        "creationDate": stamp,
        "entryDate": stamp,
        "operator": dict(operator) if operator else None,
        "person": dict(person) if person else None,
        "user": dict(operator or person or {}),
    }


def request_text(entries: list[dict[str, Any]]) -> str:
    """The incident's ``request``: every request entry as plain text, newest first (§2.2)."""
    parts = []
    for entry in entries:
        author = (entry["operator"] or entry["person"] or {}).get("name", "")
        header = memo_header(parse_date(entry["entryDate"]), author)
        parts.append(f"{header}\n{entry['plainText']}")
    return "\n\n".join(parts)


def render_incident(doc: dict[str, Any]) -> dict[str, Any]:
    """The GET shape: the stored document plus the sub-resource URLs (§2.2)."""
    base = f"{API_PREFIX}/incidents/id/{doc['id']}"
    out = dict(doc)
    out["requests"] = f"{base}/requests"
    out["action"] = f"{base}/actions"
    out["attachments"] = f"{base}/attachments"
    return out


def action_view(entry: dict[str, Any]) -> dict[str, Any]:
    """``/actions`` items have the Action shape, which has no ``user`` (§2.6)."""
    return {key: value for key, value in entry.items() if key != "user"}


def request_view(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in entry.items() if key != "invisibleForCaller"}
