"""FIQL, the ``query`` language of TOPdesk's list endpoints (§6.4), and ``sort`` (§2.4).

A small recursive-descent parser over a table of the fields each list allows, so incidents,
persons, operators and operator groups share it; every error is a 400 "Error parsing query".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .config import ApiError
from .dates import format_date, parse_date

FiqlFields = dict[str, tuple[str, tuple[str, ...]]]
"""Selector → (kind, path in the document); kind is "text", "bool" or "date"."""

INCIDENT_FIELDS: FiqlFields = {
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
    "archived": ("bool", ("archived",)),
}
_FIQL_ORDERING = ("=gt=", "=ge=", "=lt=", "=le=")
_FIQL_OPERATORS = ("==", "!=", "=in=", "=out=", "=sw=", *_FIQL_ORDERING)
_FIQL_SELECTOR = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_FIQL_OPERATOR = re.compile(r"==|!=|=[a-z]+=")
_FIQL_BARE_VALUE = re.compile(r"[^'\"();,=!~<>\s]+")


def dig(doc: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = doc
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


@dataclass(frozen=True)
class Comparison:
    """One ``selector<op>value(s)`` term, with its values already converted to stored form."""

    path: tuple[str, ...]
    op: str
    values: tuple[Any, ...]

    def matches(self, doc: dict[str, Any]) -> bool:
        actual = dig(doc, self.path)
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
class Junction:
    """``;`` (all) or ``,`` (any) over sub-expressions."""

    all_of: bool
    parts: tuple[Comparison | Junction, ...]

    def matches(self, doc: dict[str, Any]) -> bool:
        test = all if self.all_of else any
        return test(part.matches(doc) for part in self.parts)


class _FiqlParser:
    """Recursive-descent parser: ``,`` is OR, ``;`` is AND and binds tighter, brackets group."""

    def __init__(self, text: str, fields: FiqlFields) -> None:
        self.text = text
        self.fields = fields
        self.pos = 0

    def parse(self) -> Comparison | Junction:
        node = self._or()
        if self.pos != len(self.text):
            self._fail(f"unexpected {self.text[self.pos]!r} at position {self.pos}")
        return node

    def _fail(self, detail: str) -> None:
        raise ApiError(400, f"Error parsing query: {detail}")

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _or(self) -> Comparison | Junction:
        parts = [self._and()]
        while self._peek() == ",":
            self.pos += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else Junction(False, tuple(parts))

    def _and(self) -> Comparison | Junction:
        parts = [self._primary()]
        while self._peek() == ";":
            self.pos += 1
            parts.append(self._primary())
        return parts[0] if len(parts) == 1 else Junction(True, tuple(parts))

    def _primary(self) -> Comparison | Junction:
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

    def _comparison(self) -> Comparison:
        selector = self._match(_FIQL_SELECTOR, "a field name")
        operator = self._match(_FIQL_OPERATOR, "an operator")
        if selector not in self.fields:
            self._fail(f"unknown field '{selector}'")
        if operator not in _FIQL_OPERATORS:
            self._fail(f"unknown operator '{operator}'")
        values = self._arguments()
        return _compile_comparison(self.fields[selector], selector, operator, values)

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


def _compile_comparison(
    field: tuple[str, tuple[str, ...]], selector: str, operator: str, raw: list[tuple[str, bool]]
) -> Comparison:
    """Check a term against its field type and convert values to how they are stored."""
    kind, path = field
    if len(raw) == 1 and raw[0] == ("null", False):
        if operator not in ("==", "!="):
            raise ApiError(400, f"Error parsing query: null only works with == and != ({selector})")
        return Comparison(path, operator + "null", ())
    if len(raw) > 1 and operator not in ("=in=", "=out="):
        raise ApiError(400, "Error parsing query: a list only works with =in= and =out=")
    if kind == "bool" and operator not in ("==", "!=", "=in=", "=out="):
        raise ApiError(400, f"Error parsing query: {operator} does not work on '{selector}'")
    if operator == "=sw=" and kind != "text":
        raise ApiError(400, f"Error parsing query: =sw= only works on text ('{selector}')")
    values = tuple(_fiql_value(kind, selector, text) for text, _ in raw)
    return Comparison(path, operator, values)


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


def parse_fiql(text: str, fields: FiqlFields = INCIDENT_FIELDS) -> Comparison | Junction:
    """Parse a FIQL ``query`` parameter; any error is a 400 ``Error parsing query`` (§1.4)."""
    return _FiqlParser(text, fields).parse()


def parse_sort(
    text: str, fields: FiqlFields = INCIDENT_FIELDS
) -> list[tuple[tuple[str, ...], bool]]:
    """``sort=modificationDate:asc,creationDate:desc`` → [(path, descending)] (§2.4)."""
    keys = []
    for item in text.split(","):
        name, _, direction = item.strip().partition(":")
        direction = direction.lower() or "asc"
        if name not in fields or direction not in ("asc", "desc"):
            raise ApiError(400, f"Error parsing sort: {item!r}")
        keys.append((fields[name][1], direction == "desc"))
    return keys


def sort_docs(docs: list[dict[str, Any]], keys: list[tuple[tuple[str, ...], bool]]) -> None:
    """Stable multi-key sort, applied last key first; missing values sort first."""

    def sort_key(path: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[bool, Any]]:
        return lambda doc: (dig(doc, path) is not None, dig(doc, path))

    for path, descending in reversed(keys):
        docs.sort(key=sort_key(path), reverse=descending)
