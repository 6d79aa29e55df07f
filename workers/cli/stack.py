"""The commands that run the stack or a process of it, and the engineers' tools around it."""

from __future__ import annotations

import asyncio
import os
import signal
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console

from workers.cli.common import Failure, on_temporal, settings_of
from workers.settings import Settings


def dev(
    ctx: typer.Context,
    demo: Annotated[bool, typer.Option(help="submit the sample cases")] = False,
    once: Annotated[bool, typer.Option(help="stop once the demo cases settled")] = False,
) -> int:
    """Start the embedded stack on loopback (Ctrl-C stops it)."""
    from workers.dev import DevStack, StackError

    settings = settings_of(ctx)
    console = Console()
    console.print(f"[bold]saksflyt dev[/] — data in {settings.data_dir}/")
    signal.signal(signal.SIGTERM, _interrupt)  # stop the stack the same way as Ctrl-C
    try:
        with DevStack(settings):
            if demo:
                ok = asyncio.run(_demo(settings, console))
                if once:
                    return 0 if ok else 1
            console.print("The stack is running. Ctrl-C stops it.")
            signal.pause()
    except StackError as error:
        raise Failure(str(error)) from None
    except KeyboardInterrupt:
        console.print("Stopping …")
    return 0


async def _demo(settings: Settings, console: Console) -> bool:
    from workers.demo import Demo
    from workers.temporal import connect

    return await Demo(settings, await connect(settings), console).run()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def worker(ctx: typer.Context) -> int:
    """Run the Temporal worker, serving Prometheus metrics at `metrics_address` unless empty."""
    from workers import worker
    from workers.metrics import MetricsUnavailable

    try:
        asyncio.run(worker.run(settings_of(ctx)))
    except (MetricsUnavailable, ValueError) as error:  # a port taken; the dev pseudonym key
        raise Failure(str(error)) from None
    return 0


def intake(ctx: typer.Context) -> int:
    """Run the webhook intake."""
    import uvicorn

    from workers.intake import create_app
    from workers.temporal import INTAKE_RETRY, connect

    settings = settings_of(ctx)
    app = create_app(settings, lambda: connect(settings, INTAKE_RETRY, lazy=True))
    # No uvicorn access log: it would print a secret given as a path segment; the intake logs
    # every request itself, redacted. uvloop and httptools: a third less CPU a webhook than
    # asyncio's loop and h11 (`bench/intake_load.py`: 1.6 against 2.5 ms).
    uvicorn.run(
        app,
        host=settings.intake_host,
        port=settings.intake_port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
    )
    return 0


def simulator(ctx: typer.Context) -> int:
    """Run the TOPdesk simulator."""
    from adapters.topdesk import simulator

    settings = settings_of(ctx)
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


def codec_server(ctx: typer.Context) -> int:
    """Open sealed payloads for Temporal UI and the `temporal` CLI."""
    from workers import codec_server

    try:
        codec_server.run(settings_of(ctx))
    except ValueError as error:  # no token off loopback; a key that is missing or unusable
        raise Failure(str(error)) from None
    return 0


def codec_key() -> int:
    """Print a new payload key (base64) for SAKSFLYT_CODEC_KEYS."""
    from workers.codec import new_key

    print(new_key())
    return 0


def schedules(ctx: typer.Context) -> int:
    """Create or update the schedules (end-date watch, quarterly follow-up, TOPdesk backfill,
    radar) on the configured cluster."""
    from workers.schedules import ensure_schedules
    from workers.temporal import connect

    settings = settings_of(ctx)

    async def ensure() -> list[str]:
        return await ensure_schedules(await connect(settings), settings)

    for line in on_temporal(settings, ensure):
        print(line)
    return 0


def healthcheck(
    url: Annotated[
        str | None, typer.Argument(help="default: $HEALTHCHECK_URL (none: exit 0)")
    ] = None,
) -> int:
    """Exit 0 if URL answers 2xx (the image's HEALTHCHECK).

    Each role names its own URL in HEALTHCHECK_URL (the intake's and the codec server's /healthz,
    the worker's /metrics); a one-shot command (schedules, the operator CLI) names none and is
    healthy while it runs."""
    import urllib.request

    url = url or os.environ.get("HEALTHCHECK_URL", "")
    if not url:
        return 0
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return 0 if 200 <= response.status < 300 else 1
    except (OSError, ValueError) as error:  # refused, timed out, an HTTP error; not a URL
        raise Failure(f"{url}: {error}") from None
