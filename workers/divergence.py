"""Where a replay left a history's path, in the words of the workflow code.

The SDK core says "Timer machine does not handle this event: HistoryEvent(id: 5,
ActivityTaskScheduled)"; an engineer needs the event, what the history holds there, what the code
does now, and the lines of the workflow that make the step. This module reads the core's message
against the history and the workflow modules' source.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

from workers.worker import WORKFLOWS


@dataclass(frozen=True)
class Divergence:
    """Where a replay left the recorded path: what an engineer needs to find the change."""

    event_id: int | None
    recorded: str  # what the history holds at the event
    produced: str  # what the code does there now
    where: tuple[str, ...]  # source lines of the step involved, "path:line"

    def lines(self) -> list[str]:
        at = f"event {self.event_id}" if self.event_id is not None else "an event"
        found = [f"at {at} the history has {self.recorded}", f"the code now {self.produced}"]
        return found + [f"step in the code: {where}" for where in self.where]


def diverged(failure: str, history: WorkflowHistory, sources: SourceFinder) -> Divergence:
    """Read the SDK core's nondeterminism message against the history."""
    message = _core_message(failure)
    event = _event_named(message, history)
    recorded = describe(event) if event else "a command the code does not make"
    names = [name for name in [_activity_named(event)] if name]
    if match := re.search(_SWAPPED_ACTIVITY, message):
        recorded = f'activity "{match[1]}" scheduled'
        produced = f'schedules activity "{match[2]}" instead'
        names = [match[2], match[1]]
    elif match := re.search(_UNASKED_PATCH, message):
        recorded = f'patch marker "{match[1]}"'
        produced = "no longer asks for the patch (its marker needs `workflow.deprecate_patch`)"
        names = [match[1]]
    elif match := re.search(r"(\w+) machine does not handle this event", message):
        produced = f"makes {_MACHINE.get(match[1], match[1] + ' command')} there instead"
    elif "No command scheduled for event" in message:
        produced = "makes no command there (a step removed, moved or behind a new condition)"
    else:
        produced = f"differs: {message}"
    event_id = event.event_id if event else None
    return Divergence(event_id, recorded, produced, sources.lines_naming(names))


_SWAPPED_ACTIVITY = (
    r"Activity type of scheduled event '([^']+)' does not match activity type of activity "
    r"command '([^']+)'"
)


_UNASKED_PATCH = r"[Nn]on-deprecated patch marker encountered for change ([^,\s]+),"


def _event_named(message: str, history: WorkflowHistory) -> HistoryEvent | None:
    """The event the core names by id, or the one activity of the type it names (when the
    type was scheduled more than once, the core's words do not say which)."""
    if (event_id := _first_int(r"HistoryEvent\(id: (\d+)", message)) is not None:
        return next((event for event in history.events if event.event_id == event_id), None)
    if match := re.search(_SWAPPED_ACTIVITY, message):
        scheduled = [event for event in history.events if _activity_named(event) == match[1]]
        return scheduled[0] if len(scheduled) == 1 else None
    return None


def describe(event: HistoryEvent) -> str:
    """An event in the words of the workflow code that made it, or of what it waited for.
    Payloads are not shown: they hold the form's personal data."""
    if name := _activity_named(event):
        return f'activity "{name}" scheduled'
    field = event.WhichOneof("attributes")
    say = _SAY.get(field or "")
    return say(getattr(event, field)) if field and say else _event_type(event)


def _search_attributes(attributes: Any) -> str:
    fields = attributes.search_attributes.indexed_fields
    values = [f"{key}={_plain(fields[key].data)}" for key in sorted(fields)]
    return f"search attributes set: {', '.join(values)}"


def _plain(data: bytes) -> str:
    """A search attribute's value as written (Temporal indexes them unsealed)."""
    try:
        value = json.loads(data)
    except ValueError:
        return "?"
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


