"""The Norwegian day of a moment: every rule that says "today" means the day in Norway.

Clocks hand us moments in UTC (`workflow.now()`, an activity's `datetime.now(UTC)`), and a UTC
moment's `.date()` is the day before in Norway from midnight to 01:00 in winter and to 02:00 in
summer. A fødselsnummer born that day, or a notice given that night, would then be judged on the
wrong day. This module sits apart from `domain.cases` so that every rule module can import it
without pulling in the case states.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

OSLO = ZoneInfo("Europe/Oslo")


class NaiveMoment(ValueError):
    """A moment without a time zone: its Norwegian day would depend on the machine's zone."""


def norwegian_day(moment: datetime) -> date:
    """The calendar day in Norway at `moment`, summer time included."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise NaiveMoment(f"{moment.isoformat()} has no time zone; pass an aware datetime")
    return moment.astimezone(OSLO).date()
