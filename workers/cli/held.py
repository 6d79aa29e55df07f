"""`saksflyt quarantine` and `saksflyt outbox`: what the intake holds, read from its files."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from workers.cli.common import Failure, days, local, on_temporal, print_json, settings_of, show

if TYPE_CHECKING:
    from workers.quarantine import QuarantinedEvent, Redriven

AS_JSON = Annotated[bool, typer.Option("--json", help="as JSON, for scripts")]

quarantine = typer.Typer(
    help="The intake's quarantine: what could not be routed, and why.", no_args_is_help=True
)
outbox = typer.Typer(
    help="Events the intake keeps until Temporal takes them.", no_args_is_help=True
)


@quarantine.command("list")
def quarantine_list(ctx: typer.Context, as_json: AS_JSON = False) -> int:
    """Every quarantined event, with its reason."""
    from workers.quarantine import Quarantine

    events = Quarantine(settings_of(ctx).quarantine_path).events()
    if as_json:
        print_json(events)
        return 0
    title = f"Quarantine: {len(events)} events"
    table = Table("id", "first seen", "last seen", "count", "source", "reason", title=title)
    for event in events:
        seen = [local(event.received), local(event.last_seen), str(event.count)]
        table.add_row(str(event.id), *seen, event.source, escape(event.reason))
    show(table)
    return 0


@quarantine.command("show")
def quarantine_show(
    ctx: typer.Context, event_id: Annotated[int, typer.Argument(metavar="ID")]
) -> int:
    """One event's stored body and reason."""
    from workers.quarantine import Quarantine

    event = Quarantine(settings_of(ctx).quarantine_path).get(event_id)
    if event is None:
        raise Failure(f"event {event_id} is not in the quarantine")
    console = Console()
    console.print(f"Event {event.id} from {event.source}, received {local(event.received)}")
    console.print(f"Reason: {escape(event.reason)}")
    console.print_json(event.body)
    return 0


REDRIVEN = {
    "delivered": "delivered ({detail}) and removed from the quarantine",
    "refused": "still refused, kept in the quarantine with the new reason: {detail}",
    "unavailable": "{detail}; still in the quarantine",
    "unknown": "{detail}",
}


@quarantine.command("redrive")
def quarantine_redrive(
    ctx: typer.Context, event_ids: Annotated[list[int], typer.Argument(metavar="ID...")]
) -> int:
    """Route events again, as their webhooks would be; exit 0 only when every one was
    delivered (and so left the quarantine)."""
    from workers.intake import redeliver, topdesk_of
    from workers.quarantine import Quarantine, redrive
    from workers.temporal import connect

    settings = settings_of(ctx)

    async def run() -> list[Redriven]:
        client = await connect(settings)
        topdesk = topdesk_of(settings)

        async def deliver(event: QuarantinedEvent) -> str:
            timings = settings.case_timings()
            return await redeliver(client, settings.task_queue, topdesk, event, timings)

        return await redrive(Quarantine(settings.quarantine_path), event_ids, deliver)

    done = on_temporal(settings, run)
    for item in done:
        print(f"{item.id}: " + REDRIVEN[item.result].format(detail=item.detail))
    return 0 if all(item.result == "delivered" for item in done) else 1


@quarantine.command("purge")
def quarantine_purge(
    ctx: typer.Context,
    older_than: Annotated[
        float, typer.Option(parser=days, metavar="DAYS", help="last seen more than DAYS ago")
    ],
    dry_run: Annotated[bool, typer.Option(help="count them, delete none")] = False,
) -> int:
    """Delete the events last seen more than DAYS ago."""
    from workers.quarantine import Quarantine

    settings = settings_of(ctx)
    held = Quarantine(settings.quarantine_path, settings.quarantine_max_events)
    count = held.purge(timedelta(days=older_than), dry_run=dry_run)
    done = "would be deleted (dry run)" if dry_run else "deleted"
    print(f"{count} events last seen more than {older_than:g} days ago {done}")
    return 0


@outbox.command("list")
def outbox_list(ctx: typer.Context, as_json: AS_JSON = False) -> int:
    """Every queued event, oldest first, with its attempts and the last error."""
    from workers.outbox import Outbox

    events = Outbox(settings_of(ctx).outbox_path).events()
    if as_json:
        print_json(events)
        return 0
    table = Table("id", "received", "source", "case", "attempts", "last error", title="Outbox")
    for event in events:
        # an unrouted event (TOPdesk was away) names its case, not yet a workflow
        case = event.workflow_id or f"{event.case_number} (not routed)"
        row = [str(event.id), local(event.received), event.source, case]
        table.add_row(*row, str(event.attempts), escape(event.last_error or ""))
    show(table)
    return 0
