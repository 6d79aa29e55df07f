"""Every scenario of the replay corpus: the harness's own, and those of each process's
`tests/scenarios_<process>.py`, found by name so that a process adds its paths in its own file."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from pathlib import Path

from temporalio.client import WorkflowHandle

from tests import harness
from tests.harness import Harness

Scenario = Callable[[Harness], Awaitable[WorkflowHandle]]


def _all() -> dict[str, Scenario]:
    scenarios: dict[str, Scenario] = dict(harness.SCENARIOS)
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if module.name.startswith("scenarios_"):
            scenarios.update(importlib.import_module(f"tests.{module.name}").SCENARIOS)
    return scenarios


SCENARIOS = _all()
