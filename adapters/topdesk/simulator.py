"""A TOPdesk simulator: a real HTTP server speaking the TOPdesk REST API subset saksflyt uses.

It exists so that the adapter, the workflows and the demo stack can run against something that
behaves like the service centre's TOPdesk ("NTNU Hjelp") without one: the same paths, status codes,
error bodies, date formats, paging headers and FIQL queries, the same seeded processing statuses and
categories, and the outbound webhooks an action sequence would send. References of the form "§2.5"
point to ``/work/shared/reference/topdesk-api.md``.

It is built on ``http.server`` (not an ASGI framework) because tests must be able to drop a
connection without answering and to add latency, and it keeps its state in SQLite so that a
restart with the same file continues where the previous run stopped (incidents, the number
sequence, and webhook deliveries that were still pending).

Run standalone with ``python -m adapters.topdesk.simulator --db sim.db``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import hmac
import html
import json
import logging
import re
import signal
import socket
import sqlite3
import string
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

__all__ = [
    "ApiError",
    "FaultRule",
    "SimulatorConfig",
    "TopdeskSimulator",
    "WebhookConfig",
    "format_date",
    "main",
    "parse_date",
]

log = logging.getLogger(__name__)

API_VERSION = "3.7.3"
API_PREFIX = "/tas/api"
SIM_PREFIX = "/_sim"


# --------------------------------------------------------------------------------------------
# Public configuration
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookConfig:
    """Where and how the simulated TOPdesk action sequence posts its events.

    TOPdesk signs nothing (§5.1), so the receiver can only check a shared secret in a header.
    The body is a ``string.Template``; ``$number``, ``$id``, ``$event``, ``$processingStatus``
    and ``$modificationDate`` are replaced by JSON-escaped values. The default sends the
    modification date too: a receiver can tell a repeated delivery from a new event by it.
    """

    url: str | None = None
    secret_header: str = "X-Saksflyt-Secret"
    secret: str = ""
    body_template: str = (
        '{"number": "$number", "id": "$id", "event": "$event", '
        '"modificationDate": "$modificationDate"}'
    )
    attempts: int = 5
    backoff_seconds: float = 0.5


@dataclass(frozen=True)
class SimulatorConfig:
    """Everything a simulator instance needs; the db file is what survives a restart."""

    db_path: Path
    login: str = "saksflyt"
    app_password: str = "sim-app-password"
    webhook: WebhookConfig = field(default_factory=WebhookConfig)


FaultKind = Literal["status", "latency", "drop"]
_FAULT_KINDS = ("status", "latency", "drop")


@dataclass(frozen=True)
class FaultRule:
    """A transport fault injected in front of the API, to exercise the adapter's retries.

    ``status`` answers with that status (plus ``Retry-After`` when given), ``latency`` sleeps and
    then serves the request normally, ``drop`` closes the socket without answering.
    """

    kind: FaultKind
    method: str | None = None
    path_prefix: str = API_PREFIX
    status: int = 503
    retry_after: int | None = None
    latency_seconds: float = 0.0
    times: int | None = 1

    def __post_init__(self) -> None:
        if self.kind not in _FAULT_KINDS:
            raise ValueError(f"kind must be one of {_FAULT_KINDS}, not {self.kind!r}")
        if not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status, not {self.status!r}")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1, or None for 'until cleared'")
        if self.latency_seconds < 0:
            raise ValueError("latency_seconds must not be negative")

    def matches(self, method: str, path: str) -> bool:
        """True when this rule applies to a request with this method and path (no query)."""
        method_ok = self.method is None or self.method.upper() == method.upper()
        return method_ok and path.startswith(self.path_prefix)


class ApiError(Exception):
    """A TOPdesk-style error: an HTTP status plus the message put in ``[{"message": ...}]``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# --------------------------------------------------------------------------------------------
# Dates and text
# --------------------------------------------------------------------------------------------

_DATE_RE = re.compile(
    r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})"
    r"(?:T(?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.(?P<frac>\d{1,9}))?)?)?"
    r"(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?"
)


def parse_date(text: str) -> datetime:
    """Parse the date forms TOPdesk accepts as input into an aware UTC datetime.

    Accepts ``2026-11-23T19:10:00.000+0000``, ``...Z``, ``+01:00``, ``+0100``, without seconds
    or millis, and no offset at all, which means UTC (§6.2). Raises ValueError otherwise.
    """
    match = _DATE_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a date: {text!r}")
    micros = int((match["frac"] or "0")[:6].ljust(6, "0"))
    naive = datetime(
        int(match["y"]),
        int(match["mo"]),
        int(match["d"]),
        int(match["h"] or 0),
        int(match["mi"] or 0),
        int(match["s"] or 0),
        micros,
    )
    return (naive - _utc_offset(match["tz"])).replace(tzinfo=UTC)


def _utc_offset(zone: str | None) -> timedelta:
    """The offset of a ``Z`` / ``+hh`` / ``+hhmm`` / ``+hh:mm`` suffix; none means UTC."""
    if not zone or zone == "Z":
        return timedelta(0)
    digits = zone[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    return -offset if zone[0] == "-" else offset


def format_date(moment: datetime) -> str:
    """TOPdesk's default output format, ``2026-11-23T19:10:00.000+0000`` (no colon, §6.2).

    The fixed width also makes these strings sort chronologically, which the FIQL filter uses.
    """
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}+0000"


def _format_iso8601(text: str) -> str:
    """The ``dateFormat=iso8601`` form of a stored date, ``2026-11-23T19:10:00Z`` (§2.4)."""
    return f"{parse_date(text):%Y-%m-%dT%H:%M:%S}Z"


_BR_RE = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG_RE = re.compile(r"<[^>]*>")


def html_to_plain(text: str) -> str:
    """Plain text of the small HTML subset TOPdesk accepts in request/action (§2.3).

    Line breaks must be sent as ``<br>``; everything else that looks like a tag is dropped.
    """
    return html.unescape(_TAG_RE.sub("", _BR_RE.sub("\n", text)))


def _memo_header(moment: datetime, author: str) -> str:
    """The header line TOPdesk puts above each request entry (§2.2, §6.2); always UTC here."""
    return f"{moment.astimezone(UTC):%d-%m-%Y %H:%M} [GMT +0:00] {author}: "


class _Clock:
    """Hands out strictly increasing millisecond timestamps.

    Every write then gets its own ``modificationDate``, so a poller using
    ``modificationDate=gt=<last seen>`` can never miss a change made in the same millisecond.
    Writers read it inside the store's transaction, so timestamp order is commit order.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = datetime.min.replace(tzinfo=UTC)

    def now(self) -> datetime:
        with self._lock:
            now = datetime.now(UTC)
            now = now.replace(microsecond=now.microsecond // 1000 * 1000)
            if now <= self._last:
                now = self._last + timedelta(milliseconds=1)
            self._last = now
            return now


# --------------------------------------------------------------------------------------------
# Seeded search lists (the service centre's TOPdesk configuration, §3)
# --------------------------------------------------------------------------------------------

_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:saksflyt:topdesk-simulator")


def _stable_id(kind: str, name: str) -> str:
    """The same id for the same seeded name in every simulator run and every db file."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{kind}:{name}"))


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        return False
    return True


@dataclass(frozen=True)
class _Choice:
    id: str
    name: str
    parent: _Choice | None = None

    def ref(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name}


