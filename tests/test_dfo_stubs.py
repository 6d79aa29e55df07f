"""The SPK and archive stubs and the letters keep the promises the workflows rely on: durable
state shared through the file, one answer per idempotency key, one personnel file per employee,
a document filed once, refusals that name what is wrong, faults on demand, and letters that say
what seed 001 says they must."""

from __future__ import annotations

import re
import time
from datetime import date
from pathlib import Path

import pytest

from adapters.dfo.archive import (
    ArchiveDocument,
    ArchiveRejected,
    ArchiveStub,
    ArchiveUnavailable,
    DocumentType,
    JournalPost,
    PersonnelFile,
)
from adapters.dfo.letters import LetterError, LetterFields, LetterKind, render_letter
from adapters.dfo.spk import (
    PensionMessage,
    PensionReceipt,
    PensionStatus,
    PensionType,
    SpkRejected,
    SpkStub,
    SpkUnavailable,
)

EMPLOYEE = "05001234"


def pension(**changes: object) -> PensionMessage:
    message = PensionMessage(
        ansattnummer=EMPLOYEE,
        pensjonstype=PensionType.RETIREMENT,
        uttaksgrad=100,
        fradato=date(2027, 6, 1),
        sluttdato=date(2027, 5, 31),
    )
    return message.model_copy(update=changes)


def letter_doc(text: str = "Oppsigelse fra Kari Nordmann") -> ArchiveDocument:
    return ArchiveDocument(tittel="Oppsigelse", dokumenttype=DocumentType.INCOMING, innhold=text)


def open_file(archive: ArchiveStub, key: str = "file-1", number: str = EMPLOYEE) -> PersonnelFile:
    return archive.find_or_create_personnel_file(number, "Kari Nordmann", 2026, key)


# -- SPK ------------------------------------------------------------------------------------


def test_spk_repeated_key_returns_the_first_receipt_and_stores_nothing_more(tmp_path: Path):
    spk = SpkStub(tmp_path / "spk.db")
    first = spk.send_pension_message(pension(), "pension-P1/spk/0")
    again = spk.send_pension_message(pension(), "pension-P1/spk/0")
    assert again == first and first.status is PensionStatus.RECEIVED
    assert len(spk.messages()) == 1


def test_spk_the_same_message_under_a_new_key_gets_the_first_receipt(tmp_path: Path):
    spk = SpkStub(tmp_path / "spk.db")
    first = spk.send_pension_message(pension(), "a")
    assert spk.send_pension_message(pension(), "b") == first
    assert len(spk.messages()) == 1


def test_spk_a_different_message_for_the_same_person_and_date_is_refused(tmp_path: Path):
    spk = SpkStub(tmp_path / "spk.db")
    spk.send_pension_message(pension(), "a")
    with pytest.raises(SpkRejected, match="allerede en pensjonsmelding"):
        spk.send_pension_message(pension(uttaksgrad=60, sluttdato=None), "b")
    assert len(spk.messages()) == 1


def test_spk_another_pension_date_or_another_employee_is_a_new_message(tmp_path: Path):
    spk = SpkStub(tmp_path / "spk.db")
    first = spk.send_pension_message(pension(), "a")
    moved = spk.send_pension_message(pension(fradato=date(2027, 7, 1)), "b")
    other = spk.send_pension_message(pension(ansattnummer="05009999"), "c")
    assert len({first.id, moved.id, other.id}) == 3


def test_spk_a_withdrawn_message_no_longer_blocks_a_corrected_one(tmp_path: Path):
    spk = SpkStub(tmp_path / "spk.db")
    first = spk.send_pension_message(pension(), "a")
    withdrawn = spk.withdraw_pension_message(first.id, "withdraw-a")
    assert withdrawn.status is PensionStatus.WITHDRAWN
    assert spk.withdraw_pension_message(first.id, "withdraw-a") == withdrawn
    corrected = spk.send_pension_message(pension(uttaksgrad=60, sluttdato=None), "b")
    assert corrected.id != first.id and corrected.status is PensionStatus.RECEIVED


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"uttaksgrad": 0}, "uttaksgrad"),
        ({"uttaksgrad": 101}, "uttaksgrad"),
        ({"ansattnummer": "5001234"}, "ansattnummer"),
        ({"ansattnummer": "0500123X"}, "ansattnummer"),
    ],
)
def test_spk_a_malformed_message_is_refused_naming_the_field(tmp_path, changes, field):
    spk = SpkStub(tmp_path / "spk.db")
    with pytest.raises(SpkRejected, match=field):
        spk.send_pension_message(pension(**changes), "a")
    assert spk.messages() == []


