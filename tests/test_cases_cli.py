"""The case handlers' commands (`saksflyt cases`, `case`, `radar`) on real case workflows, on the
Temporal dev server: the time-skipping server has no visibility to list them.

The commands are called as `saksflyt` calls them (their functions, with parsed arguments), in a
thread of their own since each runs its own event loop; what they print is what is asserted.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from domain.cases import CaseProgress, WaitState
from tests.eventually import eventually
from tests.harness import EXTENSION_FORM, Harness, form_for_person, form_without
from workers import cli
from workers.case_index import CaseRow, list_cases
from workers.cases import CaseFilter, select_cases
from workers.settings import Settings

OTHER_UNIT = "Institutt for fysikk"


@pytest.fixture
def settings(dev_server: WorkflowEnvironment, tmp_path: Path) -> Settings:
    """The settings `saksflyt` would read, pointed at the test's dev server (test_bulk uses it
    too)."""
    return Settings(
        temporal_address=dev_server.client.service_client.config.target_host,
        data_dir=tmp_path / "saksflyt",
    )


async def run_cli(
    settings: Settings, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, str]:
    """One `saksflyt` command: its exit code and what it printed."""
    capsys.readouterr()
    code = await asyncio.to_thread(cli.run, argv, settings)
    return code, capsys.readouterr().out


async def run_json(settings: Settings, capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out = await run_cli(settings, capsys, *argv, "--json")
    assert code == 0, out
    return json.loads(out)


async def listed(
    client: Client, query: str, done: Callable[[list[CaseRow]], bool], what: str
) -> list[CaseRow]:
    """Visibility lags the workflows a little: list until `done` holds."""

    async def rows() -> list[CaseRow]:
        rows = await list_cases(client, query)
        assert done(rows), f"visibility shows {rows}"
        return rows

    return await eventually(rows, what)


def in_states(expected: dict[str, str]) -> Callable[[list[CaseRow]], bool]:
    """Visibility shows exactly these cases (number → state)."""
    return lambda rows: {row.case_number: row.state for row in rows} == expected


async def started_in(h: Harness, form: str, state: WaitState) -> tuple[str, WorkflowHandle]:
    number = h.submit(form)
    handle = await h.start(number)
    await h.wait_state(handle, state)
    return number, handle


async def test_cases_filters_select_exactly_the_matching_open_cases(
    dev_h: Harness, settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch
):
    h = dev_h
    first, _ = await started_in(h, form_for_person(0), WaitState.AWAITING_APPROVAL)
    other_form = form_for_person(1, unit=OTHER_UNIT)
    other, _ = await started_in(h, other_form, WaitState.AWAITING_APPROVAL)
    asked, _ = await started_in(h, form_without("Kontonummer"), WaitState.AWAITING_CALLER)
    extension = h.submit_extension()
    await h.wait_state(await h.start_extension(extension), WaitState.AWAITING_APPROVAL)
    done, finished = await started_in(h, form_for_person(2), WaitState.AWAITING_APPROVAL)
    await h.decide(finished)
    await finished.result()
    await listed(
        h.client,
        "ExecutionStatus = 'Running'",
        in_states(
            {
                first: "awaiting_approval",
                other: "awaiting_approval",
                asked: "awaiting_caller",
                extension: "awaiting_approval",
            }
        ),
        "the four open cases in their states",
    )
    await listed(h.client, "ExecutionStatus = 'Completed'", in_states({done: "done"}), "done")

    def numbers(lines: list[dict[str, Any]]) -> set[str]:
        return {line["case_number"] for line in lines}

    every = await run_json(settings, capsys, "cases")
    assert numbers(every) == {first, other, asked, extension}
    assert numbers(await run_json(settings, capsys, "cases", "--process", "new_hire")) == {
        first,
        other,
        asked,
    }
    approval = await run_json(settings, capsys, "cases", "--state", "awaiting_approval")
    assert numbers(approval) == {first, other, extension}
    [by_unit] = await run_json(settings, capsys, "cases", "--unit", OTHER_UNIT)
    assert (by_unit["case_number"], by_unit["unit"]) == (other, OTHER_UNIT)
    closed_too = await run_json(settings, capsys, "cases", "--all", "--process", "new_hire")
    assert numbers(closed_too) == {first, other, asked, done}
    line = next(line for line in every if line["case_number"] == extension)
    assert (line["process"], line["state"], line["status"]) == (
        "extension",
        "awaiting_approval",
        "RUNNING",
    )
    assert line["sla_standing"] == "on_time" and line["age_in_state"] < 1

    monkeypatch.setenv("COLUMNS", "250")  # one case a line, whatever the terminal
    code, table = await run_cli(settings, capsys, "cases", "--state", "awaiting_caller")
    assert code == 0
    assert asked in table and "venter på bruker" in table and first not in table


async def test_age_and_overdue_are_read_off_the_clock_at_the_moment_asked(
    dev_h: Harness, settings: Settings
):
    """Nothing is stored: the same cases are young and on time now, and a month on past their
    limit, except the one waiting for its caller, whose SLA clock stands still meanwhile."""
    h = dev_h
    approving, _ = await started_in(h, form_for_person(0), WaitState.AWAITING_APPROVAL)
    asked, _ = await started_in(h, form_without("Kontonummer"), WaitState.AWAITING_CALLER)
    states = {approving: "awaiting_approval", asked: "awaiting_caller"}
    await listed(h.client, "", in_states(states), "both cases")
    now = datetime.now(UTC)
    later = now + timedelta(days=30)

    async def selected(filters: CaseFilter, at: datetime) -> set[str | None]:
        return {line.case_number for line in await select_cases(h.client, settings, filters, at)}

    assert await selected(CaseFilter(older_than=5), now) == set()
    assert await selected(CaseFilter(older_than=5), later) == {approving, asked}
    assert await selected(CaseFilter(overdue=True), now) == set()
    assert await selected(CaseFilter(overdue=True), later) == {approving}


async def test_employee_filter_finds_the_case_by_the_pseudonym_of_the_number(
    dev_h: Harness, settings: Settings, capsys: pytest.CaptureFixture[str]
):
    h = dev_h
    extension = h.submit_extension()  # employee 05001234
    await h.wait_state(await h.start_extension(extension), WaitState.AWAITING_APPROVAL)
    await listed(h.client, "EmployeeKey IS NOT NULL", lambda rows: len(rows) == 1, "the key")

    found = await run_json(settings, capsys, "cases", "--employee", "05001234")
    assert [line["case_number"] for line in found] == [extension]
    assert await run_json(settings, capsys, "cases", "--employee", "05009999") == []
    _, out = await run_cli(settings, capsys, "cases", "--employee", "05001234", "--json")
    assert "05001234" not in out  # the number itself is never printed


async def test_case_shows_its_journey_with_who_signalled_what_and_why(
    dev_h: Harness, settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch
):
    h = dev_h
    number, handle = await started_in(h, form_without("Kontonummer"), WaitState.AWAITING_CALLER)
    await h.reply(handle, number, "Kontonummer: 8601 11 17947")
    await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
    await listed(h.client, "", in_states({number: "awaiting_approval"}), "the case approving")
    code, out = await run_cli(
        settings,
        capsys,
        "bulk",
        "signal",
        "--name",
        "radar_flagged",
        "--input",
        '{"event_id": "flag-1", "reason": "sla_due", "limit_days": 100}',
        "--query",
        f"CaseNumber='{number}'",
        "--reason",
        "SLA-sjekk etter ferien",
        "--operator",
        "kari@hjelp",
        "--json",
    )
    assert code == 0, out
    assert [o["result"] for o in json.loads(out)] == ["ok"]

    # A signal that comes while a workflow task is under way is written to the history once the
    # task is done: read the journey until the flag the bulk action sent is in it.
    async def flagged_run() -> dict[str, Any]:
        journey = await run_json(settings, capsys, "case", number)
        [run] = journey["runs"]
        assert len([step for step in run["steps"] if step["kind"] == "signal"]) >= 3, run
        return dict(run)

    run = await eventually(flagged_run, "the radar flag in the journey")
    steps = run["steps"]
    signals = [step for step in steps if step["kind"] == "signal"]
    states = [step["state"] for step in steps if step["kind"] == "state"]
    assert states == ["working", "awaiting_caller", "working", "awaiting_approval"]
    assert [s["text"].split()[0:2] for s in signals] == [
        ["signal", "caller_replied"],
        ["operator_action", "signal"],
        ["signal", "radar_flagged"],
    ]
    action = signals[1]
    assert (action["operator"], action["reason"]) == ("kari@hjelp", "SLA-sjekk etter ferien")
    assert action["identity"] == "kari@hjelp"  # the CLI's client named the operator
    assert signals[0]["identity"] != "kari@hjelp"
    assert any(s["kind"] == "activity" and "TOPdesk" in s["text"] for s in steps)
    assert any(s["kind"] == "timer" for s in steps)  # the daily look in SAP while approving
    # in the history's order (an event's time is not: a signal that came while a workflow task
    # ran is written after the task's own events, with the earlier time of its arrival)
    history = await h.client.get_workflow_handle(handle.id).fetch_history()
    event_times = iter(event.event_time.ToDatetime(UTC) for event in history.events)
    assert all(datetime.fromisoformat(step["time"]) in event_times for step in steps)
    progress = CaseProgress.model_validate(run["progress"])
    assert progress.state is WaitState.AWAITING_APPROVAL
    assert [a.operator for a in progress.operator_actions] == ["kari@hjelp"]
    assert run["case"]["sla_due"] is not None and run["case"]["sla_standing"] == "on_time"

    monkeypatch.setenv("COLUMNS", "250")
    code, text = await run_cli(settings, capsys, "case", number)
    assert code == 0
    assert "operator_action signal by kari@hjelp: SLA-sjekk etter ferien" in text
    assert "Now: venter på leders godkjenning" in text and "SLA due" in text

    assert (await run_cli(settings, capsys, "case", "I9999-9999"))[0] == 1
    assert (await run_cli(settings, capsys, "case", "x' OR 'a'='a"))[0] == 2


async def test_radar_lists_what_find_stuck_finds(
    dev_h: Harness, settings: Settings, capsys: pytest.CaptureFixture[str]
):
    h = dev_h
    number, _ = await started_in(h, form_without("Kontonummer"), WaitState.AWAITING_CALLER)
    await listed(h.client, "", in_states({number: "awaiting_caller"}), "the case asking")
    assert await run_json(settings, capsys, "radar") == []

    # a limit of 0 working days: every case waiting for its caller is past it (at least on a
    # working day; on a holiday the clock stands still, so the case is only found afterwards)
    strict = settings.model_copy(update={"wait_limits": {"awaiting_caller": 0.0}})
    found = await run_json(strict, capsys, "radar")
    if not found:
        pytest.skip("today is no working day: no time has counted yet")
    [case] = found
    assert (case["case_number"], case["reason"], case["limit_days"]) == (number, "wait", 0.0)


async def test_case_never_shows_the_employee_number_sap_refused(
    dev_h: Harness, settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch
):
    """SAP's refusal quotes the number, and so does the question to the caller: the journey
    shows neither (the case in TOPdesk does), in the table and in JSON alike."""
    h = dev_h
    unknown = "05009999"  # SAP knows only 05001234
    number = h.submit_extension(EXTENSION_FORM.replace("05001234", unknown))
    handle = await h.start_extension(number)
    await h.wait_state(handle, WaitState.AWAITING_CALLER)
    progress = await handle.query("progress", result_type=CaseProgress)
    assert f"Ansattnummer {unknown} finnes ikke i SAP" in progress.detail  # what is kept out
    await listed(h.client, "", in_states({number: "awaiting_caller"}), "the case asking")

    code, out = await run_cli(settings, capsys, "case", number, "--json")
    assert code == 0
    assert unknown not in out
    [run] = json.loads(out)["runs"]
    assert run["case"]["state"] == "awaiting_caller"
    # the refusal is in the journey, by its type
    [refused] = [s["text"] for s in run["steps"] if ": failed: " in s["text"]]
    assert refused.endswith(": failed: PayrollRejected")
    assert CaseProgress.model_validate(run["progress"]).state is WaitState.AWAITING_CALLER

    monkeypatch.setenv("COLUMNS", "250")
    code, text = await run_cli(settings, capsys, "case", number)
    assert code == 0
    assert unknown not in text
    assert "Now: venter på bruker" in text and "failed: PayrollRejected" in text
