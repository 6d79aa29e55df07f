"""The quarterly follow-up's paths for the replay corpus; the tests drive the same ones.

The schedule fires on 1 April 2027 at 07:00. SAP reports everyone past the end date, or with
stopped pay, who has no final settlement; the units are asked about all but those with an open
case and those who go on in another position.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from temporalio.client import WorkflowHandle

from domain.cases import OSLO
from domain.follow_ups import QuarterlyFollowUpInput
from tests.harness import Harness
from tests.scenarios_end_date_watch import (
    FYSIKK,
    IDI,
    IMF,
    at,
    employee,
    result_at,
    settlement_form,
)
from workflows.quarterly_follow_up import QuarterlyFollowUp

FIRED = datetime(2027, 4, 1, 7, 0, tzinfo=OSLO)
DONE = FIRED + timedelta(minutes=10)  # time enough for SAP's retries too
FOLLOW_UP_ID = "quarterly-follow-up-2027-04-01T05:00:00Z"  # as the schedule names its runs

STILL_PAID = {
    "05000021": employee("05000021", "Kari Nordmann", IDI, date(2027, 2, 28)),
    "05000028": employee("05000028", "Eva Lund", FYSIKK, date(2027, 3, 31)),  # yesterday
}
PAY_STOPPED = {
    "05000022": employee(
        "05000022", "Ola Hansen", IDI, date(2027, 1, 31), lonn_stoppet_fra=date(2027, 2, 1)
    ),
    "05000023": employee(
        "05000023", "Per Berg", IMF, date(2027, 3, 15), lonn_stoppet_fra=date(2027, 3, 16)
    ),
}
ASKED = {**STILL_PAID, **PAY_STOPPED}
SETTLED = employee("05000024", "Lise Dahl", IDI, date(2027, 2, 15))  # settlement in SAP
LEAVING = employee("05000025", "Nils Lie", IMF, date(2027, 3, 20))  # open Fratredelse
NOT_YET = employee("05000026", "Anne Moe", IDI, date(2027, 4, 30))
ENDS_TODAY = employee("05000029", "Tor Vik", IMF, date(2027, 4, 1))
OTHER_POSITION = employee("05000027", "Jon Aas", IDI, date(2027, 3, 1), annen_stilling=True)
PERMANENT = employee("05000030", "Gro Strand", IDI, None)
NOT_ASKED = [SETTLED, LEAVING, NOT_YET, ENDS_TODAY, OTHER_POSITION, PERMANENT]


def seed(h: Harness) -> None:
    for person in [*ASKED.values(), *NOT_ASKED]:
        h.sap.add_employee(person)
    h.sap.register_final_settlement(
        SETTLED.ansattnummer, date(2027, 2, 15), date(2027, 3, 12), "seed/settlement"
    )
    h.submit(settlement_form(LEAVING.ansattnummer, LEAVING.navn), "Fratredelse")


async def start_follow_up(h: Harness, workflow_id: str = FOLLOW_UP_ID) -> WorkflowHandle:
    return await h.start_workflow(QuarterlyFollowUp.run, QuarterlyFollowUpInput(), workflow_id)


async def asks_units(h: Harness) -> WorkflowHandle:
    seed(h)
    await at(h, FIRED)
    handle = await start_follow_up(h)
    await result_at(h, handle, DONE)
    return handle


SCENARIOS = {"quarterly_follow_up/asks_units": asks_units}
