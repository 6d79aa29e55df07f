"""`saksflyt bulk signal|cancel|retry`: an operator action on each selected case, with a reason."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from workers.cli.common import BAD_INPUT, Failure, on_temporal, print_json, settings_of, show

if TYPE_CHECKING:
    from workers.bulk import Outcome

bulk = typer.Typer(
    help="An operator action on many cases, recorded in each case's history first.",
    no_args_is_help=True,
)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise typer.BadParameter("must not be empty")
    return value


def _json(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError as error:
        raise typer.BadParameter(f"not JSON: {error}") from None


Query = Annotated[
    str,
    typer.Option(
        parser=_not_blank, help="Temporal visibility query, e.g. \"CaseNumber='I2611-0042'\""
    ),
]
Reason = Annotated[str, typer.Option(parser=_not_blank, help="why (recorded in each case)")]
Operator = Annotated[str | None, typer.Option(help="who acts (default: user@host)")]
DryRun = Annotated[bool, typer.Option(help="list the cases, change none")]
AsJson = Annotated[bool, typer.Option("--json", help="as JSON, for scripts")]


@bulk.command()
def signal(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(parser=_not_blank, help="the signal, e.g. send_now")],
    query: Query,
    reason: Reason,
    signal_input: Annotated[
        Any, typer.Option("--input", parser=_json, metavar="JSON", help="its argument")
    ] = None,
    operator: Operator = None,
    dry_run: DryRun = False,
    as_json: AsJson = False,
) -> int:
    """Send a signal to each selected case."""
    return _bulk(ctx, "signal", query, reason, operator, dry_run, as_json, name, signal_input)


@bulk.command()
def cancel(
    ctx: typer.Context,
    query: Query,
    reason: Reason,
    operator: Operator = None,
    dry_run: DryRun = False,
    as_json: AsJson = False,
) -> int:
    """Cancel each selected case's workflow; a case waiting for an operator (needs_operator)
    ends itself."""
    return _bulk(ctx, "cancel", query, reason, operator, dry_run, as_json)


@bulk.command()
def retry(
    ctx: typer.Context,
    query: Query,
    reason: Reason,
    operator: Operator = None,
    dry_run: DryRun = False,
    as_json: AsJson = False,
) -> int:
    """Start failed cases again; retry the failed activities of running ones now; a case waiting
    for an operator (needs_operator) runs its refused step again."""
    return _bulk(ctx, "retry", query, reason, operator, dry_run, as_json)


def _bulk(
    ctx: typer.Context,
    action: str,
    query: str,
    reason: str,
    operator: str | None,
    dry_run: bool,
    as_json: bool,
    signal_name: str | None = None,
    signal_input: Any = None,
) -> int:
    """Exit 0 when no case failed (skipped ones are not failures), 1 otherwise."""
    from workers.bulk import (
        Action,
        Request,
        connect_as,
        default_operator,
        outcomes_table,
        run_bulk,
        select,
    )

    settings = settings_of(ctx)
    request = Request(
        action=Action(action),
        reason=reason,
        operator=operator or default_operator(),
        signal_name=signal_name,
        signal_input=signal_input,
    )

    async def run() -> list[Outcome]:
        client = await connect_as(settings, request.operator)
        return await run_bulk(client, await select(client, query), request, dry_run)

    try:
        outcomes = on_temporal(settings, run)
    except ValueError as error:  # a blank query or reason
        raise Failure(str(error), BAD_INPUT) from None
    if as_json:
        print_json(outcomes)
    else:
        dry = " (dry run: nothing changed)" if dry_run else ""
        show(outcomes_table(outcomes, f"bulk {action}: {len(outcomes)} cases{dry}"))
    return 1 if any(outcome.result == "failed" for outcome in outcomes) else 0
