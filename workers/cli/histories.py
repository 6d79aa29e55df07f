"""`saksflyt replay` and `saksflyt history export`: the engineer's commands.

Before a release an engineer replays every open case against the new code (the default), one
case by id, or exported files; `--debug` reads one case's decisions step by step. The export
writes histories for the corpus or a bug report with their payloads still sealed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from workers.cli.common import BAD_INPUT, Failure, on_temporal, settings_of
from workers.replay import OPEN_CASES, Named, Outcome

history = typer.Typer(help="workflow histories: export them for the corpus or a bug report")

Paths = Annotated[
    list[Path] | None,
    typer.Argument(help="history JSON files, or folders of them", exists=True, readable=True),
]
WorkflowId = Annotated[
    str | None, typer.Option("--workflow-id", "-w", help="one workflow from the server")
]
RunId = Annotated[str | None, typer.Option("--run-id", "-r", help="its run (default: latest)")]
Query = Annotated[
    str | None,
    typer.Option("--query", "-q", help=f"a visibility query (default: {OPEN_CASES})"),
]
Debug = Annotated[
    bool, typer.Option("--debug", help="one workflow's events with its own log lines")
]


def replay(
    ctx: typer.Context,
    paths: Paths = None,
    workflow_id: WorkflowId = None,
    run_id: RunId = None,
    query: Query = None,
    debug: Debug = False,
) -> int:
    """Replay histories against this code: files, one workflow, or every workflow a query finds
    (by default every open case). Exit 1 if one does not replay."""
    if sum(map(bool, (paths, workflow_id, query))) > 1:
        raise Failure("give files, --workflow-id or --query, not more than one", BAD_INPUT)
    if run_id and not workflow_id:
        raise Failure("--run-id needs --workflow-id", BAD_INPUT)
    settings = settings_of(ctx)
    if paths:
        return _replay_files(paths, debug, ctx)
    if debug and not workflow_id:
        raise Failure("--debug replays one workflow: give --workflow-id or one file", BAD_INPUT)

    async def run() -> int:
        from workers.replay import from_query, from_server
        from workers.temporal import connect

        client = await connect(settings)
        if workflow_id:
            source = from_server(client, workflow_id, run_id)
            return await (_debug(source, ctx) if debug else _report(source, ctx))
        total = await client.count_workflows(query or OPEN_CASES)
        return await _report(from_query(client, query or OPEN_CASES), ctx, total.count)

    return on_temporal(settings, run)


@history.command("export")
def export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="folder to write the files to")],
    query: Query = None,
) -> int:
    """Write one JSON file per workflow run the query finds, payloads left sealed."""
    if out.exists() and not out.is_dir():
        raise Failure(f"{out} is not a folder", BAD_INPUT)
    settings = settings_of(ctx)

    async def run() -> list[Path]:
        from workers.histories import export
        from workers.temporal import connect

        return await export(await connect(settings), query or OPEN_CASES, out)

    try:
        written = on_temporal(settings, run)
    except OSError as error:
        raise Failure(f"cannot write to {out}: {error.strerror}") from None
    print(f"wrote {len(written)} histories to {out}")
    return 0


def _replay_files(paths: list[Path], debug: bool, ctx: typer.Context) -> int:
    from workers.replay import from_files, history_files

    files = history_files(paths)
    if debug and len(files) != 1:
        raise Failure(f"--debug replays one workflow; {len(files)} files given", BAD_INPUT)
    source = from_files(files)
    return asyncio.run(_debug(source, ctx) if debug else _report(source, ctx, len(files)))


async def _report(sources: AsyncIterator[Named], ctx: typer.Context, total: int = 1) -> int:
    """Each workflow's outcome as it comes, a progress bar on stderr, a count at the end."""
    from workers.replay import replay

    outcomes: list[Outcome] = []
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("replaying", total=total)
        async for outcome in replay(sources, settings_of(ctx)):
            print(outcome.report())  # above the bar on a terminal, plain in a pipe
            outcomes.append(outcome)
            progress.advance(task)
    failed = sum(not outcome.ok for outcome in outcomes)
    print(f"{len(outcomes) - failed} replayed, {failed} failed")
    return 1 if failed else 0


async def _debug(sources: AsyncIterator[Named], ctx: typer.Context) -> int:
    from workers.replay import debug

    source = await anext(sources)
    if source.history is None:
        assert source.not_a_history is not None
        raise Failure(str(source.not_a_history), BAD_INPUT)
    outcome, lines = await debug(source, settings_of(ctx))
    print("\n".join(lines))
    print(outcome.report())
    return 0 if outcome.ok else 1