def test_spk_accepts_the_edges_of_uttaksgrad_and_a_death(tmp_path: Path):
    spk = SpkStub(tmp_path / "spk.db")
    spk.send_pension_message(pension(uttaksgrad=1), "a")
    spk.send_pension_message(pension(uttaksgrad=100, fradato=date(2027, 8, 1)), "b")
    death = pension(pensjonstype=PensionType.DEATH, fradato=date(2027, 9, 1), arsak="dødsfall")
    assert spk.send_pension_message(death, "c").pensjonstype is PensionType.DEATH


def test_spk_state_survives_a_restart(tmp_path: Path):
    receipt = SpkStub(tmp_path / "spk.db").send_pension_message(pension(), "a")
    SpkStub(tmp_path / "spk.db").mark_processed(receipt.id)
    after = SpkStub(tmp_path / "spk.db")
    assert after.message_status(receipt.id).status is PensionStatus.PROCESSED
    assert after.send_pension_message(pension(), "a") == receipt


def test_spk_an_unknown_receipt_is_refused(tmp_path: Path):
    with pytest.raises(SpkRejected):
        SpkStub(tmp_path / "spk.db").message_status("SPK-999999")


def test_spk_injected_outages_fail_exactly_that_many_calls(tmp_path: Path):
    spk = SpkStub(tmp_path / "spk.db")
    spk.inject_fault("unavailable", times=2)
    for _ in range(2):
        with pytest.raises(SpkUnavailable):
            spk.send_pension_message(pension(), "a")
    assert spk.send_pension_message(pension(), "a").id == "SPK-000001"
    assert len(spk.messages()) == 1


def test_spk_injected_latency_delays_the_answer(tmp_path: Path):
    spk = SpkStub(tmp_path / "spk.db")
    spk.inject_fault("latency", seconds=0.1)
    started = time.monotonic()
    spk.send_pension_message(pension(), "a")
    assert time.monotonic() - started >= 0.1


def test_spk_a_fault_injected_by_another_process_reaches_this_one(tmp_path: Path):
    SpkStub(tmp_path / "spk.db").inject_fault("unavailable")
    with pytest.raises(SpkUnavailable):
        SpkStub(tmp_path / "spk.db").message_status("SPK-000001")


# -- archive --------------------------------------------------------------------------------


def test_archive_one_open_personnel_file_per_employee(tmp_path: Path):
    archive = ArchiveStub(tmp_path / "archive.db")
    first = open_file(archive, "a")
    again = archive.find_or_create_personnel_file(EMPLOYEE, "Kari N. Nordmann", 2027, "b")
    other = open_file(archive, "c", number="05009999")
    assert again == first
    assert first.saksnummer == "2026/00001" and first.tittel == "Kari Nordmann"
    assert other.saksnummer == "2026/00002"


def test_archive_a_repeated_key_returns_the_first_file(tmp_path: Path):
    archive = ArchiveStub(tmp_path / "archive.db")
    first = open_file(archive, "a")
    archive.close_personnel_file(first.saksnummer)
    assert open_file(archive, "a") == first


def test_archive_a_closed_file_is_not_reused_nor_filed_into(tmp_path: Path):
    archive = ArchiveStub(tmp_path / "archive.db")
    first = open_file(archive, "a")
    archive.close_personnel_file(first.saksnummer)
    second = open_file(archive, "b")
    assert second.saksnummer != first.saksnummer
    with pytest.raises(ArchiveRejected, match="avsluttet"):
        archive.file_document(first.saksnummer, letter_doc(), "doc")


def test_archive_case_numbers_count_per_year(tmp_path: Path):
    archive = ArchiveStub(tmp_path / "archive.db")
    open_file(archive, "a", number="05000001")
    later = archive.find_or_create_personnel_file("05000002", "Ola Nordmann", 2027, "b")
    assert later.saksnummer == "2027/00001"


def test_archive_journal_posts_are_numbered_one_two_three_within_a_file(tmp_path: Path):
    archive = ArchiveStub(tmp_path / "archive.db")
    case = open_file(archive).saksnummer
    other = open_file(archive, "other", number="05009999").saksnummer
    posts = [archive.file_document(case, letter_doc(f"dokument {n}"), f"doc-{n}") for n in range(3)]
    elsewhere = archive.file_document(other, letter_doc("dokument 0"), "elsewhere")
    assert [post.journalpostnummer for post in posts] == [f"{case}-1", f"{case}-2", f"{case}-3"]
    assert archive.documents(case) == posts
    assert elsewhere.journalpostnummer == f"{other}-1"


def test_archive_a_repeated_key_returns_the_same_journal_post_and_files_nothing(tmp_path):
    archive = ArchiveStub(tmp_path / "archive.db")
    case = open_file(archive).saksnummer
    first = archive.file_document(case, letter_doc(), "doc")
    assert archive.file_document(case, letter_doc("annen tekst"), "doc") == first
    assert len(archive.documents(case)) == 1


