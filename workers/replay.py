"""Replaying histories against the current workflow code.

Cases live for months, so every release meets workflows started under older code. Before a
deployment an engineer replays every open case (`saksflyt replay --query`), one case from
production (`saksflyt replay --workflow-id`), or exported files; `make test` replays
`tests/histories/`. A history that no longer replays means the change would break cases that are
running now, and the report says where: the event, what the history holds there, what the code
does now, and the workflow's source lines of the step involved.

Every history streams through one replay worker (`Replayer.workflow_replay_iterator`): a replay
worker per history cost three times as much as the replays themselves (`python -m
bench.replay_speed`). The replayer uses the production data converter, so payloads sealed by the
codec open under the settings' keys.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from google.protobuf.json_format import ParseError
from temporalio import workflow
from temporalio.client import Client, WorkflowHistory
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from workers.divergence import Divergence, SourceFinder, describe, diverged
from workers.settings import Settings
from workers.temporal import data_converter
from workers.worker import WORKFLOWS

OPEN_CASES = 'ExecutionStatus="Running"'


class NotAHistory(ValueError):
    """A file that holds no workflow history: said in one line, never a traceback."""

    def __init__(self, path: Path, why: str) -> None:
        self.why = f"not a workflow history ({why})"
        super().__init__(f"{path}: {self.why}")


@dataclass(frozen=True)
class Outcome:
    """One workflow's replay: ok, or why not."""

    name: str
    workflow_type: str
    failure: str | None = None
    divergence: Divergence | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    def report(self) -> str:
        if self.ok:
            return f"ok   {self.name} ({self.workflow_type})"
        return f"FAIL {self.name} ({self.workflow_type}): {self.why()}"

    def why(self) -> str:
        """The failure, and where the history was left, a line each."""
        found = [] if self.divergence is None else self.divergence.lines()
        return "\n".join([str(self.failure), *(f"     {line}" for line in found)])


@dataclass(frozen=True)
class Named:
    """A history, or the file that was not one, with the name a report gives it."""

    name: str
    history: WorkflowHistory | None = None
    not_a_history: NotAHistory | None = None


def replayer(
    settings: Settings | None = None, workflows: Sequence[type] = WORKFLOWS, debug: bool = False
) -> Replayer:
    """A replayer of `workflows` with the production data converter: payloads sealed by the
    codec open under the settings' keys. Its runtime keeps the core's own warning about each
    failed workflow task to itself: the outcome says it, readably."""
    return Replayer(
        workflows=workflows,
        data_converter=data_converter(settings),
        runtime=_quiet_runtime(),
        debug_mode=debug,
    )


@cache
def _quiet_runtime() -> Runtime:
    quiet = LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))
    return Runtime(telemetry=TelemetryConfig(logging=quiet))


async def replay(
    sources: AsyncIterable[Named],
    settings: Settings | None = None,
    workflows: Sequence[type] = WORKFLOWS,
) -> AsyncIterator[Outcome]:
    """Replay every history in one stream, yielding an outcome per source in the order given
    (a file that is not a history among them)."""
    waiting: deque[Named] = deque()

    async def histories() -> AsyncIterator[WorkflowHistory]:
        async for source in sources:
            waiting.append(source)
            if source.history is not None:
                yield source.history

    sources_of = SourceFinder(workflows)
    async with replayer(settings, workflows).workflow_replay_iterator(histories()) as results:
        async for result in results:  # in the order given, one per history
            while (source := waiting.popleft()).history is None:
                yield _not_a_history(source)
            yield _outcome(source.name, result.history, result.replay_failure, sources_of)
    for source in waiting:  # files after the last history
        yield _not_a_history(source)


async def replay_files(
    files: Sequence[Path], settings: Settings | None = None, workflows: Sequence[type] = WORKFLOWS
) -> dict[str, str]:
    """{file name: failure} for the files that did not replay, each failure one readable text."""
    failures: dict[str, str] = {}
    async for outcome in replay(from_files(files), settings, workflows):
        if not outcome.ok:
            failures[outcome.name] = outcome.why()
    return failures


def history_files(paths: Iterable[Path]) -> list[Path]:
    """The files named, and every `*.json` under the folders named, in a stable order."""
    found: list[Path] = []
    for path in paths:
        found += sorted(path.rglob("*.json")) if path.is_dir() else [path]
    return found


async def from_files(files: Sequence[Path]) -> AsyncIterator[Named]:
    """Each file read when its turn comes, so a folder of thousands is never in memory at once."""
    for path in files:
        name = _name(files, path)
        try:
            yield Named(name, history=read_history(path))
        except NotAHistory as error:
            yield Named(name, not_a_history=error)


