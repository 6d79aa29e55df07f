"""The fault suite (`make faults`, tests/faults) in its short version, and proof that its
counters can fail: a duplicate planted in a store and a case whose workflow never started are
counted."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from adapters.dfo.sap import NewHire, SapStub
from adapters.topdesk.client import TopdeskClient
from adapters.topdesk.models import NewIncident, Ref
from adapters.topdesk.simulator import TopdeskSimulator
from tests.faults.cases import NEW_HIRE, Case
from tests.faults.count import LOST, duplicates, state_of, topdesk_replies
from workers.settings import Settings

SHORT = ["--cases", "6", "--kill-every", "0", "--chaos", "0", "--pause", "1.5", "--spread", "3"]


def test_the_short_fault_run_loses_nothing_duplicates_nothing_and_stops_its_stack(
    tmp_path: Path,
):
    run = subprocess.run(
        [sys.executable, "-m", "tests.faults", *SHORT, "--settle", "45", "--data-dir",
         str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    for line in (
        "cases                6",
        "completed            6",
        "stuck                0",
        "lost                 0",
    ):
        assert line in out, out
    assert re.findall(r"^  [A-Za-zØø ]+ +(\d+)$", out.split("duplicates")[1], re.M) == ["0"] * 7
    assert re.search(r"^identifiers in clear 0 of [1-9]\d*$", out, re.M), out
    assert re.search(r"^hostile requests +[1-9]\d*, answered 5xx 0$", out, re.M), out
    assert re.search(r"^secret in log lines +0$", out, re.M), out
    for kill in ("worker kills", "Temporal kills", "intake kills", "TOPdesk kills"):
        assert re.search(rf"{kill} +[1-9]", out), out
    ports = {int(port) for port in re.findall(r"127\.0\.0\.1:(\d+)", out)}
    assert ports and not [port for port in ports if _listening(port)]


def test_a_second_registration_of_one_person_planted_in_sap_is_a_duplicate(tmp_path: Path):
    settings = Settings(data_dir=tmp_path)
    sap = SapStub(settings.sap_stub_path)
    hire = NewHire(
        navn="Kari Nordmann",
        fnr="15038510190",
        startdato=date(2027, 2, 1),
        kontonummer="86011117947",
        dellonnsprosent=Decimal(100),
        sakarkivnr="2026/12345",
    )
    sap.register_new_hire(hire, "new-hire-I1/register/0")
    assert duplicates(settings)["SAP registrations"] == 0
    with sap.store.transaction() as db:  # what a lost idempotency key would leave behind
        db.execute(
            "insert into registrations select 'NH-999999', person, data, status, reason, updated"
            " from registrations"
        )
    assert duplicates(settings)["SAP registrations"] == 1


def test_an_identical_reply_written_twice_on_a_case_is_a_duplicate(
    simulator: TopdeskSimulator, topdesk: TopdeskClient
):
    number = topdesk.create_incident(
        NewIncident(
            brief_description="Nyansettelse", request="Skjema", category=Ref(name="Nyansettelse")
        )
    ).number
    topdesk.reply_to_caller(number, "Saken er mottatt.")
    assert topdesk_replies(simulator.config.db_path) == 0
    topdesk.reply_to_caller(number, "Saken er mottatt.")
    assert topdesk_replies(simulator.config.db_path) == 1


async def test_a_case_whose_workflow_never_started_is_lost(env: WorkflowEnvironment):
    never_started = Case(0, NEW_HIRE, key="I2612-0001")
    state, why = await state_of(env.client, never_started, {})
    assert (state, why) == (LOST, "workflow never started")


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
