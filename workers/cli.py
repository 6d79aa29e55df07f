"""The `saksflyt` command.

    saksflyt dev [--demo] [--once]   the embedded stack on loopback (and the demo)
    saksflyt worker | intake | simulator | codec-server   one process of the stack
    saksflyt codec-key               a new payload key (base64) for SAKSFLYT_CODEC_KEYS
    saksflyt healthcheck [URL]       exit 0 if URL (or $HEALTHCHECK_URL) answers 2xx
    saksflyt replay FILE...          replay recorded histories against this code
    saksflyt schedules               create or update the schedules (end-date watch, quarterly
                                     follow-up, TOPdesk backfill) on the configured cluster
    saksflyt quarantine list [--json] | show ID | redrive ID... | purge --older-than DAYS
                                     the intake's quarantine: what could not be routed, and why;
                                     redrive routes an event again as its webhook would be;
                                     purge deletes what was last seen long ago (--dry-run counts)
    saksflyt outbox list [--json]    events the intake keeps until Temporal takes them
    saksflyt cases [filters] [--json]   open cases: state, since, age, due, SLA, escalation
    saksflyt case NUMBER [--json]    one case's journey: steps, who signalled what, next deadline
    saksflyt radar [--json]          the cases the stuck-case radar finds now
    saksflyt bulk signal|cancel|retry --query Q --reason R [--dry-run]
                                     an operator action on each selected case, recorded first
    saksflyt report --from DATE --to DATE [--out DIR]   the KPI report (HTML and plots)

Every command that used a Temporal client ends with `os._exit` after flushing its output: the
SDK's bridge threads can abort an exiting interpreter (temporal-practices §2.10), and a command's
exit code must be trustworthy for scripts and CI.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, date, datetime
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from domain.cases import OSLO
from workers.logging import configure_logging
from workers.settings import Settings

T = TypeVar("T")


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_format)
    try:
        code = args.command(settings, args)
    except KeyboardInterrupt:
        code = 130
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="saksflyt", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(required=True, metavar="command")

    def command(name: str, run: Callable[[Settings, argparse.Namespace], int], help: str):
        sub = commands.add_parser(name, help=help)
        sub.set_defaults(command=run)
        return sub

    dev = command("dev", _dev, "start the embedded stack on loopback")
    dev.add_argument("--demo", action="store_true", help="submit sample new-hire forms")
    dev.add_argument("--once", action="store_true", help="stop once the demo cases settled")
    command("worker", _worker, "run the Temporal worker")
    command("intake", _intake, "run the webhook intake")
    command("simulator", _simulator, "run the TOPdesk simulator")
    command("codec-server", _codec_server, "open sealed payloads for Temporal UI and the CLI")
    command("codec-key", _codec_key, "print a new payload key for SAKSFLYT_CODEC_KEYS")
    replay = command("replay", _replay, "replay recorded histories against this code")
    replay.add_argument("files", nargs="+", type=Path, help="history JSON files")
    command("schedules", _schedules, "create or update the schedules on the configured cluster")
    probe = command("healthcheck", _healthcheck, "exit 0 if URL answers 2xx (container probes)")
    probe.add_argument("url", nargs="?", help="default: $HEALTHCHECK_URL (none: exit 0)")

    held = commands.add_parser("quarantine", help="the intake's quarantine: list, show, redrive")
    actions = held.add_subparsers(required=True, metavar="action")
    listing = actions.add_parser("list", help="every quarantined event, with its reason")
    listing.add_argument("--json", action="store_true", help="as JSON, for scripts")
    listing.set_defaults(command=_quarantine_list)
    show = actions.add_parser("show", help="one event's stored body and reason")
    show.add_argument("id", type=int)
    show.set_defaults(command=_quarantine_show)
    redrive = actions.add_parser("redrive", help="route events again, as their webhooks would be")
    redrive.add_argument("ids", nargs="+", type=int, metavar="ID")
    redrive.set_defaults(command=_quarantine_redrive)
    purge = actions.add_parser("purge", help="delete events last seen more than DAYS ago")
    purge.add_argument("--older-than", type=float, required=True, metavar="DAYS")
    purge.add_argument("--dry-run", action="store_true", help="count them, delete none")
    purge.set_defaults(command=_quarantine_purge)

    outbox = commands.add_parser("outbox", help="events the intake keeps until Temporal takes them")
    outbox_actions = outbox.add_subparsers(required=True, metavar="action")
    queued = outbox_actions.add_parser("list", help="every queued event, oldest first")
    queued.add_argument("--json", action="store_true", help="as JSON, for scripts")
    queued.set_defaults(command=_outbox_list)

    cases = command("cases", _cases, "list open cases, filtered")
    cases.add_argument("--process", help="new_hire, extension, final_settlement, pension, ...")
    cases.add_argument("--state", help="working, awaiting_caller, on_hold, awaiting_approval, ...")
    cases.add_argument("--unit", help="the employee's unit")
    cases.add_argument(
        "--older-than", type=float, metavar="N", help="more than N working days in its state"
    )
    cases.add_argument("--overdue", action="store_true", help="past its SLA's due mark")
    cases.add_argument(
        "--employee", metavar="NUMBER", help="an employee number (looked up by its pseudonym)"
    )
    cases.add_argument("--all", action="store_true", help="closed cases too")
    cases.add_argument("--json", action="store_true", help="as JSON, for scripts")
    case = command("case", _case, "one case's journey")
    case.add_argument("number", help="the TOPdesk case number, e.g. I2411-0042")
    case.add_argument("--json", action="store_true", help="as JSON, for scripts")
    radar = command("radar", _radar, "the cases past a limit, as the stuck-case radar sees them")
    radar.add_argument("--json", action="store_true", help="as JSON, for scripts")

    bulk = commands.add_parser("bulk", help="an operator action on many cases, with a reason")
    bulk_actions = bulk.add_subparsers(required=True, metavar="action")
    for name, help in (
        ("signal", "send a signal to each selected case"),
        ("cancel", "cancel each selected case's workflow"),
        ("retry", "start failed cases again; retry failed activities of running ones now"),
    ):
        action = bulk_actions.add_parser(name, help=help)
        action.set_defaults(command=_bulk, action=name)
        if name == "signal":
            action.add_argument("--name", required=True, help="the signal, e.g. send_now")
            action.add_argument("--input", type=json.loads, help="its argument, as JSON")
        action.add_argument("--query", required=True, help="Temporal visibility query")
        action.add_argument("--reason", required=True, type=_non_empty, help="why (recorded)")
        action.add_argument("--operator", help="who acts (default: user@host)")
        action.add_argument("--dry-run", action="store_true", help="list the cases, change none")
        action.add_argument("--json", action="store_true", help="as JSON, for scripts")

    report = command("report", _report, "the KPI report for a period, as HTML with plots")
    report.add_argument("--from", dest="start", type=date.fromisoformat, required=True)
    report.add_argument("--to", dest="end", type=date.fromisoformat, required=True)
    report.add_argument("--out", type=Path, help="folder (default: <data dir>/report)")
    return parser


def _non_empty(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return value


def _dev(settings: Settings, args: argparse.Namespace) -> int:
    from workers.dev import DevStack, StackError

    console = Console()
    console.print(f"[bold]saksflyt dev[/] — data in {settings.data_dir}/")
    signal.signal(signal.SIGTERM, _interrupt)  # stop the stack the same way as Ctrl-C
    try:
        with DevStack(settings):
            if args.demo:
                ok = _run(_demo(settings, console))
                if args.once:
                    return 0 if ok else 1
            console.print("Stacken kjører. Ctrl-C stopper alt.")
            signal.pause()
    except StackError as error:
        console.print(f"[red]{error}[/]")
        return 1
    except KeyboardInterrupt:
        console.print("Stopper …")
    return 0


async def _demo(settings: Settings, console: Console) -> bool:
    from workers.demo import Demo
    from workers.temporal import connect

    return await Demo(settings, await connect(settings), console).run()


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    """The worker, serving Prometheus metrics at `metrics_address` unless it is empty."""
    from workers import worker
    from workers.metrics import MetricsUnavailable

    try:
        _run(worker.run(settings))
    except (MetricsUnavailable, ValueError) as error:  # a port taken; the dev pseudonym key
        print(error, file=sys.stderr)
        return 1
    return 0


def _intake(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from workers.intake import create_app
    from workers.temporal import INTAKE_RETRY, connect

    app = create_app(settings, lambda: connect(settings, INTAKE_RETRY, lazy=True))
    # No uvicorn access log: it would print a secret given as a path segment; the intake logs
    # every request itself, redacted.
    uvicorn.run(
        app,
        host=settings.intake_host,
        port=settings.intake_port,
        log_level="warning",
        access_log=False,
    )
    return 0


def _simulator(settings: Settings, args: argparse.Namespace) -> int:
    from adapters.topdesk import simulator

    # The host is the one the stack reaches TOPdesk at; the port is SAKSFLYT_SIMULATOR_PORT when
    # that is set, else the port of SAKSFLYT_TOPDESK_URL (both 8700 by default). Logging is the
    # project's, set up by `main` before this runs.
    host_port = settings.topdesk_url.rsplit("//", 1)[-1]
    host, port = host_port.rsplit(":", 1)
    if "simulator_port" in settings.model_fields_set:
        port = str(settings.simulator_port)
    return simulator.main(
        [
            "--db", str(settings.simulator_path),
            "--host", host,
            "--port", port,
            "--login", settings.topdesk_login,
            "--password", settings.topdesk_app_password.get_secret_value(),
            "--webhook-url", f"{settings.intake_url}/webhooks/topdesk",
            "--webhook-secret", settings.webhook_secret.get_secret_value(),
        ]
    )  # fmt: skip


def _codec_server(settings: Settings, args: argparse.Namespace) -> int:
    from workers import codec_server

    try:
        codec_server.run(settings)
    except ValueError as error:  # no token off loopback; a key that is missing or unusable
        print(error, file=sys.stderr)
        return 1
    return 0


def _codec_key(settings: Settings, args: argparse.Namespace) -> int:
    from workers.codec import new_key

    print(new_key())
    return 0


def _schedules(settings: Settings, args: argparse.Namespace) -> int:
    from workers.schedules import ensure_schedules
    from workers.temporal import connect

    async def ensure() -> list[str]:
        return await ensure_schedules(await connect(settings), settings)

    try:
        done = _run(ensure())
    except RuntimeError as error:  # the SDK's "Failed client connect"
        print(f"Fikk ikke kontakt med Temporal på {settings.temporal_address}: {error}")
        return 1
    for line in done:
        print(line)
    return 0


def _healthcheck(settings: Settings, args: argparse.Namespace) -> int:
    """The image's HEALTHCHECK (docker/Dockerfile): each role names its own URL in HEALTHCHECK_URL
    (the intake's and the codec server's /healthz, the worker's /metrics); a one-shot command
    (schedules, the operator CLI) names none and is healthy while it runs."""
    import urllib.request

    url = args.url or os.environ.get("HEALTHCHECK_URL", "")
    if not url:
        return 0
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return 0 if 200 <= response.status < 300 else 1
    except OSError as error:  # refused, timed out, or an HTTP error status
        print(f"{url}: {error}", file=sys.stderr)
        return 1


def _replay(settings: Settings, args: argparse.Namespace) -> int:
    from workers.replay import replay_files

    failures = _run(replay_files(args.files, settings))
    for name, failure in failures.items():
        print(f"FAIL {name}: {failure}")
    print(f"{len(args.files) - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


def _quarantine_list(settings: Settings, args: argparse.Namespace) -> int:
    from workers.quarantine import Quarantine

    events = Quarantine(settings.quarantine_path).events()
    if args.json:
        print(json.dumps([e.model_dump(mode="json") for e in events], ensure_ascii=False, indent=2))
        return 0
    title = f"Karantene: {len(events)} hendelser"
    table = Table("id", "først sett", "sist sett", "antall", "kilde", "årsak", title=title)
    for event in events:
        seen = [_local(event.received), _local(event.last_seen), str(event.count)]
        table.add_row(str(event.id), *seen, event.source, escape(event.reason))
    Console().print(table)
    return 0


def _quarantine_show(settings: Settings, args: argparse.Namespace) -> int:
    from workers.quarantine import Quarantine

    event = Quarantine(settings.quarantine_path).get(args.id)
    console = Console()
    if event is None:
        console.print(f"Hendelse {args.id} finnes ikke i karantenen.")
        return 1
    console.print(f"Hendelse {event.id} fra {event.source}, mottatt {_local(event.received)}")
    console.print(f"Årsak: {escape(event.reason)}")
    console.print_json(event.body)
    return 0


def _quarantine_redrive(settings: Settings, args: argparse.Namespace) -> int:
    """Each event goes the webhook's own way (`workers.intake.redeliver`); exit 0 only when every
    one was delivered and so left the quarantine."""
    from workers.intake import redeliver, topdesk_of
    from workers.quarantine import Quarantine, QuarantinedEvent, Redriven, redrive
    from workers.temporal import connect

    async def run() -> list[Redriven]:
        client = await connect(settings)
        topdesk = topdesk_of(settings)

        async def deliver(event: QuarantinedEvent) -> str:
            return await redeliver(client, settings.task_queue, topdesk, event)

        return await redrive(Quarantine(settings.quarantine_path), args.ids, deliver)

    try:
        done = _run(run())
    except RuntimeError as error:  # the SDK's "Failed client connect"
        print(f"Fikk ikke kontakt med Temporal på {settings.temporal_address}: {error}")
        return 1
    said = {
        "delivered": "sendt ({detail}) og fjernet fra karantenen",
        "refused": "fortsatt avvist, ligger i karantenen med ny årsak: {detail}",
        "unavailable": "{detail}; ligger fortsatt i karantenen",
        "unknown": "{detail}",
    }
    for item in done:
        print(f"{item.id}: " + said[item.result].format(detail=item.detail))
    return 0 if all(item.result == "delivered" for item in done) else 1


def _quarantine_purge(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import timedelta

    from workers.quarantine import Quarantine

    held = Quarantine(settings.quarantine_path, settings.quarantine_max_events)
    count = held.purge(timedelta(days=args.older_than), dry_run=args.dry_run)
    done = "ville blitt slettet (prøvekjøring)" if args.dry_run else "slettet"
    print(f"{count} hendelser sist sett for mer enn {args.older_than:g} dager siden {done}")
    return 0


def _outbox_list(settings: Settings, args: argparse.Namespace) -> int:
    from workers.outbox import Outbox

    events = Outbox(settings.outbox_path).events()
    if args.json:
        print(json.dumps([e.model_dump(mode="json") for e in events], ensure_ascii=False, indent=2))
        return 0
    table = Table("id", "mottatt", "kilde", "sak", "forsøk", "siste feil", title="Utboks")
    for event in events:
        error = escape(event.last_error or "")
        # an unrouted event (TOPdesk was away) names its case, not yet a workflow
        case = event.workflow_id or f"{event.case_number} (ikke rutet)"
        row = [str(event.id), _local(event.received), event.source, case]
        table.add_row(*row, str(event.attempts), error)
    Console().print(table)
    return 0


def _cases(settings: Settings, args: argparse.Namespace) -> int:
    from workers.cases import CaseFilter, cases_table, select_cases
    from workers.temporal import connect

    filters = CaseFilter(
        process=args.process,
        state=args.state,
        unit=args.unit,
        employee_number=args.employee,
        older_than=args.older_than,
        overdue=args.overdue,
        include_closed=args.all,
    )

    async def run() -> Any:
        return await select_cases(await connect(settings), settings, filters, datetime.now(UTC))

    try:
        lines = _run(run())
    except ValueError as error:  # the dev pseudonym key off this machine
        print(error, file=sys.stderr)
        return 2
    except RuntimeError as error:  # the SDK's "Failed client connect"
        return _unreachable(settings, error)
    if args.json:
        print(json.dumps([line.model_dump(mode="json") for line in lines], indent=2))
        return 0
    what = "cases" if args.all else "open cases"
    Console().print(cases_table(lines, f"{len(lines)} {what}"))
    return 0


def _case(settings: Settings, args: argparse.Namespace) -> int:
    from workers.cases import case_journey, print_journey
    from workers.temporal import connect

    async def run() -> Any:
        return await case_journey(await connect(settings), settings, args.number, datetime.now(UTC))

    try:
        journey = _run(run())
    except ValueError as error:  # not a case number
        print(error)
        return 2
    except RuntimeError as error:
        return _unreachable(settings, error)
    if args.json:
        print(journey.model_dump_json(indent=2))
    else:
        print_journey(Console(), journey)
    return 0 if journey.runs else 1


def _radar(settings: Settings, args: argparse.Namespace) -> int:
    from workers.cases import radar_table, stuck_cases
    from workers.temporal import connect

    async def run() -> Any:
        return await stuck_cases(await connect(settings), settings, datetime.now(UTC))

    try:
        found = _run(run())
    except RuntimeError as error:
        return _unreachable(settings, error)
    if args.json:
        print(json.dumps([case.model_dump(mode="json") for case in found], indent=2))
    else:
        Console().print(radar_table(found))
    return 0


def _bulk(settings: Settings, args: argparse.Namespace) -> int:
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

    request = Request(
        action=Action(args.action),
        reason=args.reason,
        operator=args.operator or default_operator(),
        signal_name=getattr(args, "name", None),
        signal_input=getattr(args, "input", None),
    )

    async def run() -> Any:
        client = await connect_as(settings, request.operator)
        return await run_bulk(client, await select(client, args.query), request, args.dry_run)

    try:
        outcomes = _run(run())
    except ValueError as error:  # an empty query
        print(error)
        return 2
    except RuntimeError as error:
        return _unreachable(settings, error)
    if args.json:
        print(json.dumps([outcome.model_dump(mode="json") for outcome in outcomes], indent=2))
    else:
        dry = " (dry run: nothing changed)" if args.dry_run else ""
        title = f"bulk {args.action}: {len(outcomes)} cases{dry}"
        Console().print(outcomes_table(outcomes, title))
    return 1 if any(outcome.result == "failed" for outcome in outcomes) else 0


def _report(settings: Settings, args: argparse.Namespace) -> int:
    from workers.report import write_report  # another module; imported only when asked for
    from workers.temporal import connect

    out_dir = args.out or settings.data_dir / "report"

    async def run() -> Path:
        return await write_report(await connect(settings), args.start, args.end, out_dir, settings)

    try:
        print(_run(run()))
    except RuntimeError as error:
        return _unreachable(settings, error)
    return 0


def _unreachable(settings: Settings, error: RuntimeError) -> int:
    print(f"Fikk ikke kontakt med Temporal på {settings.temporal_address}: {error}")
    return 1


def _local(moment: datetime) -> str:
    return moment.astimezone(OSLO).strftime("%Y-%m-%d %H:%M:%S")


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    main()
