"""The end-date watch's paths for the replay corpus; the tests drive the same ones.

The schedule fires on the 1st of the month after the test server's (which starts at the real
date), at 06:00; the watch is then for the next month's run and acts two working days before its
cut-off, for the end dates from that day to the last day of the month the run pays. Fired on
1 January 2027: the February run (pay day 12.02.2027, cut-off 28.01.2027), acting on 26.01.2027
for the end dates from 26.01.2027 to 28.02.2027. `Watch` holds the moments and the employees,
whose end dates are placed in and around that window, so the paths are the same whatever day
they run on.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from temporalio.client import WorkflowHandle

from adapters.dfo.sap import Employee
from domain.calendar_day import norwegian_day
from domain.cases import OSLO
from domain.follow_ups import EndDateWatchInput, WatchPlan, plan_watch
from domain.payroll_calendar import PayrollCalendar
from domain.unit_cases import UNIT_CASE_CATEGORY
from tests.harness import Harness
from workflows.end_date_watch import EndDateWatch

IDI = "Institutt for datateknologi og informatikk"
IMF = "Institutt for matematiske fag"
FYSIKK = "Institutt for fysikk"  # SAP has no e-mail address for it
UNIT_EMAIL = {IDI: "idi-hr@ntnu.no", IMF: "imf-hr@ntnu.no"}


def employee(
    number: str,
    name: str,
    unit: str,
    end: date | None,
    lonn_stoppet_fra: date | None = None,
    annen_stilling: bool = False,
) -> Employee:
    return Employee(
        ansattnummer=number,
        startdato=date(2024, 1, 1),
        sluttdato=end,
        navn=name,
        organisasjon=unit,
        enhet_epost=UNIT_EMAIL.get(unit),
        lonn_stoppet_fra=lonn_stoppet_fra,
        annen_stilling=annen_stilling,
    )


def first_of_a_month_after(
    moment: datetime, months: Collection[int] = range(1, 13), hour: int = 6
) -> datetime:
    """`hour` o'clock in Oslo on the first 1st of a month (one of `months`) after `moment`: when
    the schedule fires next, ahead of the test server's clock."""
    day = norwegian_day(moment).replace(day=1)
    while True:
        day = (day + timedelta(days=31)).replace(day=1)
        if day.month in months:
            return datetime.combine(day, time(hour, 0), tzinfo=OSLO)


def watch_id(fired: datetime) -> str:
    """The workflow id the schedule gives the run it fires at `fired`."""
    return f"end-date-watch-{fired.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


@dataclass(frozen=True)
class Watch:
    """One firing of the schedule, the watch it should plan, and SAP's employees for it."""

    fired: datetime
    plan: WatchPlan  # what the watch fired then should plan (the payroll calendar's dates)

    @classmethod
    async def next(cls, h: Harness, days_before_cutoff: int = 2) -> Watch:
        """The schedule's next firing after the test server's clock."""
        fired = first_of_a_month_after(await h.env.get_current_time())
        plan = plan_watch(PayrollCalendar(), fired.date(), days_before_cutoff)
        return cls(fired, plan)

    @property
    def acts(self) -> datetime:
        """The watch day, at the watch's hour."""
        return datetime.combine(self.plan.watch_day, time(7, 0), tzinfo=OSLO)

    @property
    def done(self) -> datetime:
        return self.acts + timedelta(minutes=10)  # time enough for SAP's retries too

    @property
    def id(self) -> str:
        return watch_id(self.fired)

    def day(self, day: int) -> date:
        """A day of the month the run pays: always within the watch's window."""
        return self.plan.pay_day.replace(day=day)

    # Who the watch stops: end dates from the watch day to the last day of the month the run
    # pays, no case about them, pay running, no other position.
    @property
    def stopped(self) -> dict[str, Employee]:
        return {
            "05000001": employee("05000001", "Kari Nordmann", IDI, self.day(15)),
            "05000002": employee("05000002", "Ola Hansen", IDI, self.plan.ending_until),  # last
            "05000003": employee("05000003", "Per Berg", IMF, self.plan.watch_day),  # watch day
            "05000010": employee("05000010", "Siri Holm", IMF, self.day(18)),  # her case closed
            "05000011": employee("05000011", "Arne Bakke", FYSIKK, self.day(3)),
        }

    # Who the watch leaves alone.
    @property
    def extended(self) -> Employee:
        return employee("05000004", "Lise Dahl", IDI, self.day(10))  # open Forlengelse

    @property
    def leaving(self) -> Employee:
        return employee("05000005", "Nils Lie", IMF, self.day(20))  # open Fratredelse

    @property
    def already_stopped(self) -> Employee:
        return employee("05000006", "Anne Moe", IDI, self.day(5), lonn_stoppet_fra=self.day(6))

    @property
    def left_alone(self) -> list[Employee]:
        day_before = self.plan.watch_day - timedelta(days=1)
        day_after = self.plan.ending_until + timedelta(days=1)
        return [
            self.extended,
            self.leaving,
            self.already_stopped,
            employee("05000007", "Tor Vik", IDI, day_before),  # before the watch day
            employee("05000008", "Eva Lund", IMF, day_after),  # after the month
            employee("05000009", "Jon Aas", IDI, self.day(12), annen_stilling=True),
            employee("05000012", "Gro Strand", IDI, None),  # permanent
        ]


