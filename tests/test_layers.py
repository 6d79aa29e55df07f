"""Workflows take no adapter type, not even through an activity module (issue 12).

`lint-imports` (pyproject.toml) checks the import graph: no workflow imports an adapter module.
A workflow still imports the activity modules for their method references, and those import their
adapters, so a name an activity module re-exports from an adapter would reach the workflow unseen
by the graph. These tests look at the names: what a workflow imports from an activity module is
the activity's own, and the payloads the activities take and return are built of domain types.
"""

from __future__ import annotations

import ast
import importlib
import typing
from pathlib import Path

from pydantic import BaseModel

WORKFLOWS = Path(__file__).parent.parent / "workflows"


def _imported_from_activities() -> list[tuple[str, str, object]]:
    """(workflow file, activity module, object) for each name a workflow imports from one."""
    found = []
    for path in sorted(WORKFLOWS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("activities"):
                module = importlib.import_module(node.module or "")
                for alias in node.names:
                    found.append((path.name, module.__name__, getattr(module, alias.name)))
    return found


def _adapter_types(annotation: object, seen: set[type]) -> set[str]:
    """The adapter classes an annotation is built of, looking into pydantic models' fields."""
    found: set[str] = set()
    for argument in typing.get_args(annotation):
        found |= _adapter_types(argument, seen)
    if not isinstance(annotation, type) or annotation in seen:
        return found
    seen.add(annotation)
    if annotation.__module__.startswith("adapters"):
        found.add(f"{annotation.__module__}.{annotation.__qualname__}")
    if issubclass(annotation, BaseModel):
        for field in annotation.model_fields.values():
            found |= _adapter_types(field.annotation, seen)
    return found


def test_workflows_import_no_adapter_name_through_an_activity_module() -> None:
    leaks = [
        f"{workflow}: {module}.{getattr(value, '__name__', value)} is {value.__module__}'s"
        for workflow, module, value in _imported_from_activities()
        if isinstance(value, type) and value.__module__.startswith("adapters")
    ]
    assert leaks == []


def test_activity_payloads_the_workflows_use_are_built_of_domain_types() -> None:
    leaks: set[str] = set()
    for _, _, value in _imported_from_activities():
        if not isinstance(value, type):
            continue
        if issubclass(value, BaseModel):
            leaks |= {f"{value.__name__}: {t}" for t in _adapter_types(value, set())}
            continue
        for name, method in vars(value).items():  # an activity class: its methods' signatures
            if hasattr(method, "__temporal_activity_definition"):
                for hint in typing.get_type_hints(method).values():
                    leaks |= {f"{value.__name__}.{name}: {t}" for t in _adapter_types(hint, set())}
    assert leaks == set()
