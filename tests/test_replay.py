"""The replay corpus: every recorded history must replay against the current workflow code.

A failure here means a change would break cases that are running now; guard it with
`workflow.patched` (or record the new path as a new history, keeping the old one). The corpus
streams through one replay worker, as `saksflyt replay` does; the assertion names each file that
failed and why.
"""

from __future__ import annotations

import base64
import os
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio import workflow

with workflow.unsafe.imports_passed_through():  # this module defines a workflow below
    from domain.new_hire import NewHireInput, NewHireResult
    from workers.replay import from_files, history_files, replay, replay_files
    from workers.settings import Settings
    from workflows.extension import ExtensionWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*/*.json"))
COMPLETE_FORM = next(path for path in HISTORIES if path.match("new_hire/complete_form.json"))


def test_the_corpus_covers_every_recorded_scenario():
    from tests.scenarios import SCENARIOS

    assert {f"{path.parent.name}/{path.stem}" for path in HISTORIES} >= set(SCENARIOS)


PROCESSES = sorted({path.parent.name for path in HISTORIES})


@pytest.mark.parametrize("process", PROCESSES)
async def test_every_recorded_history_replays_against_the_current_code(process: str):
    """One stream per process folder, so the test workers replay the corpus side by side."""
    failures = await replay_files([path for path in HISTORIES if path.parent.name == process])
    assert failures == {}, "\n".join(f"{name}: {why}" for name, why in failures.items())


@workflow.defn(name="NewHire")
class NewHireWithAnUnguardedTimer:
    """The current workflow with one timer added in front, and no `workflow.patched` guard."""

    @workflow.run
    async def run(self, input: NewHireInput) -> NewHireResult:
        await workflow.sleep(timedelta(minutes=1))
        raise AssertionError("never reached in replay")


async def test_the_replayer_catches_an_unguarded_change_and_says_where():
    """In one stream, the failure is told to the file it belongs to, in words: the event, what
    the history holds there, what the code does now, and the line of the step it skipped; the
    next file still replays."""
    extension = next(path for path in HISTORIES if path.match("extension/registered.json"))
    failures = await replay_files(
        [COMPLETE_FORM, extension], workflows=[NewHireWithAnUnguardedTimer, ExtensionWorkflow]
    )
    assert list(failures) == ["complete_form.json"]
    report = failures["complete_form.json"].splitlines()
    assert report[0] == "the code no longer makes this history's commands"
    assert report[1].strip() == 'at event 5 the history has activity "topdesk.read_case" scheduled'
    assert report[2].strip() == "the code now makes a timer there instead"
    step = report[3].strip().removeprefix("step in the code: ")
    file, line = step.split()[0].split(":")
    assert "read_case" in Path(file).read_text().splitlines()[int(line) - 1]
    assert "read_case" in step.split(maxsplit=1)[1]


@workflow.defn(name="NewHire")
class NewHireRegisteringFirst:
    """The current workflow with its first step swapped for another activity."""

    @workflow.run
    async def run(self, input: NewHireInput) -> NewHireResult:
        timeout = timedelta(minutes=1)
        await workflow.execute_activity("sap.register_new_hire", start_to_close_timeout=timeout)
        raise AssertionError("never reached in replay")


async def test_a_swapped_activity_is_named_with_both_names():
    failures = await replay_files([COMPLETE_FORM], workflows=[NewHireRegisteringFirst])
    report = failures["complete_form.json"]
    assert 'the history has activity "topdesk.read_case" scheduled' in report
    assert 'the code now schedules activity "sap.register_new_hire" instead' in report
    assert "register_new_hire" in report.split("step in the code: ")[1]


async def test_what_is_not_a_history_is_one_line_and_the_rest_still_replays(tmp_path):
    prose = tmp_path / "notes.json"
    prose.write_text("not json at all")
    stranger = tmp_path / "stranger.json"
    stranger.write_text('{"events": [{"eventId": "1", "eventType": "EVENT_TYPE_TIMER_FIRED"}]}')
    extension = next(path for path in HISTORIES if path.match("extension/registered.json"))
    files = [prose, extension, stranger, tmp_path / "gone.json"]
    outcomes = [outcome async for outcome in replay(from_files(files))]
    assert [outcome.name for outcome in outcomes] == [path.name for path in files]
    assert [outcome.ok for outcome in outcomes] == [False, True, False, False]
    reasons = [outcome.failure for outcome in outcomes if not outcome.ok]
    assert reasons == [
        "not a workflow history (not JSON of a history's events)",
        "not a workflow history (its first event does not start a workflow)",
        "not a workflow history (No such file or directory)",
    ]


def test_folders_are_replayed_file_by_file_in_a_stable_order():
    folder = HISTORIES[0].parent.parent
    assert history_files([folder]) == sorted(folder.rglob("*.json"))
    assert history_files([COMPLETE_FORM]) == [COMPLETE_FORM]


async def test_a_payload_the_keys_cannot_open_is_not_called_nondeterminism():
    """Replayed under keys that lack the one the history was sealed with, the file fails as a
    decoding failure, which a release check must not mistake for a change to the code."""
    other = {"other": SecretStr(base64.b64encode(os.urandom(32)).decode())}
    settings = Settings(codec_keys=other, codec_active_key="other")
    failures = await replay_files([COMPLETE_FORM], settings)
    assert failures["complete_form.json"].startswith("the code") is False
    assert failures["complete_form.json"].startswith("RuntimeError:")
    assert "CodecKeyError" in failures["complete_form.json"]