def extension_form(number: str, name: str) -> str:
    return (
        f"Skjema: Forlengelse\nNavn: {name}\nAnsattnummer: {number}\n"
        "Ny sluttdato: 30.06.2028\nePhorte-nummer: 2026/23456"
    )


def settlement_form(number: str, name: str) -> str:
    return (
        f"Skjema: Fratredelse\nNavn: {name}\nAnsattnummer: {number}\n"
        "Sluttdato: 20.02.2027\nÅrsak: Midlertidig\nLeder: Berit Leder"
    )


async def at(h: Harness, moment: datetime) -> None:
    """Let the test server's clock run to `moment` (it starts at the wall clock's now)."""
    now = await h.env.get_current_time()
    assert now < moment, f"the test server's clock is already past {moment}"
    await h.env_sleep(moment - now)


async def result_at(h: Harness, handle: WorkflowHandle, moment: datetime) -> Any:
    """Run the clock to `moment`, then take the result without skipping time: the test server,
    left to skip while a result is awaited, jumps years ahead once the workflow has finished,
    and a second run would then plan a watch in another decade."""
    await at(h, moment)
    return await result_of(h, handle)


async def result_of(h: Harness, handle: WorkflowHandle) -> Any:
    """The result of a workflow that has finished (or finishes without a timer)."""
    with h.env.auto_time_skipping_disabled():
        return await handle.result()


def seed(h: Harness, watch: Watch) -> None:
    """SAP's employees, and the cases the centre has been told in."""
    for person in [*watch.stopped.values(), *watch.left_alone]:
        h.sap.add_employee(person)
    extended, leaving = watch.extended, watch.leaving
    h.submit(extension_form(extended.ansattnummer, extended.navn), "Forlengelse")
    h.submit(settlement_form(leaving.ansattnummer, leaving.navn), "Fratredelse")
    closed = h.submit(extension_form("05000010", "Siri Holm"), "Forlengelse")
    h.topdesk.set_status(closed, "Lukket")  # withdrawn: no longer tells the centre anything


def unit_cases(h: Harness) -> dict[str, str]:
    """Number → request text of every case the watch opened to a unit."""
    found = h.topdesk.list_incidents(f"category.name=='{UNIT_CASE_CATEGORY}'")
    return {incident.number: incident.request or "" for incident in found}


def listed(text: str) -> set[str]:
    return set(re.findall(r"ansattnr\. (\d{8})", text))


async def start_watch(
    h: Harness, workflow_id: str, input: EndDateWatchInput | None = None
) -> WorkflowHandle:
    return await h.start_workflow(EndDateWatch.run, input or EndDateWatchInput(), workflow_id)


async def stops_pay_and_tells_units(h: Harness) -> WorkflowHandle:
    watch = await Watch.next(h)
    seed(h, watch)
    await at(h, watch.fired)
    handle = await start_watch(h, watch.id)
    await result_at(h, handle, watch.done)
    return handle


SCENARIOS = {"end_date_watch/stops_pay_and_tells_units": stops_pay_and_tells_units}
