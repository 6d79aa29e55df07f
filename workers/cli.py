"""The `saksflyt` command.

    saksflyt dev [--demo] [--once]   the embedded stack on loopback (and the demo)
    saksflyt worker | intake | simulator   one process of the stack
    saksflyt replay FILE...          replay recorded histories against this code
    saksflyt schedules               create or update the end-date watch's and the quarterly
                                     follow-up's schedules on the configured cluster

Every command that used a Temporal client ends with `os._exit` after flushing its output: the
SDK's bridge threads can abort an exiting interpreter (temporal-practices §2.10), and a command's
exit code must be trustworthy for scripts and CI.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from rich.console import Console

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
    replay = command("replay", _replay, "replay recorded histories against this code")
    replay.add_argument("files", nargs="+", type=Path, help="history JSON files")
    command("schedules", _schedules, "create or update the schedules on the configured cluster")
    return parser


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
    from workers import worker

    _run(worker.run(settings))
    return 0


def _intake(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from workers.intake import create_app
    from workers.temporal import INTAKE_RETRY, connect

    app = create_app(settings, lambda: connect(settings, INTAKE_RETRY))
    uvicorn.run(app, host=settings.intake_host, port=settings.intake_port, log_level="warning")
    return 0


def _simulator(settings: Settings, args: argparse.Namespace) -> int:
    from adapters.topdesk import simulator

    host_port = settings.topdesk_url.rsplit("//", 1)[-1]
    host, port = host_port.rsplit(":", 1)
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


def _replay(settings: Settings, args: argparse.Namespace) -> int:
    from workers.replay import replay_files

    failures = _run(replay_files(args.files))
    for name, failure in failures.items():
        print(f"FAIL {name}: {failure}")
    print(f"{len(args.files) - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    main()
