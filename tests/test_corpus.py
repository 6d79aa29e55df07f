"""The corpus guards releases: it must hold a history recorded by the workflow code of this
commit, for every workflow, and pass through every wait state.

A workflow changed without a new recording would be released with only its old paths replayed;
the fix is `make record-histories` (earlier recordings that took another path are kept as
`vN_*.json`, since they stand for cases running under the earlier code).
"""

from __future__ import annotations

from pathlib import Path

from domain.cases import WaitState
from tests.histories import corpus
from workers.worker import WORKFLOWS

HISTORIES = Path(corpus.__file__).parent

# Workflows no scenario records, and why: the radar only reads visibility, which the time-skipping
# server that records the corpus does not answer; its commands are tested in tests/test_radar.py.
UNRECORDED = {"StuckCaseRadar": "reads visibility only; tests/test_radar.py"}


def workflow_name(cls: type) -> str:
    return str(getattr(cls, "__temporal_workflow_definition").name)


def test_every_history_has_a_line_in_the_ledger_and_every_line_a_file():
    files = {str(path.relative_to(HISTORIES)) for path in HISTORIES.glob("*/*.json")}
    assert set(corpus.ledger()) == files, "run `make record-histories` to write the ledger"


def test_every_workflow_has_a_history_recorded_by_its_current_code():
    recorded: dict[str, set[str | None]] = {}
    for entry in corpus.ledger().values():
        recorded.setdefault(entry["workflow"], set()).add(entry["code"])
    stale = [
        f"{name} (code {corpus.fingerprint(cls)})"
        for cls in WORKFLOWS
        if (name := workflow_name(cls)) not in UNRECORDED
        and corpus.fingerprint(cls) not in recorded.get(name, set())
    ]
    assert not stale, (
        "workflow code changed since its histories were recorded, so the corpus would not replay "
        "the new paths: run `make record-histories` and commit the new files: " + "; ".join(stale)
    )


def test_the_corpus_passes_through_every_wait_state():
    seen = {state for entry in corpus.ledger().values() for state in entry["wait_states"]}
    assert {state.value for state in WaitState} <= seen


def test_a_change_of_code_changes_the_fingerprint_and_a_comment_does_not(tmp_path):
    package = tmp_path / "workflows"
    package.mkdir()
    step = package / "step.py"
    step.write_text('"""Why."""\nSTEP = "read_case"\n')
    flow = package / "flow.py"
    flow.write_text("from workflows.step import STEP\n\n\nclass Flow:\n    pass\n")
    before = corpus.code_fingerprint(flow)

    step.write_text('"""Why, said again."""\n# a comment\nSTEP = "read_case"  # same\n')
    assert corpus.code_fingerprint(flow) == before
    step.write_text('"""Why."""\nSTEP = "write_case"\n')
    assert corpus.code_fingerprint(flow) != before
