"""The `saksflyt` command.

    saksflyt dev [--demo] [--once]   the embedded stack on loopback (and the demo)
    saksflyt worker | intake | simulator | codec-server   one process of the stack
    saksflyt codec-key               a new payload key (base64) for SAKSFLYT_CODEC_KEYS
    saksflyt healthcheck [URL]       exit 0 if URL (or $HEALTHCHECK_URL) answers 2xx
    saksflyt replay [PATH...] [-w ID [-r RUN]] [-q QUERY] [--debug]
                                     replay histories against this code: files and folders,
                                     one workflow, or every workflow a query finds (by default
                                     every open case); --debug reads one case step by step
    saksflyt history export [-q QUERY] --out DIR   one file per workflow run, payloads sealed
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

A command that cannot do what was asked says so in one line on stderr, never a traceback: exit 2
for bad input (an option's value, a query Temporal refuses), 1 for a failure (Temporal
unreachable, a case no workflow knows).

Every command that used a Temporal client ends with `os._exit` after flushing its output: the
SDK's bridge threads can abort an exiting interpreter (temporal-practices §2.10), and a command's
exit code must be trustworthy for scripts and CI.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click
import typer
from pydantic import ValidationError

from workers.cli import histories, stack, watching
from workers.cli.bulk import bulk
from workers.cli.common import BAD_INPUT, Failure, one_line
from workers.cli.held import outbox, quarantine
from workers.logging import configure_logging
from workers.settings import Settings

app = typer.Typer(
    help="saksflyt: TOPdesk cases as durable Temporal workflows.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command()(stack.dev)
app.command()(stack.worker)
app.command()(stack.intake)
app.command()(stack.simulator)
app.command("codec-server")(stack.codec_server)
app.command("codec-key")(stack.codec_key)
app.command()(stack.healthcheck)
app.command()(histories.replay)
app.add_typer(histories.history, name="history")
app.command()(stack.schedules)
app.add_typer(quarantine, name="quarantine")
app.add_typer(outbox, name="outbox")
app.command()(watching.cases)
app.command()(watching.case)
app.command()(watching.radar)
app.add_typer(bulk, name="bulk")
app.command()(watching.report)


def main() -> None:
    code = run(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run(argv: Sequence[str], settings: Settings | None = None) -> int:
    """`saksflyt ARGV...`: its exit code, every error said in one line on stderr. Tests give
    their own `settings`; `main` reads them from the environment."""
    if settings is None:
        try:
            settings = Settings()
        except ValidationError as error:
            return _said(f"saksflyt: invalid settings: {_settings_problems(error)}", BAD_INPUT)
        configure_logging(settings.log_format)
    command = typer.main.get_command(app)
    try:
        code = command.main(list(argv), "saksflyt", standalone_mode=False, obj=settings)
    except click.exceptions.NoArgsIsHelpError as error:  # a group named without its command
        print(error.ctx.get_help() if error.ctx else error.format_message(), file=sys.stderr)
        return BAD_INPUT
    except click.ClickException as error:
        where = (
            error.ctx.command_path
            if isinstance(error, click.UsageError) and error.ctx
            else "saksflyt"
        )
        return _said(f"{where}: {one_line(error.format_message())}", error.exit_code)
    except Failure as failure:
        return _said(f"{failure.command}: {failure}", failure.code)
    except (KeyboardInterrupt, click.Abort):
        return 130
    return code if isinstance(code, int) else 0


def _said(line: str, code: int) -> int:
    print(line, file=sys.stderr)
    return code


def _settings_problems(error: ValidationError) -> str:
    return "; ".join(
        f"SAKSFLYT_{'_'.join(map(str, problem['loc'])).upper()}: {problem['msg']}"
        for problem in error.errors()
    )
