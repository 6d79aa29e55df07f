"""structlog for the processes: readable on a terminal, JSON lines otherwise.

Temporal's own stdlib loggers go through the same renderer. Personal identifiers are never passed
to a logger in the first place; the log lines carry case numbers and workflow ids. In case one
slips through all the same (an error message that quotes a form, a library's own line), every line
is masked before it is rendered: anything shaped like a fødselsnummer or D-nummer (eleven digits,
or six and five) or a bank account (eleven digits, or 4.2.5 spaced or dotted) becomes asterisks.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from domain.identifiers import IDENTIFIER_SHAPE
from workers.tracing import workflow_fields

MASK = "*" * 11


def masked(value: Any) -> Any:
    """`value` with every identifier-shaped run masked, through dicts, lists and tuples."""
    if isinstance(value, str):
        return IDENTIFIER_SHAPE.sub(MASK, value)
    if isinstance(value, dict):
        return {key: masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(masked(item) for item in value)
    return value


def mask_identifiers(
    logger: Any, method: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """The structlog processor: the last step before rendering, on structlog's lines and the
    stdlib's (Temporal's, uvicorn's) alike."""
    return {key: masked(value) for key, value in event.items()}


def temporal_activity_fields(
    logger: Any, method: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """Temporal's own lines about an activity, such as its failure (written after the activity
    returned, outside `CaseLogContext`), name its workflow, run and case as the activity's lines
    do: the SDK puts the activity's info on the record."""
    info = getattr(event.get("_record"), "temporal_activity", None)
    if isinstance(info, dict) and "workflow_id" not in event:
        names = (info.get("workflow_id"), info.get("workflow_run_id"), info.get("activity_type"))
        event.update(workflow_fields(*names))
    return event


def configure_logging(log_format: str = "auto", level: int = logging.INFO) -> None:
    console = log_format == "console" or (log_format == "auto" and sys.stderr.isatty())
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
        if console
        else structlog.processors.JSONRenderer()
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        temporal_activity_fields,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,  # a traceback is masked too
                mask_identifiers,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
