"""Transport faults injected in front of the API (status, latency, dropped connection), so tests
can exercise the adapter's retries. Rules count down per hit and disappear when used up.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, fields
from typing import Any

from .config import ApiError, FaultRule


@dataclass(eq=False)
class _ActiveFault:
    rule: FaultRule
    remaining: int | None


class FaultInjector:
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


def fault_rule_from_json(value: Any) -> FaultRule:
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
