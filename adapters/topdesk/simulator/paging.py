"""Paging (§6.3): 200 for the last page, 206 when more exist, 204 when the page is empty.

TOPdesk renamed ``start``/``page_size`` to ``pageStart``/``pageSize`` on incidents and persons,
but not on operator groups or sub-resources, and stock clients (TOPdeskPy, topdesk-mcp,
Pipedream) still send the old names to ``/incidents``. A name left unread makes such a client ask
for the same 206 page for ever, so every list here reads both spellings, answers with the one the
client used, and refuses both at once with a 400 that says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from .config import ApiError
from .fields import int_param
from .web import Reply

_SPELLINGS = (("pageStart", "pageSize"), ("start", "page_size"))


@dataclass(frozen=True)
class Page:
    """Where a page starts, how long it is, and the parameter names the client used."""

    start: int
    size: int
    start_name: str
    size_name: str

    def next_url(self, path: str, params: dict[str, str]) -> str:
        """The ``x-next-page-url`` of this page: the same query, one page on (§2.4)."""
        following = {**params, self.start_name: self.start + self.size, self.size_name: self.size}
        return f"{path}?{urlencode(following)}"


def page_of(params: dict[str, str], default: int, maximum: int) -> Page:
    """Read the page from either spelling; 400 when both are given or a value is out of range."""
    used = [names for names in _SPELLINGS if any(name in params for name in names)]
    if len(used) > 1:
        raise ApiError(
            400,
            "Give either pageStart/pageSize or start/page_size, not both: "
            f"got {', '.join(sorted(n for names in used for n in names if n in params))}",
        )
    start_name, size_name = used[0] if used else _SPELLINGS[0]
    start = int_param(params, start_name, 0, 0, 10**9)
    size = int_param(params, size_name, default, 1, maximum)
    return Page(start, size, start_name, size_name)


def page_reply(items: list[Any], start: int, size: int, next_url: str | None = None) -> Reply:
    """200 for the last page, 206 when more exist, 204 when the page is empty (§6.3)."""
    page = items[start : start + size]
    if not page:
        return Reply(204)
    if start + size < len(items):
        return Reply(206, page, {"x-next-page-url": next_url} if next_url else {})
    return Reply(200, page)


def paged(items: list[Any], params: dict[str, str], default: int, maximum: int) -> Reply:
    """A sub-resource or supporting-files list, paged without a next-page header."""
    page = page_of(params, default, maximum)
    return page_reply(items, page.start, page.size)