class _Choices:
    """A TOPdesk search list, referenced as ``{"id": ...}`` or ``{"name": ...}`` (§2.3)."""

    def __init__(self, field_name: str, items: list[_Choice]) -> None:
        self.field_name = field_name
        self.items = items
        self._by_id = {item.id: item for item in items}
        self._by_name = {item.name.casefold(): item for item in items}

    @classmethod
    def named(cls, field_name: str, names: tuple[str, ...]) -> _Choices:
        return cls(field_name, [_Choice(_stable_id(field_name, n), n) for n in names])

    def by_name(self, name: str) -> _Choice:
        return self._by_name[name.casefold()]

    def by_id(self, item_id: str) -> _Choice | None:
        return self._by_id.get(item_id.lower())

    def resolve(self, value: Any, *, allow_name: bool = True) -> _Choice:
        """Resolve a reference: 400 if malformed or an unknown name, 404 if an unknown id (§1.4)."""
        name = self.field_name
        keys = ("id", "name") if allow_name else ("id",)
        if not isinstance(value, dict) or not value or set(value) - set(keys):
            raise ApiError(400, f"'{name}' must be an object with {' or '.join(keys)}")
        if len(value) > 1:
            raise ApiError(400, f"Give either '{name}.id' or '{name}.name', not both")
        if "id" in value:
            if not isinstance(value["id"], str) or not _is_uuid(value["id"]):
                raise ApiError(400, f"'{name}.id' cannot be parsed")
            if value["id"].lower() not in self._by_id:
                raise ApiError(404, f"No {name} with id '{value['id']}'")
            return self._by_id[value["id"].lower()]
        if not isinstance(value["name"], str) or value["name"].casefold() not in self._by_name:
            raise ApiError(400, f"'{name}.name' is not a known value: {value['name']!r}")
        return self._by_name[value["name"].casefold()]

    def listing(self) -> list[dict[str, Any]]:
        return [item.ref() for item in self.items]


@dataclass(frozen=True)
class _StatusInfo:
    """Settings of a processing status; ``processing_state`` says what it does to the flags (§3)."""

    name: str
    processing_state: Literal["open", "onHold", "completed", "closed"]
    response: bool
    default: bool = False


REGISTERED = "Registrert"
ON_HOLD = "På vent"
UPDATED_BY_CALLER = "Oppdatert av bruker"
COMPLETED = "Fullført"
CLOSED = "Lukket"
REOPENED_BY_CALLER = "Gjenåpnet av bruker"

_STATUS_INFO = (
    _StatusInfo(REGISTERED, "open", False, default=True),
    _StatusInfo("Tildelt", "open", False),
    _StatusInfo("I arbeid", "open", True),
    _StatusInfo("Venter på bruker", "open", True),
    _StatusInfo(ON_HOLD, "onHold", True),
    _StatusInfo(UPDATED_BY_CALLER, "open", False),
    _StatusInfo(COMPLETED, "completed", True),
    _StatusInfo(CLOSED, "closed", True),
    _StatusInfo(REOPENED_BY_CALLER, "open", False),
)
_STATUS_BY_NAME = {info.name: info for info in _STATUS_INFO}
_STATUSES = _Choices.named("processingStatus", tuple(info.name for info in _STATUS_INFO))

_CATEGORIES = _Choices.named(
    "category",
    (
        "Nyansettelse",
        "Forlengelse",
        "Pensjon",
        "Fratredelse",
        "Oppsigelse",
        "Andre endringer arbeidsforhold",
    ),
)
_SUBCATEGORY_NAMES = {
    "Pensjon": ("Alderspensjon", "Delvis alderspensjon", "AFP", "Delvis AFP"),
    "Fratredelse": (
        "Midlertidig stilling utløper",
        "Manglende finansiering",
        "Hovedstilling annet sted",
        "Dødsfall",
    ),
}
_SUBCATEGORIES = _Choices(
    "subcategory",
    [
        _Choice(_stable_id("subcategory", f"{parent}/{name}"), name, _CATEGORIES.by_name(parent))
        for parent, names in _SUBCATEGORY_NAMES.items()
        for name in names
    ],
)
_ENTRY_TYPES = _Choices.named("entryType", ("Skjema", "E-post", "Portal"))
_CALL_TYPES = _Choices.named("callType", ("Endring", "Spørsmål", "Melding"))
_OPERATOR_GROUPS = _Choices.named(
    "operatorGroup",
    (
        "Tjenestesenteret for lønn og HR",
        # The service agreement's escalation ladder, lowest rung first.
        "Brukerstøtte lønn og HR",
        "Saksbehandling lønn og HR",
        "Prosessansvarlig lønn og HR",
        "Leder Tjenestesenteret for lønn og HR",
    ),
)
_ARCHIVING_REASONS = _Choices.named("archivingReason", ("Ferdigbehandlet", "Feilregistrert"))
_BRANCH = {
    "id": _stable_id("branch", "NTNU"),
    "name": "NTNU",
    "clientReferenceNumber": "",
    "timeZone": "Europe/Oslo",
    "extraA": None,
    "extraB": None,
}


def _status_listing() -> list[dict[str, Any]]:
    """``/incidents/statuses``: onHold, processingState and response are strings (§3)."""
    return [
        {
            "id": _STATUSES.by_name(info.name).id,
            "name": info.name,
            "onHold": str(info.processing_state == "onHold").lower(),
            "processingState": info.processing_state,
            "response": str(info.response).lower(),
            "default": info.default,
        }
        for info in _STATUS_INFO
    ]


def _subcategory_listing() -> list[dict[str, Any]]:
    return [
        {**item.ref(), "category": item.parent.ref() if item.parent else None}
        for item in _SUBCATEGORIES.items
    ]


# --------------------------------------------------------------------------------------------
# Persistence
# --------------------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL,
    number_key TEXT NOT NULL UNIQUE,
    seq INTEGER NOT NULL,
    archived INTEGER NOT NULL DEFAULT 0,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    incident_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_by_incident ON entries (incident_id, kind, seq);
CREATE TABLE IF NOT EXISTS persons (
    id TEXT PRIMARY KEY,
    email_key TEXT UNIQUE,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    number TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    response_code INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""


class _Tx:
    """One SQLite transaction, with the queries the simulator needs; documents are JSON."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.after_commit: list[Callable[[], None]] = []

    # incidents --------------------------------------------------------------------------
    def incident(self, by: str, key: str) -> dict[str, Any] | None:
        column, value = ("id", key.lower()) if by == "id" else ("number_key", key.casefold())
        row = self.conn.execute(
            f"SELECT doc FROM incidents WHERE {column} = ?", (value,)
        ).fetchone()
        return None if row is None else json.loads(row[0])

    def incidents(self, include_archived: bool) -> list[dict[str, Any]]:
        sql = "SELECT doc FROM incidents" + ("" if include_archived else " WHERE archived = 0")
        return [json.loads(row[0]) for row in self.conn.execute(sql + " ORDER BY seq")]

    def save_incident(self, doc: dict[str, Any], seq: int = 0) -> None:
        self.conn.execute(
            "INSERT INTO incidents (id, number, number_key, seq, archived, doc)"
            " VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(id) DO UPDATE SET archived = excluded.archived, doc = excluded.doc",
            (
                doc["id"],
                doc["number"],
                doc["number"].casefold(),
                seq,
                int(doc["status"].endswith("Archived")),
                json.dumps(doc, ensure_ascii=False),
            ),
        )

    def next_incident_seq(self) -> int:
        """The per-db number counter; kept in the db so numbers continue after a restart."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'incident_seq'").fetchone()
        seq = (int(row[0]) if row else 0) + 1
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES ('incident_seq', ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (str(seq),),
        )
        return seq

    # progress trail / request entries ----------------------------------------------------
    def add_entry(self, incident_id: str, kind: str, doc: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT INTO entries (id, incident_id, kind, doc) VALUES (?, ?, ?, ?)",
            (doc["id"], incident_id, kind, json.dumps(doc, ensure_ascii=False)),
        )

    def entries(self, incident_id: str, kind: str) -> list[dict[str, Any]]:
        """Entries of one kind, newest first as TOPdesk lists them (§2.2, §2.6)."""
        rows = self.conn.execute(
            "SELECT doc FROM entries WHERE incident_id = ? AND kind = ? ORDER BY seq DESC",
            (incident_id, kind),
        )
        return [json.loads(row[0]) for row in rows]

    # persons -----------------------------------------------------------------------------
    def person(self, *, person_id: str | None = None, email: str | None = None) -> dict | None:
        if person_id is not None:
            query, arg = "SELECT doc FROM persons WHERE id = ?", person_id.lower()
        else:
            query, arg = "SELECT doc FROM persons WHERE email_key = ?", (email or "").casefold()
        row = self.conn.execute(query, (arg,)).fetchone()
        return None if row is None else json.loads(row[0])

    def add_person(self, doc: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT INTO persons (id, email_key, doc) VALUES (?, ?, ?)",
            (doc["id"], doc["email"].casefold(), json.dumps(doc, ensure_ascii=False)),
        )

    # webhook outbox ----------------------------------------------------------------------
    def enqueue(self, event: str, incident: dict[str, Any], body: str, status: str) -> None:
        now = format_date(datetime.now(UTC))
        self.conn.execute(
            "INSERT INTO outbox (event, incident_id, number, body, status, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (event, incident["id"], incident["number"], body, status, now, now),
        )

    def next_pending_delivery(self) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT * FROM outbox WHERE status = 'pending' ORDER BY id LIMIT 1"
        ).fetchone()
        return None if row is None else dict(row)

    def record_attempt(
        self, delivery_id: int, status: str, attempts: int, code: int | None, error: str | None
    ) -> None:
        self.conn.execute(
            "UPDATE outbox SET status = ?, attempts = ?, response_code = ?, last_error = ?,"
            " updated_at = ? WHERE id = ?",
            (status, attempts, code, error, format_date(datetime.now(UTC)), delivery_id),
        )

    def deliveries(self) -> list[dict[str, Any]]:
        return [dict(row) for row in self.conn.execute("SELECT * FROM outbox ORDER BY id")]


