"""The cases as Temporal's visibility shows them, for the CLI, the metrics and the KPI report.

The queries and the rows live with the visibility activity (`activities/visibility.py`), which the
stuck-case radar's workflow calls, so the radar, `saksflyt radar`, the metrics and the report ask
the same questions; this module adds what only the processes need (reading a history's upserts).
"""

from __future__ import annotations

from temporalio.api.common.v1 import SearchAttributes
from temporalio.common import TypedSearchAttributes
from temporalio.converter import DataConverter, decode_typed_search_attributes

from activities.visibility import (
    CASES,
    OPEN,
    CaseRow,
    StuckCase,
    find_stuck,
    list_cases,
    open_query,
    row_of,
    rung_due,
    stuck_queries,
)

__all__ = [
    "CASES",
    "OPEN",
    "CaseRow",
    "StuckCase",
    "find_stuck",
    "list_cases",
    "open_query",
    "row_of",
    "rung_due",
    "stuck_queries",
    "upserted",
]


def upserted(attributes: SearchAttributes) -> tuple[TypedSearchAttributes, set[str]]:
    """The values a history event set, and the names it unset. An unset value is an empty
    payload, which the SDK's decoder cannot take for a Datetime (it parses its null)."""
    converter = DataConverter.default.payload_converter
    kept, unset = SearchAttributes(), set()
    for name, payload in attributes.indexed_fields.items():
        if converter.from_payload(payload) in (None, []):
            unset.add(name)
        else:
            kept.indexed_fields[name].CopyFrom(payload)
    return decode_typed_search_attributes(kept), unset
