"""What the gate refuses in a body before any model sees it, and the names it may log.

Python's JSON parser takes things no answer can echo back and no store can keep: text that is
not UTF-8, NaN and Infinity, numbers beyond a double (`1e999` becomes infinity), lone surrogates,
and nesting deep enough to exhaust the stack. FastAPI would turn each into a 400 or a 500 (its
422 quotes the bad input, which then cannot be rendered), so the gate refuses them with a 422
that names the place in the body (`["body", "number"]`), the way FastAPI names a field.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from workers.intake.models import CASE_NUMBER, FORM_ID

# A webhook body is a few flat fields; deeper nesting is refused up front, so that nothing after
# the gate (FastAPI's error rendering, the quarantine, a log line) walks a deep structure.
MAX_DEPTH = 16
SURROGATE = re.compile(r"[\ud800-\udfff]")

# The fields whose well-formed value the access log may name, and under which name.
LOGGED = [
    ("number", "case_number", CASE_NUMBER),
    ("case_number", "case_number", CASE_NUMBER),
    ("form_id", "form_id", FORM_ID),
]

Location = tuple[str | int, ...]


@dataclass(frozen=True)
class Refusal:
    """Why a body is refused, and where in it."""

    msg: str
    loc: Location = ()
    type: str = "json_invalid"

    def detail(self) -> list[dict[str, Any]]:
        """The 422's `detail`, shaped as FastAPI's own; the input is never echoed."""
        return [{"type": self.type, "loc": ["body", *self.loc], "msg": self.msg, "input": {}}]


def examine(body: bytes) -> tuple[Refusal | None, dict[str, str]]:
    """What the gate refuses in a body (None: nothing), and the case number or form id it may
    log. A body that is not JSON at all is left to FastAPI, whose 422 names the position."""
    try:
        text = body.decode()  # JSON between systems is UTF-8 (RFC 8259); FastAPI would guess
    except UnicodeDecodeError:
        return Refusal("the body is not UTF-8 text"), {}
    try:
        # NaN and Infinity become floats here, to be refused below with where they stand.
        parsed = json.loads(text, parse_constant=float) if text.strip() else None
    except json.JSONDecodeError:
        return None, {}
    except RecursionError:
        return Refusal("the body is nested too deeply"), {}
    except ValueError as error:  # such as a number of more digits than Python converts
        return Refusal(f"the body cannot be read: {error}"), {}
    refusal = _walk(parsed)
    return refusal, ({} if refusal else _names(parsed))


def _walk(parsed: Any) -> Refusal | None:
    """The first value nothing could keep or echo, with its place; without recursion, so that
    the depth is checked before it could matter."""
    pending: list[tuple[Any, Location]] = [(parsed, ())]
    while pending:
        value, loc = pending.pop()
        if len(loc) >= MAX_DEPTH:
            return Refusal(f"the body is nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            for key, item in value.items():
                if SURROGATE.search(key):
                    return _surrogate(loc)
                pending.append((item, (*loc, key)))
        elif isinstance(value, list):
            pending.extend((item, (*loc, index)) for index, item in enumerate(value))
        elif isinstance(value, float) and not math.isfinite(value):
            return Refusal("Input should be a finite number", loc, "finite_number")
        elif isinstance(value, str) and SURROGATE.search(value):
            return _surrogate(loc)
    return None


def _surrogate(loc: Location) -> Refusal:
    return Refusal("the body holds a lone surrogate (a \\u escape that is no character)", loc)


def _names(parsed: Any) -> dict[str, str]:
    names: dict[str, str] = {}
    if isinstance(parsed, dict):
        for field, name, pattern in LOGGED:
            value = parsed.get(field)
            if isinstance(value, str) and re.fullmatch(pattern, value):
                names[name] = value
    return names
