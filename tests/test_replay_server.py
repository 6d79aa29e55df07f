"""Replaying cases from a server: every open case before a release, one case by id, the export
for the corpus or a bug report, and `--debug`'s step-by-step reading of one case.

On the dev server (visibility answers queries there), with real new-hire cases waiting for the
manager, sealed by the codec as in production."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():  # this module defines a workflow below
    from domain.cases import WaitState
    from tests.eventually import eventually
    from tests.harness import Harness, form_for_person
    from tests.test_replay import NewHireWithAnUnguardedTimer
    from workers import cli
    from workers.histories import export
    from workers.replay import (
        OPEN_CASES,
        Named,
        debug,
        from_files,
        from_query,
        from_server,
        replay,
    )
    from workers.settings import Settings


def national_ids(person: int) -> str:
    return re.findall(r"Fødselsnummer: (\d{11})", form_for_person(person))[0]


async def two_cases_waiting_for_the_manager(h: Harness) -> list[str]:
    """Cases of persons 1 and 2 (SAP refuses to hire one person twice)."""
    ids = []
    for person in (1, 2):
        handle = await h.start(h.submit(form_for_person(person)))
        await h.wait_state(handle, WaitState.AWAITING_APPROVAL)
        ids.append(handle.id)
    query = f"{OPEN_CASES} AND TaskQueue='{h.task_queue}'"
    await eventually(
        lambda: h.client.count_workflows(query), "both cases in visibility", timeout=30
    )
    return ids


async def test_every_open_case_replays_and_an_unguarded_change_is_caught_in_each(dev_h: Harness):
    ids = await two_cases_waiting_for_the_manager(dev_h)
    query = f"{OPEN_CASES} AND TaskQueue='{dev_h.task_queue}'"

    outcomes = [outcome async for outcome in replay(from_query(dev_h.client, query))]
    assert sorted(outcome.name for outcome in outcomes) == sorted(ids)
    assert all(outcome.ok for outcome in outcomes), [outcome.report() for outcome in outcomes]
    assert {outcome.workflow_type for outcome in outcomes} == {"NewHire"}

    broken = [NewHireWithAnUnguardedTimer]
    outcomes = [outcome async for outcome in replay(from_query(dev_h.client, query), None, broken)]
    assert [outcome.ok for outcome in outcomes] == [False, False]
    assert all("the code now makes a timer there instead" in o.report() for o in outcomes)


async def test_one_case_is_replayed_by_its_id(dev_h: Harness):
    ids = await two_cases_waiting_for_the_manager(dev_h)
    [outcome] = [outcome async for outcome in replay(from_server(dev_h.client, ids[0], None))]
    assert outcome.ok and outcome.name == ids[0]


async def test_exported_histories_keep_personal_data_sealed_and_replay(dev_h: Harness, tmp_path):
    ids = await two_cases_waiting_for_the_manager(dev_h)
    query = f"{OPEN_CASES} AND TaskQueue='{dev_h.task_queue}'"

    files = await export(dev_h.client, query, tmp_path)

    assert sorted(path.name.split(".")[0] for path in files) == sorted(ids)
    for path in files:
        text = path.read_text()
        assert national_ids(1) not in text and national_ids(2) not in text
        assert "binary/encrypted" in text or "YmluYXJ5L2VuY3J5cHRlZA" in text
    outcomes = [outcome async for outcome in replay(from_files(files))]
    assert [outcome.ok for outcome in outcomes] == [True, True]


@workflow.defn(name="DebugExample")
class DecidingWorkflow:
    """Logs its decision, waits a day, logs again: two lines to find in the timeline."""

    @workflow.run
    async def run(self, amount: int) -> str:
        workflow.logger.info("amount %s is over the limit: asking the manager", amount)
        await workflow.sleep(timedelta(days=1))
        workflow.logger.warning("no answer in a day")
        return "escalated"


async def test_debug_shows_the_workflows_log_lines_beside_its_events(env: WorkflowEnvironment):
    task_queue = f"tq-{uuid.uuid4()}"
    async with Worker(env.client, task_queue=task_queue, workflows=[DecidingWorkflow]):
        handle = await env.client.start_workflow(
            DecidingWorkflow.run, 70000, id=f"debug-{uuid.uuid4()}", task_queue=task_queue
        )
        assert await handle.result() == "escalated"
    history = await handle.fetch_history()

    outcome, lines = await debug(Named(handle.id, history), workflows=[DecidingWorkflow])

    assert outcome.ok
    said = [number for number, line in enumerate(lines) if "log:" in line]
    assert len(said) == 2
    first, second = (lines[number] for number in said)
    assert first.endswith("log: INFO amount 70000 is over the limit: asking the manager")
    assert second.endswith("log: WARNING no answer in a day")
    timer = next(n for n, line in enumerate(lines) if "a timer of 1 day, 0:00:00 started" in line)
    fired = next(n for n, line in enumerate(lines) if "the timer fired" in line)
    assert said[0] < timer < fired < said[1]
    assert lines[-1].endswith("the workflow completed")


async def test_the_engineers_commands_replay_export_and_debug_the_open_cases(
    dev_h: Harness, dev_server: WorkflowEnvironment, tmp_path: Path, capsys
):
    """`saksflyt replay` (every open case by default), `history export`, `replay FOLDER` and
    `replay --debug -w ID`, as an engineer types them, against the dev server."""
    ids = await two_cases_waiting_for_the_manager(dev_h)
    settings = Settings(
        temporal_address=dev_server.client.service_client.config.target_host,
        data_dir=tmp_path / "saksflyt",
    )

    async def saksflyt(*argv: str) -> tuple[int, str]:
        capsys.readouterr()
        code = await asyncio.to_thread(cli.run, argv, settings)
        return code, capsys.readouterr().out

    code, out = await saksflyt("replay")
    assert code == 0, out
    assert {f"ok   {workflow_id} (NewHire)" for workflow_id in ids} <= set(out.splitlines())
    assert out.splitlines()[-1] == "2 replayed, 0 failed"

    code, out = await saksflyt("history", "export", "--out", str(tmp_path / "export"))
    assert (code, out.strip()) == (0, f"wrote 2 histories to {tmp_path / 'export'}")
    code, out = await saksflyt("replay", str(tmp_path / "export"))
    assert code == 0 and out.splitlines()[-1] == "2 replayed, 0 failed", out

    code, out = await saksflyt("replay", "--debug", "-w", ids[0])
    assert code == 0, out
    assert 'activity "sap.register_new_hire" scheduled' in out
    assert "WaitState=awaiting_approval" in out
    assert out.splitlines()[-1] == f"ok   {ids[0]} (NewHire)"
