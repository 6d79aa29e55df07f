"""The read-only routes around incidents: the version, the incident option lists (§3), and the
Supporting Files lists a stock client reads to turn names into ids (§3, §3.1): persons, operators,
operator groups and their lookup.

Persons are the callers registered by ``callerLookup`` (kept in the store); operators and groups
are seeded in ``catalog``. Lists take FIQL ``query`` (TOPdeskPy always sends
``archived==false``) and page with ``start``/``page_size``; persons v2 (asked for with its
``Accept`` header) pages with ``pageStart``/``pageSize`` and answers ``{item, size, next}``.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from . import catalog
from .catalog import Choices
from .config import API_VERSION, ApiError
from .fields import int_param
from .fiql import FiqlFields, parse_fiql
from .paging import page_of, paged
from .store import Store
from .web import Call, Handler, Reply, route

PERSON_V2 = "application/x.topdesk-collection-person-v2+json"

_PERSON_FIELDS: FiqlFields = {
    name: ("bool" if name in ("archived", "isCaller") else "text", (name,))
    for name in (
        "id",
        "dynamicName",
        "firstName",
        "surName",
        "email",
        "employeeNumber",
        "archived",
        "isCaller",
    )
}
_OPERATOR_FIELDS: FiqlFields = {
    name: ("bool" if name == "archived" else "text", (name,))
    for name in ("id", "dynamicName", "firstName", "surName", "email", "loginName", "archived")
}
_GROUP_FIELDS: FiqlFields = {
    "id": ("text", ("id",)),
    "groupName": ("text", ("groupName",)),
    "archived": ("bool", ("archived",)),
}


class DirectoryApi:
    """Lookups, persons, operators and operator groups."""

    def __init__(self, store: Store, login: str) -> None:
        self._store = store
        self._login = login

    def routes(self) -> list[Route]:
        lists: list[tuple[str, str]] = [
            ("/tas/api/incidents/categories", "CATEGORIES"),
            ("/tas/api/incidents/entry_types", "ENTRY_TYPES"),
            ("/tas/api/incidents/call_types", "CALL_TYPES"),
            ("/tas/api/incidents/impacts", "IMPACTS"),
            ("/tas/api/incidents/urgencies", "URGENCIES"),
            ("/tas/api/incidents/priorities", "PRIORITIES"),
            ("/tas/api/incidents/durations", "DURATIONS"),
            ("/tas/api/incidents/closure_codes", "CLOSURE_CODES"),
            ("/tas/api/incidents/escalation-reasons", "ESCALATION_REASONS"),
            ("/tas/api/incidents/deescalation-reasons", "DEESCALATION_REASONS"),
            ("/tas/api/archiving-reasons", "ARCHIVING_REASONS"),
        ]
        table: list[tuple[str, str, Handler]] = [
            ("GET", "/tas/api/version", lambda c: Reply(200, {"version": API_VERSION})),
            ("GET", "/tas/api/incidents/statuses", lambda c: Reply(200, catalog.status_listing())),
            (
                "GET",
                "/tas/api/incidents/subcategories",
                lambda c: Reply(200, catalog.subcategory_listing()),
            ),
            *(("GET", path, _listing(getattr(catalog, name))) for path, name in lists),
            ("GET", "/tas/api/persons", self._persons),
            ("GET", "/tas/api/persons/id/{id}", self._person),
            ("GET", "/tas/api/operators", self._operators),
            ("GET", "/tas/api/operators/id/{id}", self._operator),
            ("GET", "/tas/api/operators/id/{id}/operatorgroups", self._groups_of_operator),
            ("GET", "/tas/api/operatorgroups", self._operator_groups),
            ("GET", "/tas/api/operatorgroups/lookup", self._operator_group_lookup),
            ("GET", "/tas/api/operatorgroups/id/{id}/operators", self._operators_in_group),
        ]
        return [route(methods, path, handler) for methods, path, handler in table]

    # persons (§3.1) -------------------------------------------------------------------------
    def _persons(self, call: Call) -> Reply:
        with self._store.transaction() as tx:
            persons = _query(tx.persons(), call.params, _PERSON_FIELDS)
        if PERSON_V2 not in call.headers.get("accept", ""):
            return paged(persons, call.params, 10, 100)
        page = page_of(call.params, 50, 5000)
        items = persons[page.start : page.start + page.size]
        more = page.start + page.size < len(persons)
        next_url = page.next_url(call.path, call.params) if more else None
        return Reply(206 if more else 200, {"item": items, "size": len(items), "next": next_url})

    def _person(self, call: Call) -> Reply:
        person_id = call.path_params["id"]
        with self._store.transaction() as tx:
            person = tx.person(person_id=person_id) if catalog.is_uuid(person_id) else None
        if person is None:
            raise ApiError(404, f"No person with id '{person_id}'")
        return Reply(200, person)

    # operators ------------------------------------------------------------------------------
    def _all_operators(self) -> list[dict[str, Any]]:
        return catalog.operators(self._login)

    def _operators(self, call: Call) -> Reply:
        found = _query(self._all_operators(), call.params, _OPERATOR_FIELDS)
        return paged([_public(o) for o in found], call.params, 10, 100)

    def _find_operator(self, operator_id: str) -> dict[str, Any]:
        for operator in self._all_operators():
            if operator["id"] == operator_id.lower():
                return operator
        raise ApiError(404, f"No operator with id '{operator_id}'")

    def _operator(self, call: Call) -> Reply:
        return Reply(200, _public(self._find_operator(call.path_params["id"])))

    def _groups_of_operator(self, call: Call) -> Reply:
        operator = self._find_operator(call.path_params["id"])
        groups = [g for g in catalog.operator_groups() if g["groupName"] in operator["groups"]]
        return Reply(200, groups)

    # operator groups (§3): the name is ``groupName`` ------------------------------------------
    def _operator_groups(self, call: Call) -> Reply:
        """Paged with ``start``/``page_size`` (default 10, at most 100), so a client that does
        not page misses groups."""
        groups = _query(catalog.operator_groups(), call.params, _GROUP_FIELDS)
        return paged(groups, call.params, 10, 100)

    def _operator_group_lookup(self, call: Call) -> Reply:
        """``/operatorgroups/lookup?name=<prefix>&$top=``: ``{"results": [{id, name}]}``."""
        prefix = call.params.get("name", "").casefold()
        top = int_param(call.params, "$top", 1000, 1, 10000)
        found = [
            {"id": g["id"], "name": g["groupName"]}
            for g in catalog.operator_groups()
            if g["groupName"].casefold().startswith(prefix)
        ]
        return Reply(200, {"results": found[:top]})

    def _operators_in_group(self, call: Call) -> Reply:
        group_id = call.path_params["id"]
        group = catalog.OPERATOR_GROUPS.by_id(group_id)
        if group is None:
            raise ApiError(404, f"No operator group with id '{group_id}'")
        members = [o for o in self._all_operators() if group.name in o["groups"]]
        return Reply(200, [_public(o) for o in members])


def _listing(choices: Choices) -> Handler:
    return lambda call: Reply(200, choices.listing())


def _query(
    items: list[dict[str, Any]], params: dict[str, str], fields: FiqlFields
) -> list[dict[str, Any]]:
    query = parse_fiql(params["query"], fields) if params.get("query") else None
    return [item for item in items if query is None or query.matches(item)]


def _public(operator: dict[str, Any]) -> dict[str, Any]:
    """An operator as the API shows it, without the simulator's group names."""
    return {key: value for key, value in operator.items() if key != "groups"}
