"""The one place a Temporal client and data converter are made.

Client, worker, intake, replayer and tests all take the converter from here, so a payload written
by one is always readable by the others (dates and Decimals round-trip only with pydantic's).
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from workers.settings import Settings


def data_converter() -> DataConverter:
    return pydantic_data_converter


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(),
    )