def test_archive_the_same_content_under_a_new_key_is_filed_once(tmp_path: Path):
    archive = ArchiveStub(tmp_path / "archive.db")
    case = open_file(archive).saksnummer
    first = archive.file_document(case, letter_doc(), "doc-1")
    retitled = letter_doc().model_copy(update={"tittel": "Oppsigelse (ny)"})
    assert archive.file_document(case, retitled, "doc-2") == first
    assert archive.documents(case) == [first]
    assert first.sjekksum == letter_doc().sjekksum != letter_doc("annet").sjekksum


def test_archive_an_unknown_or_malformed_case_number_is_refused(tmp_path: Path):
    archive = ArchiveStub(tmp_path / "archive.db")
    open_file(archive)
    for saksnummer in ("2026/00002", "1999/00001", "2026-00001", "tull"):
        with pytest.raises(ArchiveRejected, match="finnes ikke"):
            archive.file_document(saksnummer, letter_doc(), f"doc-{saksnummer}")
    with pytest.raises(ArchiveRejected):
        archive.documents("2026/00002")


def test_archive_takes_a_case_number_with_or_without_leading_zeros(tmp_path: Path):
    """domain.identifiers.archive_case_number writes 2026/1 for 2026/00001."""
    archive = ArchiveStub(tmp_path / "archive.db")
    open_file(archive)
    post = archive.file_document("2026/1", letter_doc(), "doc")
    assert post.journalpostnummer == "2026/00001-1"


@pytest.mark.parametrize(
    ("number", "name", "year"),
    [("5001234", "Kari", 2026), (EMPLOYEE, "  ", 2026), (EMPLOYEE, "Kari", 26)],
)
def test_archive_a_malformed_personnel_file_request_is_refused(tmp_path, number, name, year):
    archive = ArchiveStub(tmp_path / "archive.db")
    with pytest.raises(ArchiveRejected):
        archive.find_or_create_personnel_file(number, name, year, "a")


def test_archive_state_survives_a_restart(tmp_path: Path):
    case = open_file(ArchiveStub(tmp_path / "archive.db")).saksnummer
    first = ArchiveStub(tmp_path / "archive.db").file_document(case, letter_doc("1"), "doc-1")
    after = ArchiveStub(tmp_path / "archive.db")
    assert open_file(after, "new-key").saksnummer == case
    second = after.file_document(case, letter_doc("2"), "doc-2")
    assert second.dokumentnummer == 2
    assert after.documents(case) == [first, second]
    assert after.document_text(second.journalpostnummer) == "2"


def test_archive_injected_outages_fail_exactly_that_many_calls(tmp_path: Path):
    archive = ArchiveStub(tmp_path / "archive.db")
    case = open_file(archive).saksnummer
    ArchiveStub(tmp_path / "archive.db").inject_fault("unavailable", times=2)
    for _ in range(2):
        with pytest.raises(ArchiveUnavailable):
            archive.file_document(case, letter_doc(), "doc")
    assert archive.file_document(case, letter_doc(), "doc").dokumentnummer == 1


def test_archive_injected_latency_delays_the_answer(tmp_path: Path):
    archive = ArchiveStub(tmp_path / "archive.db")
    archive.inject_fault("latency", seconds=0.1)
    started = time.monotonic()
    open_file(archive)
    assert time.monotonic() - started >= 0.1


# -- letters --------------------------------------------------------------------------------

TERMINATION = LetterFields(
    navn="Kari Nordmann",
    ansattnummer=EMPLOYEE,
    dato=date(2027, 3, 2),
    saksnummer="2026/00001",
    leder="Per Leder",
    sluttdato=date(2027, 5, 31),
    arsak="oppsigelse fra den ansatte",
)
PENSION = TERMINATION.model_copy(
    update={
        "sluttdato": None,
        "arsak": None,
        "fradato": date(2027, 6, 1),
        "pensjonstype": PensionType.AFP,
        "uttaksgrad": 100,
    }
)
EXTENSION = TERMINATION.model_copy(
    update={"leder": None, "sluttdato": None, "arsak": None, "ny_sluttdato": date(2028, 6, 30)}
)
SALARY = TERMINATION.model_copy(
    update={"sluttdato": None, "arsak": None, "fradato": date(2027, 6, 1), "ny_lonn": "ltr. 62"}
)
REQUIRED = {
    LetterKind.SALARY: (SALARY, ["navn", "ansattnummer", "dato", "saksnummer", "leder",
                                 "fradato", "ny_lonn"]),
    LetterKind.TERMINATION: (TERMINATION, ["navn", "ansattnummer", "dato", "saksnummer", "leder",
                                           "sluttdato", "arsak"]),
    LetterKind.PENSION: (PENSION, ["navn", "ansattnummer", "dato", "saksnummer", "leder",
                                   "fradato", "pensjonstype", "uttaksgrad"]),
    LetterKind.EXTENSION: (EXTENSION, ["navn", "ansattnummer", "dato", "saksnummer",
                                       "ny_sluttdato"]),
}  # fmt: skip


