"""Replaying recorded histories against the current workflow code.

Engineers run this before a release (`saksflyt replay FILE...`) and `make test` runs it over
`tests/histories/`: a history that no longer replays means the change would break cases that are
running now. The replayer uses the production data converter, or the payloads would not decode.
"""

from __future__ import annotations

from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workers.settings import Settings
from workers.temporal import data_converter
from workers.worker import WORKFLOWS


async def replay_files(files: list[Path], settings: Settings | None = None) -> dict[str, str]:
    """Replay each file; return {file name: failure} for those that did not replay. Payloads
    sealed by the codec open under the settings' keys."""
    replayer = Replayer(workflows=WORKFLOWS, data_converter=data_converter(settings))
    failures: dict[str, str] = {}
    for path in files:
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        if result.replay_failure is not None:
            failures[path.name] = f"{type(result.replay_failure).__name__}: {result.replay_failure}"
    return failures
