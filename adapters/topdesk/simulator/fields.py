"""Checks of request bodies and query parameters, each failing with the 400 TOPdesk gives.

Shared by every route so one mistake (an unknown field, ``"true"`` as a string, a date that does
not parse, an over-long text) is answered the same way everywhere (§1.4, §2.3).
"""

from __future__ import annotations

from typing import Any

from .catalog import Choices, stable_id
from .config import ApiError
from .dates import format_date, parse_date


def check_fields(body: dict[str, Any], allowed: frozenset[str]) -> None:
    """Unknown body fields are a documented 400 (§1.4, §7.9); name the first one."""
    for key in body:
        if key not in allowed:
            raise ApiError(400, f"Unknown field '{key}'")


def text_field(body: dict[str, Any], key: str, max_length: int | None = None) -> str:
    """A string field; None counts as empty. Over-long strings are a 400 (§2.3)."""
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApiError(400, f"'{key}' must be a string")
    if max_length is not None and len(value) > max_length:
        raise ApiError(400, f"'{key}' is longer than {max_length} characters")
    return value


def flag_field(body: dict[str, Any], key: str) -> bool:
    """A boolean field; "true" as a string is a format error in TOPdesk too (§1.4)."""
    value = body[key]
    if not isinstance(value, bool):
        raise ApiError(400, f"'{key}' must be true or false")
    return value


def date_field(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"'{key}' must be a date string")
    try:
        return format_date(parse_date(value))
    except ValueError:
        raise ApiError(400, f"'{key}' cannot be parsed as a date: {value!r}") from None


def optional_ref(choices: Choices, value: Any, *, allow_name: bool = True) -> dict | None:
    return None if value is None else choices.resolve(value, allow_name=allow_name).ref()


OPTIONAL_FIELD_DEFAULTS: dict[str, Any] = {
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


def optional_fields(current: dict[str, Any], value: Any, key: str) -> dict[str, Any]:
    """Merge ``optionalFields1/2`` into the stored set, checking each value's type (§2.2)."""
    if not isinstance(value, dict):
        raise ApiError(400, f"'{key}' must be an object")
    merged = dict(current)
    for name, item in value.items():
        if name not in OPTIONAL_FIELD_DEFAULTS:
            raise ApiError(400, f"Unknown field '{key}.{name}'")
        merged[name] = _optional_field_value(f"{key}.{name}", name, item)
    return merged


def _optional_field_value(path: str, name: str, item: Any) -> Any:
    kind = name.rstrip("12345")
    if kind == "boolean":
        return flag_field({path: item}, path)
    if kind == "number":
        if isinstance(item, bool) or not isinstance(item, int | float):
            raise ApiError(400, f"'{path}' must be a number")
        return float(item)
    if kind == "memo" and item is None:
        return None
    if kind in ("text", "memo"):
        return text_field({path: item}, path)
    if kind == "date":
        return date_field({path: item}, path)
    if item is None:
        return None
    if not isinstance(item, dict) or len(item) != 1 or not set(item) <= {"id", "name"}:
        raise ApiError(400, f"'{path}' must be an object with id or name")
    name_value = item.get("name")
    return {"id": item.get("id") or stable_id("searchlist", str(name_value)), "name": name_value}


def int_param(params: dict[str, str], key: str, default: int, low: int, high: int) -> int:
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
