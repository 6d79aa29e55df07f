"""Workflow code keeps Temporal's rules where no sandbox looks.

The worker runs workflows without Temporal's sandbox (workers/worker.py, `workflow_runner`): the
tests run it strict (tests/conftest.py), so a wall clock, `random` or I/O on a path a test takes
fails that test; this reads every workflow module for them, whatever the tests reach.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from temporalio.worker import UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from workers.settings import Settings
from workers.worker import worker_tuning

WORKFLOWS = sorted((Path(__file__).parent.parent / "workflows").glob("*.py"))
# Modules whose use in a workflow is a wall clock, chance, a thread or I/O; `workflow.now()`,
# `workflow.uuid4()`, `workflow.random()`, timers and activities stand in for them.
FORBIDDEN_MODULES = {
    "random", "time", "uuid", "threading", "socket", "subprocess", "os", "sqlite3", "secrets",
    "requests", "httpx", "urllib", "shutil", "tempfile", "pathlib",
}  # fmt: skip
CLOCKS = {"now", "utcnow", "today", "fromtimestamp"}  # on datetime or date: the wall clock
FORBIDDEN_CALLS = {"open", "input", "print", "breakpoint"}


def offences(source: str) -> list[str]:
    """What a workflow module must not do, each with its line."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name.split(".")[0] for alias in node.names]
            found += [f"{node.lineno}: import {n}" for n in names if n in FORBIDDEN_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] in FORBIDDEN_MODULES:
                found.append(f"{node.lineno}: from {node.module} import …")
        elif isinstance(node, ast.Call):
            function = node.func
            if isinstance(function, ast.Name) and function.id in FORBIDDEN_CALLS:
                found.append(f"{node.lineno}: {function.id}()")
            if isinstance(function, ast.Attribute) and function.attr in CLOCKS:
                owner = ast.unparse(function.value)
                if owner.split(".")[-1] in {"datetime", "date"}:
                    found.append(f"{node.lineno}: {owner}.{function.attr}()")
    return found


@pytest.mark.parametrize("module", WORKFLOWS, ids=lambda path: path.name)
def test_a_workflow_module_reads_no_clock_chance_or_io(module: Path):
    assert offences(module.read_text()) == []


@pytest.mark.parametrize(
    "line",
    [
        "import random",
        "from time import sleep",
        "import os.path",
        "x = datetime.now()",
        "x = datetime.datetime.utcnow()",
        "x = date.today()",
        "open('f')",
    ],
)
def test_the_reader_finds_each_kind_of_offence(line: str):
    assert len(offences(line)) == 1


@pytest.mark.parametrize(
    "line",
    [
        "from datetime import time",
        "x = workflow.now()",
        "x = versions.today()",
        "x = workflow.uuid4()",
    ],
)
def test_the_reader_lets_the_workflow_apis_through(line: str):
    assert offences(line) == []


def test_the_worker_runs_without_the_sandbox_unless_told_strict():
    off = worker_tuning(Settings(worker_sandbox="off"))["workflow_runner"]
    strict = worker_tuning(Settings(worker_sandbox="strict"))["workflow_runner"]
    assert isinstance(off, UnsandboxedWorkflowRunner)
    assert isinstance(strict, SandboxedWorkflowRunner)
    assert Settings.model_fields["worker_sandbox"].default == "off"
    assert Settings().worker_sandbox == "strict"  # as tests/conftest.py sets it for every test
