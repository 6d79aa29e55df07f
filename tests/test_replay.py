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

from pydantic import SecretStr
from temporalio import workflow

with workflow.unsafe.imports_passed_through():  # this module defines a workflow below
    from domain.new_hire import NewHireInput, NewHireResult
    from workers.replay import replay_files
    from workers.settings import Settings
    from workflows.extension import ExtensionWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*/*.json"))
COMPLETE_FORM = next(path for path in HISTORIES if path.match("new_hire/complete_form.json"))


def test_the_corpus_covers_every_recorded_scenario():
    from tests.scenarios import SCENARIOS

    assert {f"{path.parent.name}/{path.stem}" for path in HISTORIES} >= set(SCENARIOS)


async def test_every_recorded_history_replays_against_the_current_code():
    failures = await replay_files(HISTORIES)
    assert failures == {}, "\n".join(f"{name}: {why}" for name, why in failures.items())


@workflow.defn(name="NewHire")
class NewHireWithAnUnguardedTimer:
    """The current workflow with one timer added in front, and no `workflow.patched` guard."""

    @workflow.run
    async def run(self, input: NewHireInput) -> NewHireResult:
        await workflow.sleep(timedelta(minutes=1))
        raise AssertionError("never reached in replay")


async def test_the_replayer_catches_an_unguarded_change():
    """In one stream, the failure is told to the file it belongs to, and the next file still
    replays."""
    extension = next(path for path in HISTORIES if path.match("extension/registered.json"))
    failures = await replay_files(
        [COMPLETE_FORM, extension], workflows=[NewHireWithAnUnguardedTimer, ExtensionWorkflow]
    )
    assert list(failures) == ["complete_form.json"]
    assert failures["complete_form.json"].startswith("NondeterminismError:")


async def test_a_payload_the_keys_cannot_open_is_not_called_nondeterminism():
    """Replayed under keys that lack the one the history was sealed with, the file fails as a
    decoding failure, which a release check must not mistake for a change to the code."""
    other = {"other": SecretStr(base64.b64encode(os.urandom(32)).decode())}
    settings = Settings(codec_keys=other, codec_active_key="other")
    failures = await replay_files([COMPLETE_FORM], settings)
    assert failures["complete_form.json"].startswith("RuntimeError:")
    assert "CodecKeyError" in failures["complete_form.json"]