_SAY: dict[str, Callable[[Any], str]] = {
    "workflow_execution_started_event_attributes": lambda a: f"{a.workflow_type.name} started",
    "timer_started_event_attributes": (
        lambda a: f"a timer of {a.start_to_fire_timeout.ToTimedelta()} started"
    ),
    "timer_fired_event_attributes": lambda a: "the timer fired",
    "marker_recorded_event_attributes": lambda a: _marker(a),
    "upsert_workflow_search_attributes_event_attributes": _search_attributes,
    "workflow_execution_signaled_event_attributes": (
        lambda a: f'signal "{a.signal_name}" received from {a.identity or "?"}'
    ),
    "workflow_execution_update_accepted_event_attributes": (
        lambda a: f'update "{a.accepted_request.input.name}" accepted'
    ),
    "activity_task_completed_event_attributes": lambda a: "the activity completed",
    "activity_task_failed_event_attributes": (
        lambda a: (
            f"the activity failed: {a.failure.message or a.failure.application_failure_info.type}"
        )
    ),
    "activity_task_timed_out_event_attributes": lambda a: "the activity timed out",
    "start_child_workflow_execution_initiated_event_attributes": (
        lambda a: f"child workflow {a.workflow_type.name} started ({a.workflow_id})"
    ),
    "signal_external_workflow_execution_initiated_event_attributes": (
        lambda a: f'signal "{a.signal_name}" sent to {a.workflow_execution.workflow_id}'
    ),
    "workflow_execution_completed_event_attributes": lambda a: "the workflow completed",
    "workflow_execution_failed_event_attributes": lambda a: "the workflow failed",
    "workflow_execution_continued_as_new_event_attributes": lambda a: "continued as new",
}


_MACHINE = {
    "Timer": "a timer",
    "Activity": "an activity",
    "LocalActivity": "a local activity",
    "ChildWorkflow": "a child workflow",
    "SignalExternal": "a signal to another workflow",
    "CancelExternal": "a cancel request to another workflow",
    "UpsertSearchAttributes": "a search-attribute upsert",
    "ModifyWorkflowProperties": "a memo change",
    "Patch": "a patch marker",
    "CompleteWorkflow": "the workflow's completion",
    "FailWorkflow": "the workflow's failure",
    "ContinueAsNew": "a continue-as-new",
}


def _event_type(event: HistoryEvent) -> str:
    words = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").split("_")
    return "".join(word.capitalize() for word in words)


def _activity_named(event: HistoryEvent | None) -> str | None:
    if event is None or not event.HasField("activity_task_scheduled_event_attributes"):
        return None
    return event.activity_task_scheduled_event_attributes.activity_type.name


def _marker(marker: Any) -> str:
    if marker.marker_name != "core_patch" or "patch-data" not in marker.details:
        return f"marker {marker.marker_name}"
    payloads = marker.details["patch-data"].payloads
    patch = json.loads(payloads[0].data) if payloads else {}
    return f'patch marker "{patch.get("id", "?")}"'


def _core_message(text: str) -> str:
    """The core's own sentence out of the activation failure it is wrapped in."""
    match = re.search(r'message: "(.*?)", source:', text)
    sentence = match[1] if match else text
    return re.sub(r"^\[TMPRL\d+\] Nondeterminism error: ", "", sentence)


def _first_int(pattern: str, text: str) -> int | None:
    match = re.search(pattern, text)
    return int(match[1]) if match else None


class SourceFinder:
    """The lines of the workflow modules that name an activity: where the step sits in code."""

    def __init__(self, workflows: Sequence[type]) -> None:
        """The product's workflow package whole, and any other workflow given (one written for
        a test or an experiment) by its class's own lines."""
        package = {Path(file).parent for cls in WORKFLOWS if (file := _module_file(cls))}
        self.spans: list[tuple[Path, int, int | None]] = []
        for cls in workflows:
            if (file := _module_file(cls)) and Path(file).parent not in package:
                code, first = inspect.getsourcelines(cls)
                self.spans.append((Path(file), first, first + len(code) - 1))
        self.spans += [
            (file, 1, None) for folder in package for file in sorted(folder.glob("*.py"))
        ]

    def lines_naming(self, names: Sequence[str], most: int = 3) -> tuple[str, ...]:
        """Call sites of each activity; a registered name like `topdesk.read_case` is the
        method `read_case` in code."""
        found: list[str] = []
        for name in dict.fromkeys(name.rsplit(".")[-1] for name in names):
            word = re.escape(name)
            pattern = re.compile(rf"\.{word}\b|[\"']{word}[\"']|_activity\w*\({word}\b")
            found += [where for where in self._grep(pattern) if where not in found]
        return tuple(found[:most])

    def _grep(self, pattern: re.Pattern[str]) -> Iterable[str]:
        for file, first, last in self.spans:
            lines = file.read_text().splitlines()[first - 1 : last]
            for number, line in enumerate(lines, first):
                if pattern.search(line) and not line.lstrip().startswith(("#", "async def", "def")):
                    yield f"{_relative(file)}:{number}  {_shortened(line.strip())}"


def _shortened(code: str, most: int = 72) -> str:
    return code if len(code) <= most else code[: most - 1] + "…"


def _module_file(cls: type) -> str | None:
    module = sys.modules.get(cls.__module__)
    return getattr(module, "__file__", None)


def _relative(file: Path) -> str:
    try:
        return str(file.relative_to(Path.cwd()))
    except ValueError:
        return str(file)
