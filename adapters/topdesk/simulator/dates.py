"""Dates and text as TOPdesk writes them (§6.2): parsing the input forms, the fixed output form,
``dateFormat=iso8601``, the memo header line, and the plain text of the small HTML subset.

One clock hands out strictly increasing timestamps so pollers never miss a write.
"""

from __future__ import annotations

import html
import re
import threading
from datetime import UTC, datetime, timedelta

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


def format_iso8601(text: str) -> str:
    """The ``dateFormat=iso8601`` form of a stored date, ``2026-11-23T19:10:00Z`` (§2.4)."""
    return f"{parse_date(text):%Y-%m-%dT%H:%M:%S}Z"


_BR_RE = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG_RE = re.compile(r"<[^>]*>")


def html_to_plain(text: str) -> str:
    """Plain text of the small HTML subset TOPdesk accepts in request/action (§2.3).

    Line breaks must be sent as ``<br>``; everything else that looks like a tag is dropped.
    """
    return html.unescape(_TAG_RE.sub("", _BR_RE.sub("\n", text)))


def memo_header(moment: datetime, author: str) -> str:
    """The header line TOPdesk puts above each request entry (§2.2, §6.2); always UTC here."""
    return f"{moment.astimezone(UTC):%d-%m-%Y %H:%M} [GMT +0:00] {author}: "


class Clock:
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
