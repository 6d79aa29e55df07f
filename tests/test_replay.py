"""The replay corpus: every recorded history must replay against the current workflow code.

A failure here means a change would break cases that are running now; guard it with
`workflow.patched` (or record the new path as a new history, keeping the old one).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

with workflow.unsafe.imports_passed_through():  # this module defines a workflow below
    from domain.new_hire import NewHireInput, NewHireResult
    from workers.replay import replay_files
    from workers.temporal import data_converter

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*/*.json"))


def test_the_corpus_covers_every_recorded_scenario():
    from tests.scenarios import SCENARIOS

    assert {f"{path.parent.name}/{path.stem}" for path in HISTORIES} >= set(SCENARIOS)


@pytest.mark.parametrize("path", HISTORIES, ids=lambda path: f"{path.parent.name}/{path.stem}")
async def test_a_recorded_history_replays_against_the_current_code(path: Path):
    assert await replay_files([path]) == {}


@workflow.defn(name="NewHire")
class NewHireWithAnUnguardedTimer:
    """The current workflow with one timer added in front, and no `workflow.patched` guard."""

    @workflow.run
    async def run(self, input: NewHireInput) -> NewHireResult:
        await workflow.sleep(timedelta(minutes=1))
        raise AssertionError("never reached in replay")


async def test_the_replayer_catches_an_unguarded_change():
    path = next(path for path in HISTORIES if path.match("new_hire/complete_form.json"))
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(workflows=[NewHireWithAnUnguardedTimer], data_converter=data_converter())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert isinstance(result.replay_failure, workflow.NondeterminismError)
