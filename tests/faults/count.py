"""The results, read from what lasts: Temporal's record of each case's workflow, the TOPdesk
simulator's database and the DFØ-side stubs' SQLite files. Nothing here trusts what the suite
itself believes it did, beyond the list of cases it created.

A case has *reached its end* when its process did what it is for: a new hire registered and
approved, its workflow completed and its TOPdesk case completed; a final settlement (and a
resignation's, on the case the resignation opened) waiting for its payroll run. It is *lost* when
its workflow never ran or ended otherwise (it never will reach its end), *stuck* when its workflow
still runs short of its end once the settle deadline has passed.

A duplicate is a second record of one business fact: a second SAP registration of one person, a
second settlement of one employee, a second SPK message for one employee and date, a second
journal post or letter of one title in one personnel file (or a second open personnel file), a
second identical operator entry on one TOPdesk case, a second TOPdesk case opened for one DFØ
portal form.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from domain.cases import CaseOutcome, WaitState
from tests.faults.cases import CATEGORIES, NEW_HIRE, RESIGNATION, SETTLEMENT, Case
from workers.settings import Settings
from workflows import search_attributes as sa

REACHED, STUCK, LOST = "reached its end", "stuck", "lost"


class Ended(BaseModel):
    """What the suite reads of a process's result."""

    outcome: str


@dataclass
class Figures:
    cases: int
    states: Counter[str]
    duplicates: Counter[str]
    unfinished: dict[str, str] = field(default_factory=dict)  # case → stuck / lost, and where

    @property
    def ok(self) -> bool:
        return self.states[REACHED] == self.cases and not sum(self.duplicates.values())


async def figures(client: Client, settings: Settings, cases: list[Case]) -> Figures:
    incidents = topdesk_incidents(settings.simulator_path)
    states: Counter[str] = Counter()
    unfinished: dict[str, str] = {}
    for case in [*cases, *strays(incidents, cases)]:
        state, where = await state_of(client, case, incidents)
        states[state] += 1
        if state != REACHED:
            unfinished[case.key] = f"{state}: {case.workflow_id} {where}"
    return Figures(len(cases), states, duplicates(settings), unfinished)


async def settled(client: Client, cases: list[Case], settings: Settings) -> bool:
    """Whether every case has reached its end (the settle phase's test)."""
    incidents = topdesk_incidents(settings.simulator_path)
    for case in cases:
        if (await state_of(client, case, incidents))[0] != REACHED:
            return False
    return True


# -- one case --------------------------------------------------------------------------------


async def state_of(
    client: Client, case: Case, incidents: dict[str, dict[str, Any]]
) -> tuple[str, str]:
    """The case's state, and where it stands (for the report)."""
    if case.kind == RESIGNATION:
        return await _resignation(client, case, incidents)
    status, wait = await _workflow(client, case.workflow_id)
    if case.kind == NEW_HIRE:
        return await _new_hire(client, case, status, incidents)
    return _settlement(status, wait)


async def _new_hire(
    client: Client,
    case: Case,
    status: WorkflowExecutionStatus | None,
    incidents: dict[str, dict[str, Any]],
) -> tuple[str, str]:
    if status is WorkflowExecutionStatus.RUNNING:
        return STUCK, "running"
    if status is not WorkflowExecutionStatus.COMPLETED:
        return LOST, f"workflow {status.name if status else 'never started'}"
    handle = client.get_workflow_handle(case.workflow_id, result_type=Ended)
    outcome = (await handle.result()).outcome
    completed = incidents.get(case.key, {}).get("completed", False)
    if outcome != CaseOutcome.REGISTERED or not completed:
        return LOST, f"outcome {outcome}, TOPdesk completed: {completed}"
    return REACHED, ""


def _settlement(status: WorkflowExecutionStatus | None, wait: str | None) -> tuple[str, str]:
    if status is not WorkflowExecutionStatus.RUNNING:
        return LOST, f"workflow {status.name if status else 'never started'}"
    if wait != WaitState.AWAITING_PAYROLL:
        return STUCK, f"in {wait}"
    return REACHED, ""


