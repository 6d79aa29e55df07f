"""What every command shares: the settings, how a failure is said, how Temporal is called."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from typing import Any, TypeVar

import click
import typer
from pydantic import BaseModel
from rich import box
from rich.columns import Columns
from rich.console import Console, RenderableType
from rich.measure import Measurement
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from domain.cases import OSLO
from workers.settings import Settings

T = TypeVar("T")

# Exit codes: 1 a failure (Temporal unreachable, a case not found), 2 bad input (an option's
# value, a query Temporal refuses).
FAILED = 1
BAD_INPUT = 2


class Failure(Exception):
    """A command that cannot do what was asked: one line for the operator, and the exit code."""

    def __init__(self, message: str, code: int = FAILED) -> None:
        super().__init__(message)
        self.code = code
        running = click.get_current_context(silent=True)
        self.command = running.command_path if running else "saksflyt"


def choice(names: Sequence[str]) -> Callable[[str], str]:
    """An option's parser that takes one of `names` and refuses anything else by name."""

    def one_of(value: str) -> str:
        if value not in names:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(names)}")
        return value

    return one_of


def days(value: str) -> float:
    """A number of days: not negative, not infinite, not NaN."""
    try:
        number = float(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a number") from None
    if not math.isfinite(number) or number < 0:
        raise typer.BadParameter(f"{value!r} is not a number of days (0 or more)")
    return number


def settings_of(ctx: typer.Context) -> Settings:
    """The settings `main` (or a test) gave the command line."""
    settings: Settings = ctx.obj
    return settings


def on_temporal(settings: Settings, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a command's Temporal calls; Temporal unreachable or refusing the request is a
    `Failure`, not a traceback."""
    from temporalio.service import RPCError, RPCStatusCode

    from workers.temporal_config import ConnectFailed

    try:
        return asyncio.run(work())
    except RPCError as error:
        code = BAD_INPUT if error.status == RPCStatusCode.INVALID_ARGUMENT else FAILED
        raise Failure(f"Temporal refused the request: {one_line(error.message)}", code) from None
    except ConnectFailed as error:
        raise Failure(
            f"cannot reach Temporal at {settings.temporal_address}: {one_line(str(error))}"
        ) from None


def one_line(text: str) -> str:
    return " ".join(text.split())


def print_json(items: Sequence[BaseModel]) -> None:
    print(
        json.dumps([item.model_dump(mode="json") for item in items], ensure_ascii=False, indent=2)
    )


def show(table: Table) -> None:
    """Print a table so that it reads on a narrow terminal (80 columns): as a table while every
    word fits whole, else one case a paragraph of "header value" pairs, since a table squeezed
    below its words cuts each state to "awai…"."""
    console = Console()
    table.box = box.SIMPLE_HEAD
    table.pad_edge = False
    if _whole_words_width(console, table) <= console.width:
        console.print(table)
        return
    if table.title:
        console.print(table.title, style="bold")
    columns = [(str(column.header), list(column.cells)) for column in table.columns]
    for row in range(table.row_count):
        (_, first), *rest = [(header, cells[row]) for header, cells in columns]
        console.print(_text(first), style="bold")
        console.print(Padding(Columns(_pair(header, cell) for header, cell in rest), (0, 0, 0, 2)))
    if table.caption:
        console.print(table.caption)


def _whole_words_width(console: Console, table: Table) -> int:
    """How wide the table is with every column as wide as its longest word: a column's padding
    and divider take 3 characters between columns."""
    longest = [
        max((Measurement.get(console, console.options, c).minimum for c in column.cells), default=0)
        for column in table.columns
    ]
    headers = [Measurement.get(console, console.options, c.header).minimum for c in table.columns]
    return sum(map(max, zip(longest, headers, strict=False))) + 3 * (len(headers) - 1)


def _pair(header: str, cell: RenderableType) -> Text:
    return Text.assemble((f"{header}:", "dim"), " ", _text(cell), no_wrap=True)


def _text(cell: RenderableType) -> Text:
    return Text.from_markup(cell) if isinstance(cell, str) else Text(str(cell))


def local(moment: datetime) -> str:
    return moment.astimezone(OSLO).strftime("%Y-%m-%d %H:%M:%S")
