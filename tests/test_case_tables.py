"""The case handlers' tables (`saksflyt cases`, `radar`, `case`) at 80 columns, the width of a
terminal nobody widened: every cell whole, for every process and every state, where they once
cut each state to "awai…"."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from rich.console import Console
from rich.table import Table

from domain.cases import STATE_TEXT, CaseProgress, WaitState
from domain.processes import PROCESSES
from workers.case_index import StuckCase
from workers.cases import CaseLine, cases_table, radar_table
from workers.cli.common import show
from workers.journey import Journey, RunJourney, Step, print_journey

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def line(process: str, state: WaitState, status: str = "RUNNING") -> CaseLine:
    return CaseLine(
        workflow_id=f"{process}-I2611-0042",
        run_id=None,
        status=status,
        process=process,
        case_number="I2611-0042",
        state=state.value,
        since=NOW,
        age_in_state=123.4,
        due=NOW,
        sla_standing="expired",
        sla_due=NOW,
        sla_expires=NOW,
        escalation_level=4,
        unit="Fakultet for informasjonsteknologi og elektroteknikk",
    )


def every_case() -> list[CaseLine]:
    lines = [line(p.name, s) for p in PROCESSES for s in WaitState]
    return [*lines, line("new_hire", WaitState.DONE, status="TERMINATED")]


def printed(renderable: object) -> str:
    console = Console(width=80, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def words_of(table: Table) -> set[str]:
    return {word for column in table.columns for cell in column.cells for word in str(cell).split()}


def assert_whole(table: Table) -> None:
    text = printed(table)
    assert "…" not in text
    assert max(len(row) for row in text.splitlines()) <= 80
    shown = set(text.split())
    missing = {w for w in words_of(table) if not w.startswith("[")} - shown
    assert not missing, text


def test_the_case_list_fits_80_columns_whole():
    table = cases_table(every_case(), "17 open cases")
    assert_whole(table)
    text = printed(table)
    for words in STATE_TEXT.values():
        assert all(word in text for word in words.split())
    assert "awai" not in text


def every_stuck_case() -> list[StuckCase]:
    return [
        StuckCase(
            workflow_id=f"{p.id_prefix}-I2611-0042",
            case_number="I2611-0042",
            process=p.name,
            state=s.value,
            reason="sla_expired",
            limit_days=100,
        )
        for p in PROCESSES
        for s in WaitState
    ]


def test_the_radar_fits_80_columns_whole():
    assert_whole(radar_table(every_stuck_case()))


@pytest.mark.parametrize(
    "table",
    [lambda: cases_table(every_case(), "every case"), lambda: radar_table(every_stuck_case())],
)
def test_saksflyt_shows_them_as_tables_at_80_columns(table, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "80")
    show(table())
    header = capsys.readouterr().out.splitlines()[1]
    assert header.split()[:2] == ["case", "process"]  # a table, not a block per case


def test_a_journey_at_80_columns_cuts_nothing():
    steps = [
        Step(time=NOW, kind="started", text="Resignation started"),
        Step(
            time=NOW,
            kind="state",
            text=f"{STATE_TEXT[WaitState.HANDED_OVER]}, due 2026-12-12 00:00",
            state="handed_over",
        ),
        Step(time=NOW, kind="child", text="child FinalSettlement final-settlement-F-1234 started"),
        Step(
            time=NOW,
            kind="signal",
            text="signal approval_hint",
            identity="48213@saksflyt-worker-7d9f8c6b5-x2k4q.tjenestesenteret.ntnu.no",
        ),
        Step(time=NOW, kind="escalation", text="escalated to level 3"),
    ]
    run = RunJourney(
        case=line("resignation", WaitState.HANDED_OVER),
        workflow_type="Resignation",
        summary="Oppsigelse I2611-0042",
        steps=steps,
        progress=CaseProgress(
            process="resignation", case_number="I2611-0042", state=WaitState.HANDED_OVER, since=NOW
        ),
    )
    console = Console(width=80, record=True, file=io.StringIO())
    print_journey(console, Journey(case_number="I2611-0042", runs=[run]))
    text = console.export_text()
    assert "…" not in text
    assert "2026-11-20 10:30:00" in text  # the time on one line, whole
    assert "escalation" in text and "overlatt til sluttoppgjøret" in text
