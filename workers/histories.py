"""What a workflow history holds, walked generically: every payload and failure in any event;
and histories written out of a server for the replay corpus or a bug report.

Temporal nests payloads deep in event attributes (inputs, results, signals, memos, summaries, a
failure's encoded attributes); tests and tools that must see all of them (that none lies in clear,
how many events carry an identifier) walk the protobuf messages instead of naming each field.
Search attributes are left out: Temporal indexes them, so they cannot be sealed, and they hold
no personal data (README, "Watching cases").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter

from domain.identifiers import identifiers_in


def messages_in(message: Message, path: str = "") -> Iterator[tuple[str, Message]]:
    """Every message nested anywhere in `message`, with its field path; but search attributes,
    which Temporal indexes and so cannot be sealed (they hold no personal data)."""
    for field, value in message.ListFields():
        if field.message_type is None or field.name == "search_attributes":
            continue
        where = f"{path}.{field.name}"
        if field.message_type.GetOptions().map_entry:
            items = [(f"{where}[{key}]", item) for key, item in value.items()]
        elif field.is_repeated:
            items = [(f"{where}[{index}]", item) for index, item in enumerate(value)]
        else:
            items = [(where, value)]
        for item_path, item in items:
            if isinstance(item, Message):
                yield item_path, item
                yield from messages_in(item, item_path)


def payloads_in(message: Message) -> list[tuple[str, Payload]]:
    return [(path, item) for path, item in messages_in(message) if isinstance(item, Payload)]


def failures_in(message: Message) -> list[Failure]:
    return [item for _, item in messages_in(message) if isinstance(item, Failure)]


async def events_holding_identifiers(
    history: WorkflowHistory, converter: DataConverter
) -> list[HistoryEvent]:
    """The events any of whose payloads, opened with the converter's codec, holds a valid
    fødselsnummer, D-nummer or bank account: what a case handler reading the history through the
    codec server would see."""
    holding = []
    for event in history.events:
        payloads = [payload for _, payload in payloads_in(event)]
        if converter.payload_codec and payloads:
            payloads = await converter.payload_codec.decode(payloads)
        if identifiers_in(" ".join(payload.data.decode(errors="replace") for payload in payloads)):
            holding.append(event)
    return holding


async def export(client: Client, query: str, out: Path) -> list[Path]:
    """Write each workflow the visibility query finds to `out`, one JSON file per run, in the
    format `temporal workflow show -o json` writes and `saksflyt replay` reads. Payloads stay as
    the server holds them, sealed by the codec, so a file can go into the corpus or a bug report
    without opening personal data."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    async for execution in client.list_workflows(query):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        history = await handle.fetch_history()
        path = out / f"{_file_safe(execution.id)}.{execution.run_id}.json"
        path.write_text(history.to_json())
        written.append(path)
    return written


def _file_safe(workflow_id: str) -> str:
    """A workflow id as a file name: ids are the process and the case number, but a query may
    find any workflow."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", workflow_id)
