"""Every `saksflyt` command given bad input: one line on stderr naming the problem, a non-zero exit
code, and never a traceback. Exit 2 is bad input, 1 a failure (here: no Temporal where the
settings say). Each case runs through `cli.run`, what the console script's `main` calls; a sample
of them, and what only `main` does (settings read from the environment), run as an operator runs
them, a process of its own (a process costs two seconds of imports, fifty of them a minute)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.net import free_port
from workers import cli
from workers.settings import Settings

BAD_INPUT = 2
FAILED = 1

CASES: dict[str, tuple[list[str], int]] = {
    "no such command": (["nonsense"], BAD_INPUT),
    "dev: an option it lacks": (["dev", "--demo", "--fast"], BAD_INPUT),
    "worker: an argument": (["worker", "extra"], BAD_INPUT),
    "intake: an option it lacks": (["intake", "--port", "1"], BAD_INPUT),
    "simulator: an option it lacks": (["simulator", "--db", "x"], BAD_INPUT),
    "codec-server: an argument": (["codec-server", "extra"], BAD_INPUT),
    "codec-key: an argument": (["codec-key", "extra"], BAD_INPUT),
    "healthcheck: not a URL": (["healthcheck", "nonsense://x"], FAILED),
    "replay: the open cases, Temporal unreachable": (["replay"], FAILED),
    "replay: a file and a query": (["replay", "README.md", "--query", "x"], BAD_INPUT),
    "replay: a run without its workflow": (["replay", "--run-id", "r"], BAD_INPUT),
    "replay: debug of many": (["replay", "--debug", "--query", "x"], BAD_INPUT),
    "replay: one workflow, Temporal unreachable": (["replay", "-w", "new-hire-I1"], FAILED),
    "history: no such action": (["history", "import"], BAD_INPUT),
    "history export: no folder": (["history", "export"], BAD_INPUT),
    "history export: Temporal unreachable": (["history", "export", "--out", "."], FAILED),
    "replay: a file that does not exist": (["replay", "/no/such/history.json"], BAD_INPUT),
    "schedules: Temporal unreachable": (["schedules"], FAILED),
    "quarantine: no such action": (["quarantine", "drop"], BAD_INPUT),
    "quarantine list: an option it lacks": (["quarantine", "list", "--all"], BAD_INPUT),
    "quarantine show: not an id": (["quarantine", "show", "x"], BAD_INPUT),
    "quarantine show: an id it lacks": (["quarantine", "show", "7"], FAILED),
    "quarantine redrive: no id": (["quarantine", "redrive"], BAD_INPUT),
    "quarantine redrive: Temporal unreachable": (["quarantine", "redrive", "7"], FAILED),
    "quarantine purge: no age": (["quarantine", "purge"], BAD_INPUT),
    "quarantine purge: a negative age": (["quarantine", "purge", "--older-than", "-5"], BAD_INPUT),
    "quarantine purge: NaN days": (["quarantine", "purge", "--older-than", "nan"], BAD_INPUT),
    "quarantine purge: endless days": (["quarantine", "purge", "--older-than", "inf"], BAD_INPUT),
    "outbox list: an argument": (["outbox", "list", "7"], BAD_INPUT),
    "cases: a state no case has": (["cases", "--state", "nonsense"], BAD_INPUT),
    "cases: a process saksflyt lacks": (["cases", "--process", "nonsense"], BAD_INPUT),
    "cases: a negative age": (["cases", "--older-than", "-5"], BAD_INPUT),
    "cases: an age that is no number": (["cases", "--older-than", "five"], BAD_INPUT),
    "cases: Temporal unreachable": (["cases"], FAILED),
    "case: no number": (["case"], BAD_INPUT),
    "case: Temporal unreachable": (["case", "I2611-0042"], FAILED),
    "radar: an option it lacks": (["radar", "--older-than", "-5"], BAD_INPUT),
    "radar: Temporal unreachable": (["radar"], FAILED),
    "bulk: no such action": (["bulk", "pause", "--query", "x", "--reason", "r"], BAD_INPUT),
    "bulk signal: no name": (["bulk", "signal", "--query", "x", "--reason", "r"], BAD_INPUT),
    "bulk signal: input not JSON": (
        ["bulk", "signal", "--name", "send_now", "--input", "{", "--query", "x", "--reason", "r"],
        BAD_INPUT,
    ),
    "bulk cancel: a blank reason": (["bulk", "cancel", "--query", "x", "--reason", " "], BAD_INPUT),
    "bulk retry: a blank query": (["bulk", "retry", "--query", "", "--reason", "r"], BAD_INPUT),
    "bulk cancel: Temporal unreachable": (
        ["bulk", "cancel", "--query", "WaitState='on_hold'", "--reason", "r", "--dry-run"],
        FAILED,
    ),
    "report: the period backwards": (
        ["report", "--from", "2026-12-31", "--to", "2026-12-01"],
        BAD_INPUT,
    ),
    "report: not a date": (["report", "--from", "2026-13-01", "--to", "2026-12-31"], BAD_INPUT),
    "report: a folder it cannot write": (
        ["report", "--from", "2026-12-01", "--to", "2026-12-31", "--out", "/proc/nope"],
        FAILED,
    ),
}


def saksflyt(tmp_path: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`saksflyt ARGV` through the console script's `main`, configured only by `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "SAKSFLYT_"))}
    settings = {
        "SAKSFLYT_DATA_DIR": str(tmp_path / "data"),
        "SAKSFLYT_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",  # nobody listens there
        "SAKSFLYT_LOG_FORMAT": "json",
    }
    return subprocess.run(
        [sys.executable, "-c", "from workers.cli import main; main()", *argv],
        env={**clean, **settings, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_one_line_error(run: subprocess.CompletedProcess[str], code: int) -> None:
    said = run.stdout + run.stderr
    assert "Traceback" not in said, said
    assert run.returncode == code, said
    assert run.stderr.startswith("saksflyt") and run.stderr.count("\n") == 1, said


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_input_is_one_line_and_an_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], case: str
):
    argv, code = CASES[case]
    monkeypatch.chdir(tmp_path)
    settings = Settings(
        data_dir=tmp_path / "data",
        temporal_address=f"127.0.0.1:{free_port()}",  # nobody listens there
        log_format="json",
    )
    returned = cli.run(argv, settings)
    said = capsys.readouterr()
    assert_one_line_error(subprocess.CompletedProcess(argv, returned, said.out, said.err), code)


@pytest.mark.parametrize(
    "case", ["no such command", "quarantine purge: NaN days", "cases: Temporal unreachable"]
)
def test_the_console_script_says_the_same_in_a_process_of_its_own(tmp_path: Path, case: str):
    argv, code = CASES[case]
    assert_one_line_error(saksflyt(tmp_path, *argv), code)


def test_a_file_that_is_not_a_history_is_named_not_a_traceback(tmp_path: Path):
    for text in ("not json", '{"x": 1}', "[1]"):
        (tmp_path / "history.json").write_text(text)
        run = saksflyt(tmp_path, "replay", str(tmp_path / "history.json"))
        said = run.stdout + run.stderr
        assert run.returncode == FAILED and "Traceback" not in said, said
        assert "history.json" in said and "not a" in said, said


def test_settings_that_do_not_validate_are_one_line(tmp_path: Path):
    run = saksflyt(tmp_path, "cases", SAKSFLYT_INTAKE_PORT="eighty")
    assert_one_line_error(run, BAD_INPUT)
    assert "SAKSFLYT_INTAKE_PORT" in run.stderr


async def test_a_query_temporal_refuses_is_one_line(
    dev_server: WorkflowEnvironment, tmp_path: Path
):
    address = dev_server.client.service_client.config.target_host
    argv = ["bulk", "cancel", "--query", "WaitState=", "--dry-run", "--reason", "tidying"]
    run = saksflyt(tmp_path, *argv, SAKSFLYT_TEMPORAL_ADDRESS=address)
    assert_one_line_error(run, BAD_INPUT)
    assert "query" in run.stderr.lower()
