"""Replaying recorded histories against the current workflow code.

Engineers run this before a release (`saksflyt replay FILE...`) and `make test` runs it over
`tests/histories/`: a history that no longer replays means the change would break cases that are
running now. The replayer uses the production data converter, or the payloads would not decode.

All files stream through one replay worker (`Replayer.workflow_replay_iterator`): a replay worker
per file cost three times as much as the replays themselves (`python -m bench.replay_speed`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workers.settings import Settings
from workers.temporal import data_converter
from workers.worker import WORKFLOWS


def replayer(settings: Settings | None = None, workflows: Sequence[type] = WORKFLOWS) -> Replayer:
    """A replayer of `workflows` with the production data converter: payloads sealed by the
    codec open under the settings' keys."""
    return Replayer(workflows=workflows, data_converter=data_converter(settings))


async def replay_files(
    files: Sequence[Path], settings: Settings | None = None, workflows: Sequence[type] = WORKFLOWS
) -> dict[str, str]:
    """Replay every file in one streamed pass; return {file name: failure} for those that did
    not replay. A failure names its kind: `NondeterminismError` for a change the code may not
    make, anything else (such as a `RuntimeError` that could not decode a payload) for the
    history or the keys."""
    histories = [WorkflowHistory.from_json(path.stem, path.read_text()) for path in files]
    failures: dict[str, str] = {}
    async with replayer(settings, workflows).workflow_replay_iterator(_each(histories)) as results:
        index = 0
        async for result in results:  # in the order given, one per history
            failure = result.replay_failure
            if failure is not None:
                failures[_name(files, index)] = f"{type(failure).__name__}: {failure}"
            index += 1
    return failures


def _name(files: Sequence[Path], index: int) -> str:
    """The file's name, with its folder when another file given has the same name (the corpus
    has `paid.json` under two processes)."""
    path = files[index]
    if sum(other.name == path.name for other in files) > 1:
        return f"{path.parent.name}/{path.name}"
    return path.name


async def _each(histories: list[WorkflowHistory]) -> AsyncIterator[WorkflowHistory]:
    for history in histories:
        yield history
