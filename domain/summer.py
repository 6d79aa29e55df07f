"""The summer rule (seed 002): the centre does not use "Venter på bruker" in summer.

TOPdesk completes a case that has waited for its caller for ten days, and in summer the caller
is often away, so a case would close for a silence that is only a holiday. In the period a wait
for the caller shows "På vent" instead, with no last day to answer; once the period is over the
caller is asked again with a full answer period. The seed names only "the summer"; the default
period is the summer months, June to August, and a deployment sets its own
(`SAKSFLYT_SUMMER_FROM`, `SAKSFLYT_SUMMER_TO`).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from pydantic import BaseModel, field_validator

from domain.calendar_day import OSLO, norwegian_day

# A year that is not a leap year: a day-month that does not exist in it (29.02) is refused, since
# a period would then begin or end only every fourth year.
_PLAIN_YEAR = 2001


class SummerPeriod(BaseModel):
    """A period that comes back every year: from its first day to its last, both included, as
    days in Norway, written "DD.MM". A last day before the first runs into the next year."""

    first: str = "01.06"
    last: str = "31.08"

    @field_validator("first", "last")
    @classmethod
    def _day_month(cls, value: str) -> str:
        day_month(value)
        return value


def day_month(text: str) -> tuple[int, int]:
    """(day, month) of "DD.MM"; ValueError for anything else, named in the message."""
    try:
        day, month = (int(part) for part in text.strip().split("."))
        date(_PLAIN_YEAR, month, day)
    except ValueError:
        raise ValueError(f"not a day and month as DD.MM (and not 29.02): {text!r}") from None
    return day, month


def summer_window(period: SummerPeriod, moment: datetime) -> tuple[datetime, datetime]:
    """The period that holds `moment`, or else the next one: its start (midnight in Norway
    before its first day) and its end (midnight after its last day)."""
    year = norwegian_day(moment).year
    for start, end in (_occurrence(period, year - 1), _occurrence(period, year)):
        if moment < end:
            return start, end
    return _occurrence(period, year + 1)


def in_summer(period: SummerPeriod, moment: datetime) -> bool:
    start, _ = summer_window(period, moment)
    return start <= moment


def summer_meets(period: SummerPeriod, asked: datetime, deadline: datetime) -> bool:
    """Whether a wait for the caller from `asked` to its last day to answer is touched by the
    period: it is in it, or the period begins before the last day is over."""
    start, _ = summer_window(period, asked)
    return start <= deadline


def _occurrence(period: SummerPeriod, year: int) -> tuple[datetime, datetime]:
    first_day, first_month = day_month(period.first)
    last_day, last_month = day_month(period.last)
    first = date(year, first_month, first_day)
    last = date(year, last_month, last_day)
    if last < first:
        last = date(year + 1, last_month, last_day)
    return _midnight(first), _midnight(last + timedelta(days=1))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=OSLO)


def _last_day(end: datetime) -> str:
    return f"{(end - timedelta(hours=12)).astimezone(OSLO):%d.%m.%Y}"


def summer_question(question: str, end: datetime) -> str:
    """The question asked in the period (`question`: what is missing, and how to answer): the
    case waits on hold, says why and until when (seed 000 asks both of every hold)."""
    return (
        f"{question}Saken står på vent til du svarer: i sommerperioden lukkes ingen sak fordi "
        f"svaret uteblir. Har vi ikke svaret innen {_last_day(end)}, får du en ny svarfrist."
    )


def summer_hold(end: datetime) -> str:
    """What a caller already asked is told when the period begins: the wait goes on, on hold."""
    return (
        "Vi venter fortsatt på svar fra deg i denne saken. I sommerperioden lukkes ingen sak "
        f"fordi svaret uteblir, så saken står på vent til og med {_last_day(end)}: svar når du "
        "kan. Har vi ikke svaret da, får du en ny svarfrist."
    )