async def _resignation(
    client: Client, case: Case, incidents: dict[str, dict[str, Any]]
) -> tuple[str, str]:
    """The resignation hands its case over to its final settlement, which waits for payroll."""
    status, wait = await _workflow(client, case.workflow_id)
    if status is not WorkflowExecutionStatus.RUNNING:
        return LOST, f"workflow {status.name if status else 'never started'}"
    opened = [number for number, doc in incidents.items() if doc.get("externalNumber") == case.key]
    if wait != WaitState.HANDED_OVER or not opened:
        return STUCK, f"in {wait}"
    return _settlement(*await _workflow(client, f"final-settlement-{opened[0]}"))


async def _workflow(
    client: Client, workflow_id: str
) -> tuple[WorkflowExecutionStatus | None, str | None]:
    """The workflow's status and wait state; (None, None) when it never started."""
    try:
        description = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        return None, None
    return description.status, description.typed_search_attributes.get(sa.WAIT_STATE)


def strays(incidents: dict[str, dict[str, Any]], cases: list[Case]) -> list[Case]:
    """TOPdesk cases of a routed form the suite does not know it created: each must have its
    case too (none is expected; one would be a case created twice)."""
    known = {case.key for case in cases}
    kinds = {CATEGORIES[NEW_HIRE]: NEW_HIRE, CATEGORIES[SETTLEMENT]: SETTLEMENT}
    return [
        Case(-1, kinds[doc["category"]["name"]], key=number)
        for number, doc in incidents.items()
        if number not in known and (doc.get("category") or {}).get("name") in kinds
    ]


# -- duplicates ------------------------------------------------------------------------------


def duplicates(settings: Settings) -> Counter[str]:
    sap, spk = settings.sap_stub_path, settings.spk_stub_path
    counts: Counter[str] = Counter(
        {
            "SAP registrations": extra(_rows(sap, "select person from registrations")),
            "SAP settlements": extra(_json(sap, "settlements", "ansattnummer")),
            "SPK messages": extra(_rows(spk, "select ansattnummer, fradato from messages")),
            "TOPdesk replies": topdesk_replies(settings.simulator_path),
            "TOPdesk cases": extra(
                doc["externalNumber"]
                for doc in topdesk_incidents(settings.simulator_path).values()
                if doc.get("externalNumber")
            ),
        }
    )  # fmt: skip
    counts.update(archive(settings.archive_stub_path))
    return counts


def extra(keys: Iterable[Any]) -> int:
    """Records beyond the first of each key."""
    return sum(count - 1 for count in Counter(keys).values())


def archive(path: Path) -> Counter[str]:
    """Letters (outgoing journal posts, which dispatch the letter) and the other journal posts,
    per personnel file and title; and open personnel files per employee."""
    posts = [json.loads(row[0]) for row in _rows(path, "select data from posts")]
    letters = [(p["saksnummer"], p["tittel"]) for p in posts if p["dokumenttype"] == "U"]
    others = [(p["saksnummer"], p["tittel"]) for p in posts if p["dokumenttype"] != "U"]
    files = _rows(path, "select ansattnummer from files where status = 'B'")
    return Counter({"letters": extra(letters), "archive entries": extra(others) + extra(files)})


def topdesk_replies(path: Path) -> int:
    """Identical operator entries (replies and notes) on one case."""
    rows = _rows(path, "select incident_id, doc from entries where kind = 'action'")
    written = [(incident, json.loads(doc)) for incident, doc in rows]
    return extra((incident, doc["plainText"]) for incident, doc in written if doc.get("operator"))


def topdesk_incidents(path: Path) -> dict[str, dict[str, Any]]:
    """Every case in the simulator's database, by number."""
    docs = [json.loads(row[0]) for row in _rows(path, "select doc from incidents")]
    return {doc["number"]: doc for doc in docs}


def _json(path: Path, table: str, key: str) -> list[Any]:
    return [json.loads(row[0])[key] for row in _rows(path, f"select data from {table}")]


def _rows(path: Path, query: str) -> list[Any]:
    """Read-only, so that counting never creates or changes a store."""
    if not path.exists():
        return []
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as db:
        return db.execute(query).fetchall()
