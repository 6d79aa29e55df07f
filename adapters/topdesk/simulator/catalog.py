"""The seeded search lists: the service centre's TOPdesk configuration (§3).

Processing statuses, categories, operator groups (the escalation ladder), the incident option
lists (impacts, urgencies, priorities, durations, closure codes, escalation reasons) and the
operators and persons a stock client may look up. Ids are derived from the names, so every run and
every db file has the same ids.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

from .config import ApiError

_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:saksflyt:topdesk-simulator")


def stable_id(kind: str, name: str) -> str:
    """The same id for the same seeded name in every simulator run and every db file."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{kind}:{name}"))


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        return False
    return True


@dataclass(frozen=True)
class Choice:
    id: str
    name: str
    parent: Choice | None = None

    def ref(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name}


class Choices:
    """A TOPdesk search list, referenced as ``{"id": ...}`` or ``{"name": ...}`` (§2.3)."""

    def __init__(self, field_name: str, items: list[Choice]) -> None:
        self.field_name = field_name
        self.items = items
        self._by_id = {item.id: item for item in items}
        self._by_name = {item.name.casefold(): item for item in items}

    @classmethod
    def named(cls, field_name: str, names: tuple[str, ...]) -> Choices:
        return cls(field_name, [Choice(stable_id(field_name, n), n) for n in names])

    def by_name(self, name: str) -> Choice:
        return self._by_name[name.casefold()]

    def by_id(self, item_id: str) -> Choice | None:
        return self._by_id.get(item_id.lower())

    def resolve(self, value: Any, *, allow_name: bool = True) -> Choice:
        """Resolve a reference: 400 if malformed or an unknown name, 404 if an unknown id (§1.4)."""
        name = self.field_name
        keys = ("id", "name") if allow_name else ("id",)
        if not isinstance(value, dict) or not value or set(value) - set(keys):
            raise ApiError(400, f"'{name}' must be an object with {' or '.join(keys)}")
        if len(value) > 1:
            raise ApiError(400, f"Give either '{name}.id' or '{name}.name', not both")
        if "id" in value:
            if not isinstance(value["id"], str) or not is_uuid(value["id"]):
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
class StatusInfo:
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

STATUS_INFO = (
    StatusInfo(REGISTERED, "open", False, default=True),
    StatusInfo("Tildelt", "open", False),
    StatusInfo("I arbeid", "open", True),
    StatusInfo("Venter på bruker", "open", True),
    StatusInfo(ON_HOLD, "onHold", True),
    StatusInfo(UPDATED_BY_CALLER, "open", False),
    StatusInfo(COMPLETED, "completed", True),
    StatusInfo(CLOSED, "closed", True),
    StatusInfo(REOPENED_BY_CALLER, "open", False),
)
STATUS_BY_NAME = {info.name: info for info in STATUS_INFO}
STATUSES = Choices.named("processingStatus", tuple(info.name for info in STATUS_INFO))

CATEGORIES = Choices.named(
    "category",
    (
        "Nyansettelse",
        "Forlengelse",
        "Pensjon",
        "Fratredelse",
        "Oppsigelse",
        "Andre endringer arbeidsforhold",
        "Reiseplanlegger",  # the employee's own form (seed 001, "Endre arbeidsland"); no process
        "Intern permisjon",
        "Intern permisjon, leders vedtak",  # the case saksflyt opens to the manager
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
SUBCATEGORIES = Choices(
    "subcategory",
    [
        Choice(stable_id("subcategory", f"{parent}/{name}"), name, CATEGORIES.by_name(parent))
        for parent, names in _SUBCATEGORY_NAMES.items()
        for name in names
    ],
)
ENTRY_TYPES = Choices.named("entryType", ("Skjema", "E-post", "Portal"))
CALL_TYPES = Choices.named("callType", ("Endring", "Spørsmål", "Melding"))
OPERATOR_GROUPS = Choices.named(
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
ARCHIVING_REASONS = Choices.named("archivingReason", ("Ferdigbehandlet", "Feilregistrert"))
# The incident option lists a stock client reads to turn a name into an id (§3, §7.4).
IMPACTS = Choices.named("impact", ("Person", "Enhet", "Hele NTNU"))
URGENCIES = Choices.named("urgency", ("Lav", "Normal", "Høy"))
PRIORITIES = Choices.named("priority", ("Lav", "Normal", "Høy", "Kritisk"))
DURATIONS = Choices.named("duration", ("1 arbeidsdag", "3 arbeidsdager", "10 arbeidsdager"))
CLOSURE_CODES = Choices.named("closureCode", ("Løst", "Avvist", "Trukket av innmelder"))
ESCALATION_REASONS = Choices.named(
    "escalationReason", ("Frist overskredet", "Krever saksbehandling")
)
DEESCALATION_REASONS = Choices.named("deescalationReason", ("Feil linje", "Avklart"))
# Case handlers by operator group; the API account itself is added by `operators()`.
_OPERATORS = (
    ("Berit", "Brukerstøtte", "Brukerstøtte lønn og HR"),
    ("Sindre", "Saksbehandler", "Saksbehandling lønn og HR"),
    ("Per", "Prosessansvarlig", "Prosessansvarlig lønn og HR"),
    ("Lena", "Leder", "Leder Tjenestesenteret for lønn og HR"),
)
BRANCH = {
    "id": stable_id("branch", "NTNU"),
    "name": "NTNU",
    "clientReferenceNumber": "",
    "timeZone": "Europe/Oslo",
    "extraA": None,
    "extraB": None,
}


def status_listing() -> list[dict[str, Any]]:
    """``/incidents/statuses``: onHold, processingState and response are strings (§3)."""
    return [
        {
            "id": STATUSES.by_name(info.name).id,
            "name": info.name,
            "onHold": str(info.processing_state == "onHold").lower(),
            "processingState": info.processing_state,
            "response": str(info.response).lower(),
            "default": info.default,
        }
        for info in STATUS_INFO
    ]


def subcategory_listing() -> list[dict[str, Any]]:
    return [
        {**item.ref(), "category": item.parent.ref() if item.parent else None}
        for item in SUBCATEGORIES.items
    ]


def operator_groups() -> list[dict[str, Any]]:
    """``OperatorGroupDto`` items: the name is ``groupName`` (§3), none archived."""
    return [
        {"id": g.id, "groupName": g.name, "status": "operatorGroup", "archived": False}
        for g in OPERATOR_GROUPS.items
    ]


def operators(login: str) -> list[dict[str, Any]]:
    """The API account (``login``) and one case handler for each rung of the ladder.

    Each carries the names of its groups so ``/operators/id/{id}/operatorgroups`` and
    ``/operatorgroups/id/{id}/operators`` agree.
    """
    people = [(login, "", OPERATOR_GROUPS.items[0].name), *_OPERATORS]
    found = []
    for first, sur, group in people:
        name = f"{first} {sur}".strip()
        found.append(
            {
                "id": stable_id("operator", name),
                "dynamicName": name,
                "firstName": first,
                "surName": sur,
                "email": f"{name.lower().replace(' ', '.')}@ntnu.no",
                "loginName": name.lower().replace(" ", "."),
                "archived": False,
                "status": "operator",
                "groups": [group],
            }
        )
    return found
