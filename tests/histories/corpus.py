"""The replay corpus's ledger: which workflow code recorded each history, and where it waited.

The corpus guards releases only if it holds histories of the code being released: a workflow
changed without a history recorded by the change replays the old paths, never the new one. So
`make record-histories` writes, beside each file, the fingerprint of the workflow's code, and
`tests/test_corpus.py` fails when a workflow's code has a fingerprint no history was recorded
with. The fingerprint is of the workflow module and the `workflows/` modules it imports, read as
syntax (comments, docstrings and formatting do not count), since those make the commands.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
LEDGER = HERE / "recorded.json"
PACKAGE = "workflows"


def fingerprint(workflow_class: type) -> str:
    """A short hash of the code that makes this workflow's commands."""
    return code_fingerprint(Path(_file_of(workflow_class)))


def code_fingerprint(module: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(_modules_behind(module)):
        digest.update(path.name.encode() + _syntax(path).encode())
    return digest.hexdigest()[:12]


def _file_of(cls: type) -> str:
    file = getattr(sys.modules[cls.__module__], "__file__", None)
    assert file, f"{cls.__name__} has no source file"
    return file


def _modules_behind(path: Path) -> set[Path]:
    """The module and the modules of its package it imports, and theirs."""
    found, todo = set(), [path]
    while todo:
        module = todo.pop()
        if module in found or not module.exists():
            continue
        found.add(module)
        todo += [module.parent / f"{name}.py" for name in _package_imports(module)]
    return found


def _package_imports(module: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == PACKAGE:
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(f"{PACKAGE}."):
            names.append(node.module.split(".")[1])  # type: ignore[union-attr]
        elif isinstance(node, ast.Import):
            names += [a.name.split(".")[1] for a in node.names if a.name.startswith(f"{PACKAGE}.")]
    return names


def _syntax(path: Path) -> str:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and _is_docstring(body[0]):
            node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
    return ast.dump(tree)


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def ledger() -> dict[str, dict[str, Any]]:
    """{file relative to the corpus: {workflow, code, wait_states, recorded}}."""
    return json.loads(LEDGER.read_text()) if LEDGER.exists() else {}


def write_ledger(entries: dict[str, dict[str, Any]]) -> None:
    LEDGER.write_text(
        json.dumps(dict(sorted(entries.items())), indent=1, ensure_ascii=False) + "\n"
    )


def entry(history: dict[str, Any], code: str | None) -> dict[str, Any]:
    """A history's line in the ledger; `code` is None for a file recorded before the ledger."""
    return {
        "workflow": workflow_type(history),
        "code": code,
        "wait_states": wait_states(history),
        "recorded": history["events"][0]["eventTime"][:10],
    }


def workflow_type(history: dict[str, Any]) -> str:
    started = history["events"][0]["workflowExecutionStartedEventAttributes"]
    return str(started["workflowType"]["name"])


def wait_states(history: dict[str, Any]) -> list[str]:
    """The wait states a history passed through, in order, from its search-attribute upserts
    (Temporal indexes them unsealed)."""
    states: list[str] = []
    for event in history["events"]:
        upsert = event.get("upsertWorkflowSearchAttributesEventAttributes")
        fields = (upsert or {}).get("searchAttributes", {}).get("indexedFields", {})
        if "WaitState" in fields:
            state = json.loads(base64.b64decode(fields["WaitState"]["data"]))
            if not states or states[-1] != state:
                states.append(state)
    return states


def commands(history: dict[str, Any]) -> list[str]:
    """What the workflow decided, in order (the events its commands made carry the workflow
    task that completed them): enough to tell whether two recordings of one scenario took the
    same path, in which case the older file adds nothing to the corpus."""
    made = []
    for event in history["events"]:
        attributes = next((v for k, v in event.items() if k.endswith("EventAttributes")), {})
        if "workflowTaskCompletedEventId" in attributes:
            name = attributes.get("activityType", {}).get("name") or attributes.get("markerName")
            made.append(f"{event['eventType']} {name or ''}".strip())
    return made