class _Store:
    """The SQLite file behind a simulator.

    The HTTP server is threaded, so every operation opens its own short-lived connection and
    runs under one lock: simple, safe, and nothing is left open when a server thread outlives
    ``stop()``.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        with self._connect() as conn:
            conn.executescript(_SCHEMA)

    def _connect(self) -> contextlib.closing[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        return contextlib.closing(conn)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[_Tx]:
        """Run a block atomically; callbacks registered on the Tx run after the commit."""
        with self._lock, self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            tx = _Tx(conn)
            try:
                yield tx
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        for callback in tx.after_commit:
            callback()


# --------------------------------------------------------------------------------------------
# Request validation helpers
# --------------------------------------------------------------------------------------------


def _check_fields(body: dict[str, Any], allowed: frozenset[str]) -> None:
    """Unknown body fields are a documented 400 (§1.4, §7.9); name the first one."""
    for key in body:
        if key not in allowed:
            raise ApiError(400, f"Unknown field '{key}'")


def _text(body: dict[str, Any], key: str, max_length: int | None = None) -> str:
    """A string field; None counts as empty. Over-long strings are a 400 (§2.3)."""
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApiError(400, f"'{key}' must be a string")
    if max_length is not None and len(value) > max_length:
        raise ApiError(400, f"'{key}' is longer than {max_length} characters")
    return value


def _flag(body: dict[str, Any], key: str) -> bool:
    """A boolean field; "true" as a string is a format error in TOPdesk too (§1.4)."""
    value = body[key]
    if not isinstance(value, bool):
        raise ApiError(400, f"'{key}' must be true or false")
    return value


def _date_field(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"'{key}' must be a date string")
    try:
        return format_date(parse_date(value))
    except ValueError:
        raise ApiError(400, f"'{key}' cannot be parsed as a date: {value!r}") from None


def _optional_ref(choices: _Choices, value: Any, *, allow_name: bool = True) -> dict | None:
    return None if value is None else choices.resolve(value, allow_name=allow_name).ref()


_OPTIONAL_FIELD_DEFAULTS: dict[str, Any] = {
    f"{kind}{i}": default
    for i in range(1, 6)
    for kind, default in (
        ("boolean", False),
        ("number", 0.0),
        ("text", ""),
        ("memo", None),
        ("date", None),
        ("searchlist", None),
    )
}


def _optional_fields(current: dict[str, Any], value: Any, key: str) -> dict[str, Any]:
    """Merge ``optionalFields1/2`` into the stored set, checking each value's type (§2.2)."""
    if not isinstance(value, dict):
        raise ApiError(400, f"'{key}' must be an object")
    merged = dict(current)
    for name, item in value.items():
        if name not in _OPTIONAL_FIELD_DEFAULTS:
            raise ApiError(400, f"Unknown field '{key}.{name}'")
        merged[name] = _optional_field_value(f"{key}.{name}", name, item)
    return merged


def _optional_field_value(path: str, name: str, item: Any) -> Any:
    kind = name.rstrip("12345")
    if kind == "boolean":
        return _flag({path: item}, path)
    if kind == "number":
        if isinstance(item, bool) or not isinstance(item, int | float):
            raise ApiError(400, f"'{path}' must be a number")
        return float(item)
    if kind == "memo" and item is None:
        return None
    if kind in ("text", "memo"):
        return _text({path: item}, path)
    if kind == "date":
        return _date_field({path: item}, path)
    if item is None:
        return None
    if not isinstance(item, dict) or len(item) != 1 or not set(item) <= {"id", "name"}:
        raise ApiError(400, f"'{path}' must be an object with id or name")
    name_value = item.get("name")
    return {"id": item.get("id") or _stable_id("searchlist", str(name_value)), "name": name_value}


def _int_param(params: dict[str, str], key: str, default: int, low: int, high: int) -> int:
    raw = params.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"'{key}' must be a number") from None
    if not low <= value <= high:
        raise ApiError(400, f"'{key}' must be between {low} and {high}")
    return value


# --------------------------------------------------------------------------------------------
# FIQL (§6.4)
# --------------------------------------------------------------------------------------------

_FIQL_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "id": ("text", ("id",)),
    "number": ("text", ("number",)),
    "status": ("text", ("status",)),
    "briefDescription": ("text", ("briefDescription",)),
    "externalNumber": ("text", ("externalNumber",)),
    "processingStatus.id": ("text", ("processingStatus", "id")),
    "processingStatus.name": ("text", ("processingStatus", "name")),
    "category.id": ("text", ("category", "id")),
    "category.name": ("text", ("category", "name")),
    "subcategory.id": ("text", ("subcategory", "id")),
    "subcategory.name": ("text", ("subcategory", "name")),
    "entryType.name": ("text", ("entryType", "name")),
    "callType.name": ("text", ("callType", "name")),
    "operatorGroup.id": ("text", ("operatorGroup", "id")),
    "operatorGroup.name": ("text", ("operatorGroup", "name")),
    "caller.id": ("text", ("caller", "id")),
    "caller.email": ("text", ("caller", "email")),
    "caller.dynamicName": ("text", ("caller", "dynamicName")),
    "completed": ("bool", ("completed",)),
    "closed": ("bool", ("closed",)),
    "onHold": ("bool", ("onHold",)),
    "creationDate": ("date", ("creationDate",)),
    "modificationDate": ("date", ("modificationDate",)),
    "callDate": ("date", ("callDate",)),
    "completedDate": ("date", ("completedDate",)),
    "closedDate": ("date", ("closedDate",)),
}
_FIQL_ORDERING = ("=gt=", "=ge=", "=lt=", "=le=")
_FIQL_OPERATORS = ("==", "!=", "=in=", "=out=", "=sw=", *_FIQL_ORDERING)
_FIQL_SELECTOR = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_FIQL_OPERATOR = re.compile(r"==|!=|=[a-z]+=")
_FIQL_BARE_VALUE = re.compile(r"[^'\"();,=!~<>\s]+")