def read_history(path: Path, workflow_id: str | None = None) -> WorkflowHistory:
    """A history exported by `saksflyt history export` or `temporal workflow show -o json`."""
    try:
        history = WorkflowHistory.from_json(workflow_id or path.stem, path.read_text())
    except OSError as error:
        raise NotAHistory(path, error.strerror or type(error).__name__) from None
    except (ValueError, ParseError, TypeError, AttributeError):  # JSON of another shape too
        raise NotAHistory(path, "not JSON of a history's events") from None
    if not history.events or not history.events[0].HasField(
        "workflow_execution_started_event_attributes"
    ):
        raise NotAHistory(path, "its first event does not start a workflow")
    return history


async def from_server(client: Client, workflow_id: str, run_id: str | None) -> AsyncIterator[Named]:
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    yield Named(workflow_id, history=history)


async def from_query(client: Client, query: str) -> AsyncIterator[Named]:
    """Every workflow the visibility query finds, fetched one at a time as the replay asks."""
    async for history in client.list_workflows(query).map_histories():
        yield Named(history.workflow_id, history=history)


def _name(files: Sequence[Path], path: Path) -> str:
    """The file's name, with its folder when another file given has the same name (the corpus
    has `paid.json` under two processes)."""
    if sum(other.name == path.name for other in files) > 1:
        return f"{path.parent.name}/{path.name}"
    return path.name


def _not_a_history(source: Named) -> Outcome:
    assert source.not_a_history is not None
    return Outcome(source.name, "?", failure=source.not_a_history.why)


def _outcome(
    name: str, history: WorkflowHistory, failure: Exception | None, sources: SourceFinder
) -> Outcome:
    started = history.events[0].workflow_execution_started_event_attributes
    workflow_type = started.workflow_type.name
    if failure is None:
        return Outcome(name, workflow_type)
    if not isinstance(failure, NondeterminismError):  # the history or the keys, not the code
        return Outcome(name, workflow_type, failure=f"{type(failure).__name__}: {failure}")
    divergence = diverged(str(failure), history, sources)
    failure_text = "the code no longer makes this history's commands"
    return Outcome(name, workflow_type, failure=failure_text, divergence=divergence)


async def debug(
    source: Named, settings: Settings | None = None, workflows: Sequence[type] = WORKFLOWS
) -> tuple[Outcome, list[str]]:
    """Replay one history with the workflow's own log lines shown beside the events they follow,
    so an engineer reads the case's decisions step by step. Logging during replay is off in the
    SDK (a worker replays often); here it is the point."""
    assert source.history is not None
    said: list[tuple[int, str]] = []
    handler = _WorkflowLogLines(said)
    logger = workflow.logger
    before = logger.log_during_replay, logger.logger.propagate, logger.logger.level
    logger.log_during_replay, logger.logger.propagate = True, False
    logger.logger.setLevel(logging.DEBUG)
    logger.logger.addHandler(handler)
    try:
        result = await replayer(settings, workflows, debug=True).replay_workflow(
            source.history, raise_on_replay_failure=False
        )
    finally:
        logger.logger.removeHandler(handler)
        logger.log_during_replay, logger.logger.propagate, level = before
        logger.logger.setLevel(level)
    outcome = _outcome(source.name, source.history, result.replay_failure, SourceFinder(workflows))
    return outcome, timeline(source.history, said)


def timeline(history: WorkflowHistory, said: Sequence[tuple[int, str]]) -> list[str]:
    """The history's events in words, each log line after the workflow task that wrote it;
    the workflow-task bookkeeping left out."""
    lines: list[str] = []
    for event in history.events:
        if event.WhichOneof("attributes") not in _BOOKKEEPING:
            lines.append(f"{event.event_id:>5}  {describe(event)}")
        lines += [f"       log: {text}" for length, text in said if length == event.event_id]
    return lines


_BOOKKEEPING = {
    "workflow_task_scheduled_event_attributes",
    "workflow_task_started_event_attributes",
    "workflow_task_completed_event_attributes",
    "activity_task_started_event_attributes",
}


class _WorkflowLogLines(logging.Handler):
    """Keeps each workflow log line with the history length it was written at."""

    def __init__(self, said: list[tuple[int, str]]) -> None:
        super().__init__(level=logging.DEBUG)
        self.said = said

    def emit(self, record: logging.LogRecord) -> None:
        length = workflow.info().get_current_history_length() if workflow.in_workflow() else 0
        message = record.getMessage().split(" ({'", 1)[0]  # the SDK appends the workflow's info
        self.said.append((length, f"{record.levelname} {message}"))
