"""Defence in depth: whatever reaches a log line, a fødselsnummer, D-nummer or bank account in it
is masked before it is written, in structlog's lines and the stdlib's (Temporal's) alike, in JSON
and on a terminal; what a case handler needs in a log (case numbers, employee numbers, ids,
times) stays."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from workers.logging import configure_logging, masked

FNR, D_NUMBER, ACCOUNT = "15038510190", "55038510190", "86011117947"
WRITTEN = [FNR, "150385 10190", D_NUMBER, ACCOUNT, "8601 11 17947", "8601.11.17947"]


@pytest.fixture(autouse=True)
def _logging_restored():
    """Each test configures logging its own way; the tests after it find it as it was."""
    config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.configure(**config)
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("value", WRITTEN)
def test_every_spelling_of_an_identifier_is_masked(value: str):
    assert masked(f"skjema med {value}, sjekket") == "skjema med ***********, sjekket"


@pytest.mark.parametrize(
    "kept",
    [
        "I2612-0001",
        "ansattnummer 05001234",
        "2026-12-06T22:48:28.270942Z",
        "run 0193a1b2-7c3d-7e4f-8a9b-123456789012",
        "duration_ms=123456789012",
    ],
)
def test_what_is_not_an_identifier_is_kept(kept: str):
    assert masked(kept) == kept


def test_nested_values_are_masked_and_other_types_kept():
    assert masked({"a": [FNR, ("x", ACCOUNT)], "n": 3}) == {
        "a": ["***********", ("x", "***********")],
        "n": 3,
    }


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_no_line_carries_an_identifier_whoever_logs_it(
    log_format: str, capsys: pytest.CaptureFixture[str]
):
    configure_logging(log_format)
    log = structlog.get_logger("test")
    log.info("registrert", form=f"Fødselsnummer: {FNR}", case_number="I2612-0001")
    logging.getLogger("temporalio.activity").warning("SAP svarte om %s", "8601 11 17947")
    try:
        raise ValueError(f"ugyldig konto {ACCOUNT}")
    except ValueError:
        log.exception("feilet", employee="05001234")

    written = capsys.readouterr().err
    for value in WRITTEN:
        assert value not in written
    assert written.count("***********") >= 3 and "I2612-0001" in written
    assert "05001234" in written and "ValueError" in written  # the traceback is still there
    if log_format == "json":
        assert all(json.loads(line) for line in written.splitlines() if line.startswith("{"))