def _dig(doc: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = doc
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


@dataclass(frozen=True)
class _Comparison:
    """One ``selector<op>value(s)`` term, with its values already converted to stored form."""

    path: tuple[str, ...]
    op: str
    values: tuple[Any, ...]

    def matches(self, doc: dict[str, Any]) -> bool:
        actual = _dig(doc, self.path)
        if self.op in ("==null", "!=null"):
            return (actual is None) == (self.op == "==null")
        if actual is None:
            return self.op in ("!=", "=out=")
        first = self.values[0]
        checks: dict[str, Callable[[], bool]] = {
            "==": lambda: actual == first,
            "!=": lambda: actual != first,
            "=in=": lambda: actual in self.values,
            "=out=": lambda: actual not in self.values,
            "=sw=": lambda: str(actual).startswith(str(first)),
            "=gt=": lambda: actual > first,
            "=ge=": lambda: actual >= first,
            "=lt=": lambda: actual < first,
            "=le=": lambda: actual <= first,
        }
        return checks[self.op]()


@dataclass(frozen=True)
class _Junction:
    """``;`` (all) or ``,`` (any) over sub-expressions."""

    all_of: bool
    parts: tuple[_Comparison | _Junction, ...]

    def matches(self, doc: dict[str, Any]) -> bool:
        test = all if self.all_of else any
        return test(part.matches(doc) for part in self.parts)


class _FiqlParser:
    """Recursive-descent parser: ``,`` is OR, ``;`` is AND and binds tighter, brackets group."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> _Comparison | _Junction:
        node = self._or()
        if self.pos != len(self.text):
            self._fail(f"unexpected {self.text[self.pos]!r} at position {self.pos}")
        return node

    def _fail(self, detail: str) -> None:
        raise ApiError(400, f"Error parsing query: {detail}")

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _or(self) -> _Comparison | _Junction:
        parts = [self._and()]
        while self._peek() == ",":
            self.pos += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else _Junction(False, tuple(parts))

    def _and(self) -> _Comparison | _Junction:
        parts = [self._primary()]
        while self._peek() == ";":
            self.pos += 1
            parts.append(self._primary())
        return parts[0] if len(parts) == 1 else _Junction(True, tuple(parts))

    def _primary(self) -> _Comparison | _Junction:
        if self._peek() != "(":
            return self._comparison()
        self.pos += 1
        node = self._or()
        if self._peek() != ")":
            self._fail(f"missing ')' at position {self.pos}")
        self.pos += 1
        return node

    def _match(self, pattern: re.Pattern[str], what: str) -> str:
        found = pattern.match(self.text, self.pos)
        if found is None:
            self._fail(f"expected {what} at position {self.pos}")
            raise AssertionError  # unreachable; keeps type checkers happy
        self.pos = found.end()
        return found.group()

    def _comparison(self) -> _Comparison:
        selector = self._match(_FIQL_SELECTOR, "a field name")
        operator = self._match(_FIQL_OPERATOR, "an operator")
        if selector not in _FIQL_FIELDS:
            self._fail(f"unknown field '{selector}'")
        if operator not in _FIQL_OPERATORS:
            self._fail(f"unknown operator '{operator}'")
        values = self._arguments()
        return _compile_comparison(selector, operator, values)

    def _arguments(self) -> list[tuple[str, bool]]:
        """Values as (text, was_quoted); ``(a,b)`` only after =in=/=out=, checked later."""
        if self._peek() != "(":
            return [self._value()]
        self.pos += 1
        values = [self._value()]
        while self._peek() == ",":
            self.pos += 1
            values.append(self._value())
        if self._peek() != ")":
            self._fail(f"missing ')' at position {self.pos}")
        self.pos += 1
        return values

    def _value(self) -> tuple[str, bool]:
        quote = self._peek()
        if quote not in ("'", '"'):
            return self._match(_FIQL_BARE_VALUE, "a value"), False
        chars: list[str] = []
        self.pos += 1
        while self.pos < len(self.text) and self.text[self.pos] != quote:
            if self.text[self.pos] == "\\" and self.pos + 1 < len(self.text):
                self.pos += 1
            chars.append(self.text[self.pos])
            self.pos += 1
        if self._peek() != quote:
            self._fail("unterminated quoted value")
        self.pos += 1
        return "".join(chars), True


def _compile_comparison(selector: str, operator: str, raw: list[tuple[str, bool]]) -> _Comparison:
    """Check a term against its field type and convert values to how they are stored."""
    kind, path = _FIQL_FIELDS[selector]
    if len(raw) == 1 and raw[0] == ("null", False):
        if operator not in ("==", "!="):
            raise ApiError(400, f"Error parsing query: null only works with == and != ({selector})")
        return _Comparison(path, operator + "null", ())
    if len(raw) > 1 and operator not in ("=in=", "=out="):
        raise ApiError(400, "Error parsing query: a list only works with =in= and =out=")
    if kind == "bool" and operator not in ("==", "!=", "=in=", "=out="):
        raise ApiError(400, f"Error parsing query: {operator} does not work on '{selector}'")
    if operator == "=sw=" and kind != "text":
        raise ApiError(400, f"Error parsing query: =sw= only works on text ('{selector}')")
    values = tuple(_fiql_value(kind, selector, text) for text, _ in raw)
    return _Comparison(path, operator, values)


def _fiql_value(kind: str, selector: str, text: str) -> Any:
    if kind == "bool":
        if text.lower() not in ("true", "false"):
            raise ApiError(400, f"Error parsing query: '{selector}' needs true or false")
        return text.lower() == "true"
    if kind == "date":
        try:
            return format_date(parse_date(text))
        except ValueError:
            raise ApiError(400, f"Error parsing query: '{text}' is not a date") from None
    return text


def parse_fiql(text: str) -> _Comparison | _Junction:
    """Parse a FIQL ``query`` parameter; any error is a 400 ``Error parsing query`` (§1.4)."""
    return _FiqlParser(text).parse()


def _parse_sort(text: str) -> list[tuple[tuple[str, ...], bool]]:
    """``sort=modificationDate:asc,creationDate:desc`` → [(path, descending)] (§2.4)."""
    keys = []
    for item in text.split(","):
        name, _, direction = item.strip().partition(":")
        direction = direction.lower() or "asc"
        if name not in _FIQL_FIELDS or direction not in ("asc", "desc"):
            raise ApiError(400, f"Error parsing sort: {item!r}")
        keys.append((_FIQL_FIELDS[name][1], direction == "desc"))
    return keys


def _sort_docs(docs: list[dict[str, Any]], keys: list[tuple[tuple[str, ...], bool]]) -> None:
    """Stable multi-key sort, applied last key first; missing values sort first."""

    def sort_key(path: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[bool, Any]]:
        return lambda doc: (_dig(doc, path) is not None, _dig(doc, path))

    for path, descending in reversed(keys):
        docs.sort(key=sort_key(path), reverse=descending)


# --------------------------------------------------------------------------------------------
# Incidents
# --------------------------------------------------------------------------------------------

_SHARED_FIELDS = frozenset(
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
        "optionalFields1",
        "optionalFields2",
    }
)
_CREATE_FIELDS = _SHARED_FIELDS | {"callerLookup", "caller"}
_UPDATE_FIELDS = _SHARED_FIELDS | {
    "completed",
    "completedDate",
    "closed",
    "closedDate",
    "onHold",
    "callDate",
}
_DATE_KEYS = (
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


class _Outbox:
    """Puts webhook events into the outbox, in the same transaction as the write they report."""

    def __init__(self, config: WebhookConfig, notify: Callable[[], None]) -> None:
        self._config = config
        self._notify = notify
        self._lock = threading.Lock()
        self._drop_next = 0

    def drop_next(self, count: int) -> None:
        with self._lock:
            self._drop_next = count

    def _take_drop(self) -> bool:
        with self._lock:
            if self._drop_next > 0:
                self._drop_next -= 1
                return True
            return False

    def enqueue(self, tx: _Tx, event: str, incident: dict[str, Any]) -> None:
        if self._config.url is None:
            return
        values = {
            "number": incident["number"],
            "id": incident["id"],
            "event": event,
            "processingStatus": incident["processingStatus"]["name"],
            "modificationDate": incident["modificationDate"],
        }
        escaped = {
            key: json.dumps(value, ensure_ascii=False)[1:-1] for key, value in values.items()
        }
        body = string.Template(self._config.body_template).safe_substitute(escaped)
        # A dropped event is recorded but never sent: what a lost TOPdesk notification looks like.
        status = "dropped" if self._take_drop() else "pending"
        tx.enqueue(event, incident, body, status)
        tx.after_commit.append(self._notify)


class _Incidents:
    """The incident rules: create, update, archive, caller replies, progress trail, listing."""

    def __init__(self, store: _Store, clock: _Clock, login: str, outbox: _Outbox) -> None:
        self._store = store
        self._clock = clock
        self._outbox = outbox
        self.operator = {"id": _stable_id("operator", login), "name": login}

    # reading -----------------------------------------------------------------------------
    def get(self, by: str, key: str) -> dict[str, Any]:
        with self._store.transaction() as tx:
            return render_incident(self._load(tx, by, key))

    def _load(self, tx: _Tx, by: str, key: str) -> dict[str, Any]:
        doc = tx.incident(by, key) if by == "number" or _is_uuid(key) else None
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
        _check_fields(body, _CREATE_FIELDS)
        with self._store.transaction() as tx:
            now = self._clock.now()
            doc = self._new_doc(tx, body, now)
            self._apply_shared(doc, body)
            status = body.get("processingStatus")
            self._set_status(doc, _STATUSES.resolve(status) if status else None, now)
            seq = tx.next_incident_seq()
            doc["number"] = f"I{now:%y%m}-{seq:04d}"
            self._add_texts(tx, doc, body, now, self.operator, person=None)
            tx.save_incident(doc, seq)
            self._outbox.enqueue(tx, "incident_created", doc)
        return render_incident(doc)

    def _new_doc(self, tx: _Tx, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        stamp = format_date(now)
        return {
            "id": str(uuid.uuid4()),
            "status": "firstLine",
            "number": "",
            "request": "",
            "caller": self._caller(tx, body),
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
            "processingStatus": _STATUSES.by_name(REGISTERED).ref(),
            "responded": False,
            "responseDate": None,
            "completed": False,
            "completedDate": None,
            "closed": False,
            "closedDate": None,
            "closureCode": None,
            "escalationStatus": None,
            "callDate": stamp,
            "creator": dict(self.operator),
            "creationDate": stamp,
            "modifier": dict(self.operator),
            "modificationDate": stamp,
            "archivingReason": None,
            "majorCall": False,
            "mainIncident": None,
            "partialIncidents": [],
            "optionalFields1": dict(_OPTIONAL_FIELD_DEFAULTS),
            "optionalFields2": dict(_OPTIONAL_FIELD_DEFAULTS),
            "externalLinks": [],
        }

    def _caller(self, tx: _Tx, body: dict[str, Any]) -> dict[str, Any] | None:
        """``callerLookup`` (registered person) or ``caller`` (unregistered), not both (§2.3)."""
        lookup, caller = body.get("callerLookup"), body.get("caller")
        if lookup is not None and caller is not None:
            raise ApiError(400, "Give either 'callerLookup' or 'caller', not both")
        if lookup is not None:
            return self._registered_caller(tx, lookup)
        if caller is None:
            return None
        if not isinstance(caller, dict) or not caller.get("dynamicName"):
            raise ApiError(400, "'caller' needs a 'dynamicName'")
        for key in caller:
            if key not in _CALLER_KEYS:
                raise ApiError(400, f"Unknown field 'caller.{key}'")
        values = {key: _text(caller, key, limit) for key, limit in _CALLER_KEYS.items()}
        return {"id": None, **values, "branch": None, "department": None, "budgetHolder": None}

    def _registered_caller(self, tx: _Tx, lookup: Any) -> dict[str, Any]:
        """Exactly one of id/email. An email not seen before registers the person (simulator
        convenience: the real instance needs an existing person with the Caller flag, §3.1)."""
        if not isinstance(lookup, dict) or len(lookup) != 1 or not set(lookup) <= {"id", "email"}:
            raise ApiError(400, "'callerLookup' needs exactly one of 'id' or 'email'")
        if "id" in lookup:
            person_id = lookup["id"]
            person = tx.person(person_id=person_id) if _is_uuid(str(person_id)) else None
            if person is None:
                raise ApiError(400, "'callerLookup.id' cannot be parsed")
        else:
            email = _text(lookup, "email", 100).strip()
            if "@" not in email:
                raise ApiError(400, "'callerLookup.email' is not an e-mail address")
            person = tx.person(email=email) or self._register_person(tx, email)
        return {
            "id": person["id"],
            "dynamicName": person["dynamicName"],
            "email": person["email"],
            "mobileNumber": "",
            "phoneNumber": "",
            "branch": dict(_BRANCH),
            "department": None,
            "budgetHolder": None,
        }

    @staticmethod
    def _register_person(tx: _Tx, email: str) -> dict[str, Any]:
        local = email.split("@", 1)[0]
        name = " ".join(part.capitalize() for part in re.split(r"[._-]+", local) if part)
        person = {
            "id": _stable_id("person", email.casefold()),
            "dynamicName": name or email,
            "email": email,
            "isCaller": True,
            "archived": False,
        }
        tx.add_person(person)
        return person

    # update ------------------------------------------------------------------------------
    def update(self, by: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
        for forbidden in ("status", "mainIncident"):
            if forbidden in body:
                raise ApiError(400, f"'{forbidden}' cannot be set with an update")
        _check_fields(body, _UPDATE_FIELDS)
        with self._store.transaction() as tx:
            now = self._clock.now()
            doc = self._writable(tx, by, key)
            self._apply_shared(doc, body)
            if "processingStatus" in body:
                self._set_status(doc, _STATUSES.resolve(body["processingStatus"]), now)
            self._apply_flags(doc, body, now)
            if "callDate" in body:
                doc["callDate"] = _date_field(body, "callDate")
            self._add_texts(tx, doc, body, now, self.operator, person=None)
            self._touch(doc, now, self.operator)
            tx.save_incident(doc)
        return render_incident(doc)

    def _writable(self, tx: _Tx, by: str, key: str) -> dict[str, Any]:
        doc = self._load(tx, by, key)
        if doc["status"].endswith("Archived"):
            raise ApiError(403, "The incident is archived")  # §2.5
        return doc

    def _apply_shared(self, doc: dict[str, Any], body: dict[str, Any]) -> None:
        """Fields create and update have in common; validation errors roll the write back."""
        if "briefDescription" in body:
            doc["briefDescription"] = _text(body, "briefDescription", 80)
        if "externalNumber" in body:
            doc["externalNumber"] = _text(body, "externalNumber", 60)
        self._apply_categories(doc, body)
        for key, choices in (("callType", _CALL_TYPES), ("entryType", _ENTRY_TYPES)):
            if key in body:
                doc[key] = _optional_ref(choices, body[key])
        if "operatorGroup" in body:  # id only (§2.3)
            doc["operatorGroup"] = _optional_ref(
                _OPERATOR_GROUPS, body["operatorGroup"], allow_name=False
            )
        for key in ("optionalFields1", "optionalFields2"):
            if key in body:
                doc[key] = _optional_fields(doc[key], body[key], key)

    @staticmethod
    def _apply_categories(doc: dict[str, Any], body: dict[str, Any]) -> None:
        """A subcategory must lie in the category; alone it fills the category in (§2.3)."""
        if "category" in body:
            doc["category"] = _optional_ref(_CATEGORIES, body["category"])
            current = doc["subcategory"] and _SUBCATEGORIES.by_id(doc["subcategory"]["id"])
            if current and (current.parent is None or current.parent.ref() != doc["category"]):
                doc["subcategory"] = None  # a new category invalidates the old subcategory
        if body.get("subcategory") is None:
            if "subcategory" in body:
                doc["subcategory"] = None
            return
        sub = _SUBCATEGORIES.resolve(body["subcategory"])
        parent = sub.parent.ref() if sub.parent else None
        if "category" in body and doc["category"] != parent:
            raise ApiError(400, "The subcategory does not belong to the category")
        doc["category"], doc["subcategory"] = parent, sub.ref()

    @staticmethod
    def _set_status(doc: dict[str, Any], choice: _Choice | None, now: datetime) -> None:
        """Set the processing status and the flags its processing state implies (§3 INFERENCE):
        Fullført completes, Lukket closes (and completes), På vent holds, open statuses reopen."""
        if choice is None:
            return
        doc["processingStatus"] = choice.ref()
        state = _STATUS_BY_NAME[choice.name].processing_state
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
            done = _flag(body, "completed")
            doc["completed"] = done
            doc["completedDate"] = (doc["completedDate"] or stamp) if done else None
            if not done:
                doc.update(closed=False, closedDate=None)
        if "closed" in body:
            closed = _flag(body, "closed")
            doc["closed"] = closed
            doc["closedDate"] = (doc["closedDate"] or stamp) if closed else None
            if closed and not doc["completed"]:
                doc.update(completed=True, completedDate=stamp)
        for key in ("completedDate", "closedDate"):
            if body.get(key) is not None:
                doc[key] = _date_field(body, key)
        if "onHold" in body:
            held = _flag(body, "onHold")
            doc["onHold"] = held
            doc["onHoldDate"] = (doc["onHoldDate"] or stamp) if held else None

    def _add_texts(
        self,
        tx: _Tx,
        doc: dict[str, Any],
        body: dict[str, Any],
        now: datetime,
        operator: dict[str, Any] | None,
        person: dict[str, Any] | None,
    ) -> None:
        """``request`` appends a request entry, ``action`` a progress-trail action (§2.5)."""
        action = _text(body, "action")
        invisible = body.get("actionInvisibleForCaller", False)
        if not isinstance(invisible, bool):
            raise ApiError(400, "'actionInvisibleForCaller' must be true or false")
        if action:
            entry = _entry(action, now, operator, person)
            tx.add_entry(doc["id"], "action", {**entry, "invisibleForCaller": invisible})
        request = _text(body, "request")
        if request:
            tx.add_entry(doc["id"], "request", _entry(request, now, operator, person))
            doc["request"] = _request_text(tx.entries(doc["id"], "request"))

    @staticmethod
    def _touch(doc: dict[str, Any], now: datetime, who: dict[str, Any]) -> None:
        """Every write moves modificationDate and modifier (§6.1) — what pollers rely on."""
        doc["modificationDate"] = format_date(now)
        doc["modifier"] = dict(who)

    # archive -----------------------------------------------------------------------------
    def archive(self, by: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
        """``PUT .../archive`` with an optional archiving reason (§2.1); archived is read-only."""
        _check_fields(body, frozenset({"id", "name"}))
        reason = _ARCHIVING_REASONS.resolve(body) if body else _ARCHIVING_REASONS.items[0]
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
            self._set_status(doc, _STATUSES.by_name(status), now)
            self._touch(doc, now, person)
            tx.save_incident(doc)
            self._outbox.enqueue(tx, "reopened" if reopened else "caller_replied", doc)
        return render_incident(doc)


def _entry(
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


def _request_text(entries: list[dict[str, Any]]) -> str:
    """The incident's ``request``: every request entry as plain text, newest first (§2.2)."""
    parts = []
    for entry in entries:
        author = (entry["operator"] or entry["person"] or {}).get("name", "")
        header = _memo_header(parse_date(entry["entryDate"]), author)
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


def _action_view(entry: dict[str, Any]) -> dict[str, Any]:
    """``/actions`` items have the Action shape, which has no ``user`` (§2.6)."""
    return {key: value for key, value in entry.items() if key != "user"}


def _request_view(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in entry.items() if key != "invisibleForCaller"}


# --------------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------------


@dataclass(eq=False)
class _ActiveFault:
    rule: FaultRule
    remaining: int | None


class _FaultInjector:
    """Fault rules in injection order; each hit counts a rule down until it disappears."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: list[_ActiveFault] = []

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._active.append(_ActiveFault(rule, rule.times))

    def clear(self) -> None:
        with self._lock:
            self._active.clear()

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{**asdict(a.rule), "remaining": a.remaining} for a in self._active]

    def take(self, method: str, path: str) -> list[FaultRule]:
        """Rules hitting this request: any latency rules, then at most one status/drop rule.

        Latency stacks with a later status or drop rule, so "slow, then 503" can be staged.
        """
        hits: list[FaultRule] = []
        with self._lock:
            for active in list(self._active):
                if not active.rule.matches(method, path):
                    continue
                hits.append(active.rule)
                if active.remaining is not None:
                    active.remaining -= 1
                    if active.remaining <= 0:
                        self._active.remove(active)
                if active.rule.kind != "latency":
                    break
        return hits


def _fault_rule_from_json(value: Any) -> FaultRule:
    if not isinstance(value, dict):
        raise ApiError(400, "A fault rule must be a JSON object")
    known = {f.name for f in fields(FaultRule)}
    unknown = set(value) - known
    if unknown:
        raise ApiError(400, f"Unknown field '{sorted(unknown)[0]}'")
    try:
        return FaultRule(**value)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, f"Invalid fault rule: {exc}") from None


# --------------------------------------------------------------------------------------------
# Webhook delivery
# --------------------------------------------------------------------------------------------


class _WebhookDeliverer:
    """Posts outbox events one at a time, oldest first, with retries and backoff.

    Strict order mirrors one action sequence firing per event; state lives in the outbox table,
    so an event still pending at ``stop()`` is delivered by the next run on the same file.
    """

    _TIMEOUT_SECONDS = 5.0

    def __init__(self, store: _Store, config: WebhookConfig, stopping: threading.Event) -> None:
        self._store = store
        self._config = config
        self._stopping = stopping
        self._wake = threading.Event()

    def notify(self) -> None:
        self._wake.set()

    def run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            delivery = self._next()
            if delivery is None:
                self._wake.wait(0.5)
                continue
            self._deliver(delivery)

    def _next(self) -> dict[str, Any] | None:
        if self._config.url is None:
            return None
        with self._store.transaction() as tx:
            return tx.next_pending_delivery()

    def _deliver(self, delivery: dict[str, Any]) -> None:
        code, error = self._post(delivery["body"])
        attempts = delivery["attempts"] + 1
        if error is None:
            status = "delivered"
        elif attempts >= self._config.attempts:
            status = "failed"
        else:
            status = "pending"
        with self._store.transaction() as tx:
            tx.record_attempt(delivery["id"], status, attempts, code, error)
        if status == "pending":
            delay = self._config.backoff_seconds * 2 ** (attempts - 1)
            self._stopping.wait(min(delay, 60.0))

    def _post(self, body: str) -> tuple[int | None, str | None]:
        """One attempt; returns (status code, error). Non-2xx and connection errors are errors."""
        assert self._config.url is not None
        request = urllib.request.Request(
            self._config.url,
            data=body.encode("utf-8"),
            method="POST",
            headers={
                "Content-Type": "application/json",
                self._config.secret_header: self._config.secret,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self._TIMEOUT_SECONDS) as response:
                code = response.status
        except urllib.error.HTTPError as exc:
            return exc.code, f"HTTP {exc.code}"
        except (OSError, ValueError) as exc:
            return None, f"{type(exc).__name__}: {exc}"
        return code, None if 200 <= code < 300 else f"HTTP {code}"


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------


@dataclass
class _Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


_DROP_CONNECTION = _Reply(0)  # sentinel: close the socket instead of answering


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> _Reply:
    """Error bodies are ``[{"message": ...}]`` everywhere (§1.4 / §8 design note)."""
    return _Reply(status, [{"message": message}], headers or {})


@dataclass
class _Call:
    """One parsed HTTP request, as the route handlers see it."""

    method: str
    path: str
    params: dict[str, str]
    raw_body: bytes
    headers: Any

    def json(self) -> Any:
        if not self.raw_body.strip():
            return {}
        try:
            return json.loads(self.raw_body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ApiError(400, "The request body is not valid UTF-8 JSON") from None

    def json_object(self) -> dict[str, Any]:
        body = self.json()
        if not isinstance(body, dict):
            raise ApiError(400, "The request body must be a JSON object")
        return body


_Handler = Callable[[_Call, re.Match[str]], _Reply]
_INCIDENT = r"/tas/api/incidents/(?P<by>id|number)/(?P<key>[^/]+)"


def _page(items: list[Any], start: int, size: int, next_url: str | None = None) -> _Reply:
    """200 for the last page, 206 when more exist, 204 when the page is empty (§6.3)."""
    page = items[start : start + size]
    if not page:
        return _Reply(204)
    if start + size < len(items):
        return _Reply(206, page, {"x-next-page-url": next_url} if next_url else {})
    return _Reply(200, page)


class _Api:
    """The ``/tas/api`` routes: paths, query parameters and status codes of the reference."""

    def __init__(self, incidents: _Incidents) -> None:
        self._incidents = incidents

    def routes(self) -> list[tuple[frozenset[str], re.Pattern[str], _Handler]]:
        table: list[tuple[str, str, _Handler]] = [
            ("GET", r"/tas/api/version", lambda c, m: _Reply(200, {"version": API_VERSION})),
            ("GET", r"/tas/api/incidents/statuses", lambda c, m: _Reply(200, _status_listing())),
            ("GET", r"/tas/api/incidents/categories", self._listing(_CATEGORIES)),
            (
                "GET",
                r"/tas/api/incidents/subcategories",
                lambda c, m: _Reply(200, _subcategory_listing()),
            ),
            ("GET", r"/tas/api/incidents/entry_types", self._listing(_ENTRY_TYPES)),
            ("GET", r"/tas/api/incidents/call_types", self._listing(_CALL_TYPES)),
            ("GET", r"/tas/api/archiving-reasons", self._listing(_ARCHIVING_REASONS)),
            ("GET", r"/tas/api/operatorgroups", self._operator_groups),
            ("GET", r"/tas/api/incidents", self._list),
            ("POST", r"/tas/api/incidents", self._create),
            ("GET", _INCIDENT, self._get),
            ("PATCH PUT", _INCIDENT, self._update),
            ("PATCH PUT", _INCIDENT + "/archive", self._archive),
            ("PATCH PUT", _INCIDENT + "/unarchive", self._unarchive),
            ("GET", _INCIDENT + "/progresstrail", self._progress_trail),
            ("GET", _INCIDENT + "/progresstrail/count", self._progress_trail_count),
            ("GET", _INCIDENT + "/actions", self._actions),
            ("GET", _INCIDENT + r"/actions/(?P<entry>[^/]+)", self._action),
            ("GET", _INCIDENT + "/requests", self._requests),
        ]
        return [(frozenset(m.split()), re.compile(p), h) for m, p, h in table]

    @staticmethod
    def _listing(choices: _Choices) -> _Handler:
        return lambda call, match: _Reply(200, choices.listing())

    def _operator_groups(self, call: _Call, match: re.Match[str]) -> _Reply:
        """``OperatorGroupDto`` items: the name is ``groupName``, paged with ``start`` and
        ``page_size`` (default 10, at most 100), so a client that does not page misses groups."""
        groups = [
            {"id": g.id, "groupName": g.name, "status": "operatorGroup"}
            for g in _OPERATOR_GROUPS.items
        ]
        return self._sub_page(call, groups, 100)

    @staticmethod
    def _target(match: re.Match[str]) -> tuple[str, str]:
        """(id|number, key); numbers may contain spaces and arrive percent-encoded (§2.2)."""
        return match["by"], unquote(match["key"])

    def _create(self, call: _Call, match: re.Match[str]) -> _Reply:
        return _Reply(201, self._incidents.create(call.json_object()))

    def _get(self, call: _Call, match: re.Match[str]) -> _Reply:
        return _Reply(200, self._incidents.get(*self._target(match)))

    def _update(self, call: _Call, match: re.Match[str]) -> _Reply:
        return _Reply(200, self._incidents.update(*self._target(match), call.json_object()))

    def _archive(self, call: _Call, match: re.Match[str]) -> _Reply:
        return _Reply(200, self._incidents.archive(*self._target(match), call.json_object()))

    def _unarchive(self, call: _Call, match: re.Match[str]) -> _Reply:
        return _Reply(200, self._incidents.unarchive(*self._target(match)))

    def _sub_page(self, call: _Call, items: list[Any], max_size: int) -> _Reply:
        """Sub-resources page with ``start``/``page_size``, not pageStart/pageSize (§6.3)."""
        start = _int_param(call.params, "start", 0, 0, 10**9)
        size = _int_param(call.params, "page_size", 10, 1, max_size)
        return _page(items, start, size)

    def _progress_trail(self, call: _Call, match: re.Match[str]) -> _Reply:
        return self._sub_page(call, self._incidents.entries(*self._target(match), "action"), 100)

    def _progress_trail_count(self, call: _Call, match: re.Match[str]) -> _Reply:
        return _Reply(200, {"count": len(self._incidents.entries(*self._target(match), "action"))})

    def _actions(self, call: _Call, match: re.Match[str]) -> _Reply:
        entries = self._incidents.entries(*self._target(match), "action")
        return self._sub_page(call, [_action_view(e) for e in entries], 100)

    def _action(self, call: _Call, match: re.Match[str]) -> _Reply:
        for entry in self._incidents.entries(*self._target(match), "action"):
            if entry["id"] == match["entry"]:
                return _Reply(200, _action_view(entry))
        raise ApiError(404, f"No action with id '{match['entry']}'")

    def _requests(self, call: _Call, match: re.Match[str]) -> _Reply:
        entries = self._incidents.entries(*self._target(match), "request")
        return self._sub_page(call, [_request_view(e) for e in entries], 10)

    def _list(self, call: _Call, match: re.Match[str]) -> _Reply:
        """``GET /incidents``: FIQL, sort, fields, all, pageStart/pageSize (§2.4, §6.3, §6.4)."""
        params = call.params
        start = _int_param(params, "pageStart", 0, 0, 10**9)
        size = _int_param(params, "pageSize", 10, 1, 10000)
        query = parse_fiql(params["query"]) if params.get("query") else None
        sort = _parse_sort(params["sort"]) if params.get("sort") else []
        docs = self._incidents.all(include_archived=params.get("all", "").lower() == "true")
        matched = [doc for doc in docs if query is None or query.matches(doc)]
        _sort_docs(matched, sort)
        shown = [self._shape(doc, params) for doc in matched]
        next_url = (
            f"{call.path}?{urlencode({**params, 'pageStart': start + size, 'pageSize': size})}"
        )
        return _page(shown, start, size, next_url)

    @staticmethod
    def _shape(doc: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        """Apply ``fields`` (id always kept) and ``dateFormat=iso8601``."""
        out = render_incident(doc)
        if params.get("fields"):
            wanted = {name.strip() for name in params["fields"].split(",")} | {"id"}
            out = {key: value for key, value in out.items() if key in wanted}
        if params.get("dateFormat", "").lower() == "iso8601":
            for key in _DATE_KEYS:
                if out.get(key):
                    out[key] = _format_iso8601(out[key])
        return out


class _Server(ThreadingHTTPServer):
    """The threaded HTTP server, tracking open connections so ``stop()`` can cut keep-alives."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], respond: Callable[[_Call], _Reply | None]) -> None:
        self.respond = respond
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _RequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            open_connections = list(self._connections)
        for conn in open_connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _RequestHandler(BaseHTTPRequestHandler):
    """Turns one HTTP exchange into a `_Call`, runs faults, auth and routing, writes the reply."""

    protocol_version = "HTTP/1.1"
    timeout = 60
    # Headers and body go out in two writes; with Nagle on, a keep-alive client waits for its
    # delayed ACK (~40 ms) on every response.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        call = _Call(
            method=self.command,
            path=parts.path,
            params=dict(parse_qsl(parts.query, keep_blank_values=True)),
            raw_body=self._read_body(),
            headers=self.headers,
        )
        reply = self.server.respond(call)
        if reply is None:
            self._drop()
        else:
            self._send(reply)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _drop(self) -> None:
        """Close the socket without a byte of response: the client sees a dropped connection."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, reply: _Reply) -> None:
        payload = b""
        if reply.body is not None and reply.status != 204:
            payload = json.dumps(reply.body, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(reply.status)
            if reply.status != 204:
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


# --------------------------------------------------------------------------------------------
# The simulator
# --------------------------------------------------------------------------------------------


class TopdeskSimulator:
    """A TOPdesk instance in a box: HTTP API, SQLite state, outbound webhooks, fault injection.

    The socket is bound in the constructor so ``url`` is known before ``start()``. One object
    runs once; to "restart", stop it and build a new one on the same ``db_path``.
    """

    def __init__(self, config: SimulatorConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config
        self._stopping = threading.Event()
        self._store = _Store(config.db_path)
        self._faults = _FaultInjector()
        self._deliverer = _WebhookDeliverer(self._store, config.webhook, self._stopping)
        self._outbox = _Outbox(config.webhook, self._deliverer.notify)
        self._incidents = _Incidents(self._store, _Clock(), config.login, self._outbox)
        self._api_routes = _Api(self._incidents).routes()
        self._sim_routes = self._control_routes()
        self._server = _Server((host, port), self._respond)
        self._threads: list[threading.Thread] = []
        self._closed = False

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        host = str(host)
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start(self) -> None:
        """Serve HTTP and deliver webhooks, each in a daemon thread."""
        if self._threads or self._closed:
            raise RuntimeError("a simulator runs once; build a new one on the same db_path")
        self._threads = [
            threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="topdesk-sim-http",
                daemon=True,
            ),
            threading.Thread(target=self._deliverer.run, name="topdesk-sim-webhooks", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        log.info("TOPdesk simulator listening on %s (db %s)", self.url, self.config.db_path)

    def stop(self) -> None:
        """Stop serving, cut open keep-alive connections, stop delivery; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        self._deliverer.notify()
        if self._threads:
            self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=10)

    def __enter__(self) -> TopdeskSimulator:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # test and demo control ---------------------------------------------------------------
    def inject_fault(self, rule: FaultRule) -> None:
        self._faults.add(rule)

    def clear_faults(self) -> None:
        self._faults.clear()

    def caller_reply(self, number: str, text: str) -> dict:
        """The caller answers in the self-service portal; raises ApiError (404/403/400)."""
        return self._incidents.caller_reply(number, text)

    def drop_webhooks(self, count: int) -> None:
        """Silently lose the next ``count`` webhook events (recorded as "dropped")."""
        self._outbox.drop_next(count)

    def webhook_deliveries(self) -> list[dict]:
        with self._store.transaction() as tx:
            return tx.deliveries()

    # HTTP dispatch -----------------------------------------------------------------------
    def _respond(self, call: _Call) -> _Reply | None:
        """The reply for a call, or None to drop the connection. Faults come before auth,
        as a network or proxy fault would."""
        try:
            if call.path == API_PREFIX or call.path.startswith(API_PREFIX + "/"):
                fault_reply = self._apply_faults(call)
                if fault_reply is _DROP_CONNECTION:
                    return None
                if fault_reply is not None:
                    return fault_reply
                self._authenticate(call)
                return self._route(self._api_routes, call)
            if call.path.startswith(SIM_PREFIX + "/"):
                return self._route(self._sim_routes, call)
            raise ApiError(404, f"Not found: {call.path}")
        except ApiError as exc:
            return _error(exc.status, exc.message)
        except Exception:
            log.exception("simulator error on %s %s", call.method, call.path)
            return _error(500, "Internal server error")

    def _apply_faults(self, call: _Call) -> _Reply | None:
        """Sleep for latency rules; a status rule gives its reply, a drop rule the sentinel."""
        for rule in self._faults.take(call.method, call.path):
            if rule.kind == "latency":
                time.sleep(rule.latency_seconds)
            elif rule.kind == "drop":
                return _DROP_CONNECTION
            else:
                headers = {} if rule.retry_after is None else {"Retry-After": str(rule.retry_after)}
                return _error(rule.status, f"Simulated fault: HTTP {rule.status}", headers)
        return None

    def _authenticate(self, call: _Call) -> None:
        """HTTP Basic with login name and application password on every call (§1.1)."""
        header = call.headers.get("Authorization") or ""
        if not header:
            raise ApiError(401, "No authentication token provided")
        scheme, _, encoded = header.partition(" ")
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        expected = f"{self.config.login}:{self.config.app_password}"
        if scheme.lower() != "basic" or not hmac.compare_digest(
            decoded.encode("utf-8"), expected.encode("utf-8")
        ):
            raise ApiError(401, "Invalid credentials")

    @staticmethod
    def _route(
        routes: list[tuple[frozenset[str], re.Pattern[str], _Handler]], call: _Call
    ) -> _Reply:
        path_matched = False
        for methods, pattern, handler in routes:
            match = pattern.fullmatch(call.path)
            if match is None:
                continue
            path_matched = True
            if call.method in methods:
                return handler(call, match)
        if path_matched:
            raise ApiError(405, f"Method {call.method} not allowed on {call.path}")
        raise ApiError(404, f"Not found: {call.path}")

    def _control_routes(self) -> list[tuple[frozenset[str], re.Pattern[str], _Handler]]:
        """``/_sim``: unauthenticated test/demo control, never part of the TOPdesk API."""
        table: list[tuple[str, str, _Handler]] = [
            ("GET", r"/_sim/health", lambda c, m: _Reply(200, {"ok": True})),
            ("GET", r"/_sim/faults", lambda c, m: _Reply(200, self._faults.snapshot())),
            ("POST", r"/_sim/faults", self._post_fault),
            ("DELETE", r"/_sim/faults", self._delete_faults),
            ("POST", r"/_sim/incidents/(?P<number>[^/]+)/reply", self._post_reply),
            ("GET", r"/_sim/webhooks", lambda c, m: _Reply(200, self.webhook_deliveries())),
            ("POST", r"/_sim/webhook-faults", self._post_webhook_fault),
        ]
        return [(frozenset(m.split()), re.compile(p), h) for m, p, h in table]

    def _post_fault(self, call: _Call, match: re.Match[str]) -> _Reply:
        rule = _fault_rule_from_json(call.json())
        self.inject_fault(rule)
        return _Reply(201, asdict(rule))

    def _delete_faults(self, call: _Call, match: re.Match[str]) -> _Reply:
        self.clear_faults()
        return _Reply(204)

    def _post_reply(self, call: _Call, match: re.Match[str]) -> _Reply:
        body = call.json_object()
        return _Reply(200, self.caller_reply(unquote(match["number"]), body.get("text", "")))

    def _post_webhook_fault(self, call: _Call, match: re.Match[str]) -> _Reply:
        count = call.json_object().get("drop_next")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ApiError(400, "'drop_next' must be a non-negative integer")
        self.drop_webhooks(count)
        return _Reply(200, {"drop_next": count})


# --------------------------------------------------------------------------------------------
# Standalone
# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the simulator until SIGINT/SIGTERM; prints its base URL on the first line."""
    parser = argparse.ArgumentParser(
        prog="python -m adapters.topdesk.simulator", description="Run the TOPdesk simulator."
    )
    parser.add_argument("--db", required=True, type=Path, help="SQLite file holding the state")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--login", default=SimulatorConfig.login)
    parser.add_argument("--password", default=SimulatorConfig.app_password)
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--webhook-secret", default="")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    config = SimulatorConfig(
        db_path=args.db,
        login=args.login,
        app_password=args.password,
        webhook=WebhookConfig(url=args.webhook_url, secret=args.webhook_secret),
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with TopdeskSimulator(config, host=args.host, port=args.port) as simulator:
        print(simulator.url, flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
