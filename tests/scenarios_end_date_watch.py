"""The end-date watch's paths for the replay corpus; the tests drive the same ones.

The schedule fires on 1 January 2027 at 06:00; the watch is then for the February run (pay day
12.02.2027, cut-off 28.01.2027) and acts on 26.01.2027, two working days before the cut-off, for
the end dates from 26.01.2027 to 28.02.2027.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from temporalio.client import WorkflowHandle

from adapters.dfo.sap import Employee
from domain.cases import OSLO
from domain.follow_ups import EndDateWatchInput
from domain.unit_cases import UNIT_CASE_CATEGORY
from tests.harness import Harness
from workflows.end_date_watch import EndDateWatch

IDI = "Institutt for datateknologi og informatikk"
IMF = "Institutt for matematiske fag"
FYSIKK = "Institutt for fysikk"  # SAP has no e-mail address for it
UNIT_EMAIL = {IDI: "idi-hr@ntnu.no", IMF: "imf-hr@ntnu.no"}

FIRED = datetime(2027, 1, 1, 6, 0, tzinfo=OSLO)
ACTS = datetime(2027, 1, 26, 7, 0, tzinfo=OSLO)  # the watch day, at the watch's hour
DONE = datetime(2027, 1, 26, 7, 10, tzinfo=OSLO)  # time enough for SAP's retries too
WATCH_ID = "end-date-watch-2027-01-01T05:00:00Z"  # as the schedule names its runs


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


# Who the watch stops: end dates from the watch day to the last day of February, no case about
# them, pay running, no other position.
STOPPED = {
    "05000001": employee("05000001", "Kari Nordmann", IDI, date(2027, 2, 15)),
    "05000002": employee("05000002", "Ola Hansen", IDI, date(2027, 2, 28)),  # the last day
    "05000003": employee("05000003", "Per Berg", IMF, date(2027, 1, 26)),  # the watch day
    "05000010": employee("05000010", "Siri Holm", IMF, date(2027, 2, 18)),  # her case is closed
    "05000011": employee("05000011", "Arne Bakke", FYSIKK, date(2027, 2, 3)),
}
# Who the watch leaves alone.
EXTENDED = employee("05000004", "Lise Dahl", IDI, date(2027, 2, 10))  # open Forlengelse
LEAVING = employee("05000005", "Nils Lie", IMF, date(2027, 2, 20))  # open Fratredelse
ALREADY_STOPPED = employee(
    "05000006", "Anne Moe", IDI, date(2027, 2, 5), lonn_stoppet_fra=date(2027, 2, 6)
)
BEFORE_THE_WATCH_DAY = employee("05000007", "Tor Vik", IDI, date(2027, 1, 25))
AFTER_THE_MONTH = employee("05000008", "Eva Lund", IMF, date(2027, 3, 1))
OTHER_POSITION = employee("05000009", "Jon Aas", IDI, date(2027, 2, 12), annen_stilling=True)
PERMANENT = employee("05000012", "Gro Strand", IDI, None)
LEFT_ALONE = [
    EXTENDED,
    LEAVING,
    ALREADY_STOPPED,
    BEFORE_THE_WATCH_DAY,
    AFTER_THE_MONTH,
    OTHER_POSITION,
    PERMANENT,
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


def seed(h: Harness) -> None:
    """SAP's employees, and the cases the centre has been told in."""
    for person in [*STOPPED.values(), *LEFT_ALONE]:
        h.sap.add_employee(person)
    h.submit(extension_form(EXTENDED.ansattnummer, EXTENDED.navn), "Forlengelse")
    h.submit(settlement_form(LEAVING.ansattnummer, LEAVING.navn), "Fratredelse")
    closed = h.submit(extension_form("05000010", "Siri Holm"), "Forlengelse")
    h.topdesk.set_status(closed, "Lukket")  # withdrawn: no longer tells the centre anything


def unit_cases(h: Harness) -> dict[str, str]:
    """Number → request text of every case the watch opened to a unit."""
    found = h.topdesk.list_incidents(f"category.name=='{UNIT_CASE_CATEGORY}'")
    return {incident.number: incident.request or "" for incident in found}


def listed(text: str) -> set[str]:
    return set(re.findall(r"ansattnr\. (\d{8})", text))


async def start_watch(
    h: Harness, workflow_id: str = WATCH_ID, input: EndDateWatchInput | None = None
) -> WorkflowHandle:
    return await h.start_workflow(EndDateWatch.run, input or EndDateWatchInput(), workflow_id)


async def stops_pay_and_tells_units(h: Harness) -> WorkflowHandle:
    seed(h)
    await at(h, FIRED)
    handle = await start_watch(h)
    await result_at(h, handle, DONE)
    return handle


SCENARIOS = {"end_date_watch/stops_pay_and_tells_units": stops_pay_and_tells_units}