@pytest.mark.parametrize("kind", list(LetterKind))
def test_letter_each_kind_renders_with_its_fields(kind: LetterKind):
    letter = render_letter(kind, REQUIRED[kind][0])
    assert letter.tittel and letter.mottaker == "Kari Nordmann"
    assert "$" not in letter.tekst and "$" not in letter.tittel
    for printed in ("02.03.2027", "2026/00001", EMPLOYEE, "Kari Nordmann"):
        assert printed in letter.tekst


def test_letter_termination_carries_the_checklist_and_the_end_date():
    letter = render_letter(LetterKind.TERMINATION, TERMINATION)
    assert "Sjekkliste ved fratreden" in letter.tekst
    for item in ("nøkler", "adgangskort", "reiseregninger", "ferie", "filer"):
        assert item in letter.tekst
    assert "31.05.2027" in letter.tekst and "oppsigelse fra den ansatte" in letter.tekst


@pytest.mark.parametrize(
    ("kind", "copy"),
    [(LetterKind.TERMINATION, "Per Leder"), (LetterKind.PENSION, "Per Leder"),
     (LetterKind.EXTENSION, None), (LetterKind.SALARY, "Per Leder")],
)  # fmt: skip
def test_letter_the_manager_is_in_copy_where_seed_001_says_so(kind: LetterKind, copy):
    assert render_letter(kind, REQUIRED[kind][0]).kopi_til == copy


def test_letter_extension_ignores_a_manager_it_has_no_use_for():
    with_manager = EXTENSION.model_copy(update={"leder": "Per Leder"})
    assert render_letter(LetterKind.EXTENSION, with_manager).kopi_til is None


def test_letter_pension_says_full_or_partial():
    full = render_letter(LetterKind.PENSION, PENSION).tekst
    partial = render_letter(LetterKind.PENSION, PENSION.model_copy(update={"uttaksgrad": 60}))
    assert "avtalefestet pensjon (AFP)" in full and "01.06.2027" in full
    assert "Stillingen din avsluttes" in full and "delvis sluttoppgjør" not in full
    assert "uttaksgrad 60 prosent" in partial.tekst and "delvis sluttoppgjør" in partial.tekst


def test_letter_no_pension_letter_on_a_death():
    death = PENSION.model_copy(update={"pensjonstype": PensionType.DEATH})
    with pytest.raises(LetterError) as refused:
        render_letter(LetterKind.PENSION, death)
    assert refused.value.field == "pensjonstype"


@pytest.mark.parametrize(
    ("kind", "field"), [(kind, field) for kind, (_, fields) in REQUIRED.items() for field in fields]
)
def test_letter_a_missing_field_raises_letter_error_naming_it(kind: LetterKind, field: str):
    fields = REQUIRED[kind][0].model_copy(update={field: None})
    with pytest.raises(LetterError, match=f"«{field}»") as refused:
        render_letter(kind, fields)
    assert refused.value.field == field and refused.value.kind is kind


def test_letter_a_blank_field_counts_as_missing():
    with pytest.raises(LetterError, match="«arsak»"):
        render_letter(LetterKind.TERMINATION, TERMINATION.model_copy(update={"arsak": "  "}))


# -- personal data --------------------------------------------------------------------------


def test_no_stub_takes_or_keeps_a_fodselsnummer(tmp_path: Path):
    """The stubs key on ansattnummer; the fødselsnummer stays in SAP (dfo-domain.md §6)."""
    for model in (PensionMessage, PensionReceipt, PersonnelFile, JournalPost, ArchiveDocument):
        assert not {"fnr", "fodselsnummer", "fødselsnummer"} & set(model.model_fields)
    spk = SpkStub(tmp_path / "spk.db")
    spk.send_pension_message(pension(), "a")
    archive = ArchiveStub(tmp_path / "archive.db")
    case = open_file(archive).saksnummer
    archive.file_document(case, ArchiveDocument(
        tittel="Fratredelsesbrev", dokumenttype=DocumentType.OUTGOING,
        innhold=render_letter(LetterKind.TERMINATION, TERMINATION).tekst,
    ), "letter")  # fmt: skip
    for db in (tmp_path / "spk.db", tmp_path / "archive.db"):
        assert re.search(rb"(?<![0-9a-f])[0-9]{11}(?![0-9a-f])", db.read_bytes()) is None
