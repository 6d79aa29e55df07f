"""The quarterly follow-up's paths for the replay corpus; the tests drive the same ones.

The schedule fires on the 1st of a quarter's first month at 07:00, the next after the test
server's clock (which starts at the real date), e.g. on 1 April 2027. SAP reports everyone past
the end date, or with stopped pay, who has no final settlement; the units are asked about all but
those with an open case and those who go on in another position. `FollowUp` holds the moments and
the employees, whose end dates are placed around the day it fires, so the paths are the same
whatever day they run on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from temporalio.client import WorkflowHandle

from adapters.dfo.sap import Employee
from domain.follow_ups import QuarterlyFollowUpInput
from domain.payroll_calendar import settlement_pay_day
from tests.harness import Harness
from tests.scenarios_end_date_watch import (
    FYSIKK,
    IDI,
    IMF,
    at,
    employee,
    first_of_a_month_after,
    result_at,
    settlement_form,
)
from workflows.quarterly_follow_up import QuarterlyFollowUp


@dataclass(frozen=True)
class FollowUp:
    """One firing of the schedule and SAP's employees for it."""

    fired: datetime

    @classmethod
    async def next(cls, h: Harness) -> FollowUp:
        now = await h.env.get_current_time()
        return cls(first_of_a_month_after(now, months=[1, 4, 7, 10], hour=7))

    @property
    def today(self) -> date:
        return self.fired.date()  # the Norwegian day it fires

    @property
    def done(self) -> datetime:
        return self.fired + timedelta(minutes=10)  # time enough for SAP's retries too

    @property
    def id(self) -> str:
        """The workflow id the schedule gives the run."""
        return f"quarterly-follow-up-{self.fired.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"

    def ago(self, days: int) -> date:
        return self.today - timedelta(days=days)

    @property
    def still_paid(self) -> dict[str, Employee]:
        return {
            "05000021": employee("05000021", "Kari Nordmann", IDI, self.ago(32)),
            "05000028": employee("05000028", "Eva Lund", FYSIKK, self.ago(1)),  # yesterday
        }

    @property
    def pay_stopped(self) -> dict[str, Employee]:
        first, second = self.ago(60), self.ago(17)
        return {
            "05000022": employee(
                "05000022", "Ola Hansen", IDI, first, lonn_stoppet_fra=first + timedelta(days=1)
            ),
            "05000023": employee(
                "05000023", "Per Berg", IMF, second, lonn_stoppet_fra=second + timedelta(days=1)
            ),
        }

    @property
    def asked(self) -> dict[str, Employee]:
        return {**self.still_paid, **self.pay_stopped}

    @property
    def settled(self) -> Employee:
        return employee("05000024", "Lise Dahl", IDI, self.ago(45))  # settlement in SAP

    @property
    def leaving(self) -> Employee:
        return employee("05000025", "Nils Lie", IMF, self.ago(12))  # open Fratredelse

    @property
    def not_yet(self) -> Employee:
        return employee("05000026", "Anne Moe", IDI, self.today + timedelta(days=29))

    @property
    def not_asked(self) -> list[Employee]:
        return [
            self.settled,
            self.leaving,
            self.not_yet,
            employee("05000029", "Tor Vik", IMF, self.today),  # ends today
            employee("05000027", "Jon Aas", IDI, self.ago(31), annen_stilling=True),
            employee("05000030", "Gro Strand", IDI, None),  # permanent
        ]


def seed(h: Harness, follow_up: FollowUp) -> None:
    for person in [*follow_up.asked.values(), *follow_up.not_asked]:
        h.sap.add_employee(person)
    settled = follow_up.settled
    assert settled.sluttdato is not None
    h.sap.register_final_settlement(
        settled.ansattnummer,
        settled.sluttdato,
        settlement_pay_day(settled.sluttdato),
        "seed/settlement",
    )
    leaving = follow_up.leaving
    h.submit(settlement_form(leaving.ansattnummer, leaving.navn), "Fratredelse")


async def start_follow_up(h: Harness, workflow_id: str) -> WorkflowHandle:
    return await h.start_workflow(QuarterlyFollowUp.run, QuarterlyFollowUpInput(), workflow_id)


async def asks_units(h: Harness) -> WorkflowHandle:
    follow_up = await FollowUp.next(h)
    seed(h, follow_up)
    await at(h, follow_up.fired)
    handle = await start_follow_up(h, follow_up.id)
    await result_at(h, handle, follow_up.done)
    return handle


SCENARIOS = {"quarterly_follow_up/asks_units": asks_units}
