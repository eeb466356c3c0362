"""Translators' spreadsheets: export, upload as CSV or XLSX, diff and apply to the real
knowledge base, with errors that name the row and column to fix."""

import copy
import csv
import io
from pathlib import Path
from typing import List, Tuple

import openpyxl
import pytest

from bot.kb.hashing import text_hash
from bot.kb.loader import Documents, read_documents, validate_documents
from bot.kb.model import TranslationState
from organizer.spreadsheet import (
    SpreadsheetError,
    apply,
    diff,
    export_rows,
    read_upload,
    rtl_languages,
    to_csv,
    to_xlsx,
)

KB_DIR = Path(__file__).resolve().parents[1] / "kb"
FORMATS = ["csv", "xlsx"]


@pytest.fixture(scope="module")
def documents() -> Documents:
    docs, report = read_documents(KB_DIR)
    assert report.errors == []
    return docs


def _upload(fmt: str, header: List[str], rows: List[List[str]]) -> Tuple[List[str], List[List[str]]]:
    """What the organizer app gets back when a person uploads the sheet in a format."""
    data = to_csv(header, rows) if fmt == "csv" else to_xlsx(header, rows, rtl={"ar"})
    return read_upload(f"orlando.{fmt}", data)


def _set(header: List[str], rows: List[List[str]], key: str, column: str, value: str) -> int:
    """Edit one cell like a person would; return the spreadsheet row number it is on."""
    for index, row in enumerate(rows):
        if row[0] == key:
            row[header.index(column)] = value
            return index + 2
    raise AssertionError(f"{key} is not in the sheet")


def _validated(docs: Documents):
    kb, report = validate_documents(docs)
    assert report.errors == []
    return kb, report


def _problems(excinfo: pytest.ExceptionInfo) -> str:
    return "\n".join(excinfo.value.problems)


def test_export_has_key_status_and_languages_english_first(documents):
    header, rows = export_rows(documents, "orlando")
    languages = [lang for lang in documents["languages.yml"]["languages"] if lang != "en"]
    assert header == ["key", "status", "en"] + languages
    first = rows[0]
    assert first[0] == "fact:orlando-01"
    assert first[2] == documents["jurisdictions/orlando.yml"]["facts"][0]["text"]["en"]
    assert "es: machine" in first[1] and "ar: machine" in first[1]
    assert all(len(row) == len(header) for row in rows)


def test_contacts_are_exported_with_their_names(documents):
    header, rows = export_rows(documents, "madison")
    contact = next(row for row in rows if row[0] == "contact:madison-kyr-page")
    assert contact[header.index("en")].startswith("City of Madison")
    assert contact[header.index("es")].startswith("Ciudad de Madison")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("scope", ["orlando", "national", "madison", "messages"])
def test_unchanged_round_trip_has_no_changes(documents, fmt, scope):
    header, rows = export_rows(documents, scope)
    uploaded_header, uploaded_rows = _upload(fmt, header, rows)
    assert (uploaded_header, uploaded_rows) == (header, rows)
    assert diff(documents, scope, uploaded_header, uploaded_rows) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_changed_cell_is_one_change_and_is_applied_as_reviewed(documents, fmt):
    header, rows = export_rows(documents, "orlando")
    old = rows[0][header.index("es")]
    new = "En 2018, el concejo municipal de Orlando aprobó una resolución (texto revisado)."
    row_number = _set(header, rows, "fact:orlando-01", "es", new)

    changes = diff(documents, "orlando", *_upload(fmt, header, rows))

    assert len(changes) == 1
    change = changes[0]
    assert (change.key, change.language, change.old, change.new) == ("fact:orlando-01", "es", old, new)
    assert change.row == row_number
    assert "orlando-01" in change.label and "Español" in change.label

    kb, _ = _validated(apply(documents, "orlando", changes))
    assert kb.jurisdiction("orlando").facts[0].text.render("es") == (new, TranslationState.REVIEWED)


def test_empty_cells_and_the_status_column_change_nothing(documents):
    header, rows = export_rows(documents, "orlando")
    for row in rows:
        row[header.index("es")] = ""
        row[header.index("status")] = "whatever the person typed"
    assert diff(documents, "orlando", *_upload("csv", header, rows)) == []


def test_reflowed_whitespace_is_not_a_change(documents):
    header, rows = export_rows(documents, "orlando")
    column = header.index("en")
    rows[0][column] = "  " + rows[0][column].replace(" ", "\n", 3) + " "
    assert diff(documents, "orlando", *_upload("xlsx", header, rows)) == []


def test_english_change_makes_existing_translations_out_of_date(documents):
    header, rows = export_rows(documents, "orlando")
    old_spanish = rows[0][header.index("es")]
    new_english = "In 2018, Orlando's city council passed a resolution about immigration status questions."
    _set(header, rows, "fact:orlando-01", "en", new_english)

    changes = diff(documents, "orlando", *_upload("csv", header, rows))
    assert [(c.language, c.new) for c in changes] == [("en", new_english)]
    updated = apply(documents, "orlando", changes)

    kb, report = _validated(updated)
    text = kb.jurisdiction("orlando").facts[0].text
    assert text.english == new_english
    assert text.render("es") == (new_english, TranslationState.STALE)
    assert any("orlando-01" in w and "es translation is out of date" in w for w in report.warnings)
    # The next export still offers the old Spanish to start from, flagged out of date.
    header, rows = export_rows(updated, "orlando")
    assert rows[0][header.index("es")] == old_spanish
    assert "es: out of date" in rows[0][header.index("status")]


def test_translation_in_the_same_upload_follows_the_new_english(documents):
    header, rows = export_rows(documents, "orlando")
    new_english = "In 2018, Orlando's city council passed a resolution about immigration status questions."
    new_spanish = "En 2018, el concejo municipal de Orlando aprobó una resolución sobre el estatus migratorio."
    _set(header, rows, "fact:orlando-01", "en", new_english)
    _set(header, rows, "fact:orlando-01", "es", new_spanish)

    updated = apply(documents, "orlando", diff(documents, "orlando", *_upload("xlsx", header, rows)))

    kb, _ = _validated(updated)
    text = kb.jurisdiction("orlando").facts[0].text
    assert text.render("es") == (new_spanish, TranslationState.REVIEWED)
    assert text.render("zh")[1] == TranslationState.STALE
    spanish = updated["jurisdictions/orlando.yml"]["facts"][0]["translations"]["es"]
    assert spanish == {"text": new_spanish, "source_hash": text_hash(new_english), "review": "reviewed"}


def test_contact_name_translation_is_applied(documents):
    header, rows = export_rows(documents, "madison")
    _set(header, rows, "contact:madison-kyr-page", "fr", "Ville de Madison : questions et liens")
    updated = apply(documents, "madison", diff(documents, "madison", *_upload("csv", header, rows)))
    kb, _ = _validated(updated)
    contact = next(c for c in kb.jurisdiction("madison").contacts if c.id == "madison-kyr-page")
    assert contact.name.render("fr") == ("Ville de Madison : questions et liens", TranslationState.REVIEWED)


def test_apply_leaves_the_input_documents_alone(documents):
    before = copy.deepcopy(documents)
    header, rows = export_rows(documents, "orlando")
    _set(header, rows, "fact:orlando-01", "en", "A new English text.")
    _set(header, rows, "fact:orlando-02", "ht", "Yon nouvo tèks.")
    updated = apply(documents, "orlando", diff(documents, "orlando", header, rows))
    assert documents == before
    assert updated != before


@pytest.mark.parametrize("fmt", FORMATS)
def test_messages_round_trip(documents, fmt):
    header, rows = export_rows(documents, "messages")
    new = "De acuerdo, responderé para {place}. ¿Qué le gustaría saber?"
    _set(header, rows, "message:jurisdiction_set", "es", new)

    changes = diff(documents, "messages", *_upload(fmt, header, rows))
    assert [(c.key, c.language, c.new) for c in changes] == [("message:jurisdiction_set", "es", new)]

    updated = apply(documents, "messages", changes)
    kb, _ = _validated(updated)
    assert kb.messages["jurisdiction_set"].render("es") == (new, TranslationState.REVIEWED)
    assert updated["messages/es.yml"]["messages"]["jurisdiction_set"]["review"] == "reviewed"


def test_message_english_change_goes_to_en_file(documents):
    header, rows = export_rows(documents, "messages")
    _set(header, rows, "message:jurisdiction_set", "en", "Got it: {place}. What do you want to know?")
    updated = apply(documents, "messages", diff(documents, "messages", header, rows))
    assert updated["messages/en.yml"]["messages"]["jurisdiction_set"] == "Got it: {place}. What do you want to know?"
    kb, _ = _validated(updated)
    assert kb.messages["jurisdiction_set"].render("ko")[1] == TranslationState.STALE


def test_missing_message_translation_is_created(documents):
    docs = copy.deepcopy(documents)
    del docs["messages/ht.yml"]["messages"]["greet"]
    header, rows = export_rows(docs, "messages")
    greet = next(row for row in rows if row[0] == "message:greet")
    assert greet[header.index("ht")] == "" and "ht: missing" in greet[header.index("status")]

    _set(header, rows, "message:greet", "ht", "Bonjou!")
    changes = diff(docs, "messages", *_upload("csv", header, rows))
    assert [(c.language, c.old, c.new) for c in changes] == [("ht", None, "Bonjou!")]
    kb, _ = _validated(apply(docs, "messages", changes))
    assert kb.messages["greet"].render("ht") == ("Bonjou!", TranslationState.REVIEWED)


@pytest.mark.parametrize("fmt", FORMATS)
def test_arabic_and_chinese_survive_byte_for_byte(documents, fmt):
    header, rows = export_rows(documents, "orlando")
    arabic = 'في 2018، قال "قائد" الشرطة: نعم, لا;\nسطر ثانٍ ‏(FBI)‏ 287(g)'
    chinese = "=奥兰多，“守法”人士、ICE；第二行\n第三行 𠀋"
    _set(header, rows, "fact:orlando-01", "ar", arabic)
    _set(header, rows, "fact:orlando-01", "zh", chinese)

    uploaded_header, uploaded_rows = _upload(fmt, header, rows)

    assert uploaded_rows[0][header.index("ar")].encode("utf-8") == arabic.encode("utf-8")
    assert uploaded_rows[0][header.index("zh")].encode("utf-8") == chinese.encode("utf-8")
    for row, uploaded in zip(rows, uploaded_rows):
        assert [cell.encode("utf-8") for cell in uploaded] == [cell.encode("utf-8") for cell in row]


def test_csv_has_a_bom_and_reads_with_or_without_it_or_with_semicolons(documents):
    header, rows = export_rows(documents, "orlando")
    data = to_csv(header, rows)
    assert data.startswith(b"\xef\xbb\xbf")
    assert read_upload("a.csv", data[3:]) == (header, rows)
    # Excel in Spanish, French or Portuguese locales saves ";"-separated files.
    semicolons = io.StringIO()
    csv.writer(semicolons, delimiter=";").writerows([row[0], row[2]] for row in [header] + rows)
    expected = (["key", "en"], [[row[0], row[2]] for row in rows])
    assert read_upload("a.csv", semicolons.getvalue().encode("utf-8")) == expected


def test_xlsx_freezes_the_header_and_aligns_arabic_right(documents):
    header, rows = export_rows(documents, "orlando")
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx(header, rows, rtl=rtl_languages(documents)))).active
    assert sheet.freeze_panes == "B2"
    arabic = sheet.cell(row=2, column=header.index("ar") + 1)
    spanish = sheet.cell(row=2, column=header.index("es") + 1)
    assert arabic.alignment.horizontal == "right" and arabic.alignment.wrap_text
    assert arabic.alignment.readingOrder == 2
    assert spanish.alignment.horizontal != "right" and spanish.alignment.wrap_text
    assert sheet.column_dimensions["C"].width >= 40


def test_unknown_key_names_row_and_column(documents):
    header, rows = export_rows(documents, "orlando")
    rows.append(["fact:orlando-99", "", "Some English", "", "", "", "", "", "", "", "", ""])
    with pytest.raises(SpreadsheetError) as excinfo:
        diff(documents, "orlando", *_upload("csv", header, rows))
    assert excinfo.value.problems == [
        f"row {len(rows) + 1}, column A (key): fact:orlando-99 is not a fact, contact or message of the knowledge base"
    ]


def test_row_of_another_scope_is_rejected(documents):
    header, rows = export_rows(documents, "orlando")
    chicago = export_rows(documents, "chicago")[1][0]
    rows.insert(1, chicago)
    with pytest.raises(SpreadsheetError) as excinfo:
        diff(documents, "orlando", *_upload("xlsx", header, rows))
    problem = _problems(excinfo)
    assert problem.startswith(f"row 3, column A (key): {chicago[0]} belongs to chicago, not orlando")


def test_unknown_language_column_is_rejected(documents):
    header, rows = export_rows(documents, "orlando")
    header = header + ["de"]
    rows = [row + ["Deutsch"] for row in rows]
    with pytest.raises(SpreadsheetError) as excinfo:
        diff(documents, "orlando", *_upload("csv", header, rows))
    assert _problems(excinfo).startswith("row 1, column M (de): not a language of the bot")


def test_placeholder_mismatch_in_messages_is_rejected_and_nothing_is_returned(documents):
    header, rows = export_rows(documents, "messages")
    row_number = _set(header, rows, "message:jurisdiction_set", "es", "De acuerdo, responderé para {ciudad}.")
    _set(header, rows, "message:greet", "fr", "Bonjour !")
    column = chr(ord("A") + header.index("es"))
    with pytest.raises(SpreadsheetError) as excinfo:
        diff(documents, "messages", *_upload("xlsx", header, rows))
    assert excinfo.value.problems == [
        f"row {row_number}, column {column} (es): "
        "a translation must use exactly the placeholders of the English: {place}"
    ]


def test_english_message_must_keep_its_placeholders(documents):
    header, rows = export_rows(documents, "messages")
    _set(header, rows, "message:jurisdiction_set", "en", "OK, I will answer. What would you like to know?")
    with pytest.raises(SpreadsheetError) as excinfo:
        diff(documents, "messages", header, rows)
    assert "(en): the English must use exactly the placeholders of the English: {place}" in _problems(excinfo)


def test_stray_brace_and_overlong_text_are_rejected(documents):
    header, rows = export_rows(documents, "orlando")
    _set(header, rows, "fact:orlando-01", "es", "Texto con { suelta")
    _set(header, rows, "fact:orlando-02", "pt", "x" * 1001)
    with pytest.raises(SpreadsheetError) as excinfo:
        diff(documents, "orlando", *_upload("csv", header, rows))
    assert excinfo.value.problems == [
        "row 2, column D (es): a { or } is not part of a {placeholder}; the bot would fail on it",
        "row 3, column F (pt): the text has 1001 characters; at most 1000 are allowed",
    ]


def test_duplicate_keys_and_missing_key_column_are_rejected(documents):
    header, rows = export_rows(documents, "orlando")
    with pytest.raises(SpreadsheetError) as excinfo:
        _upload("csv", header, rows + [rows[0]])
    assert excinfo.value.problems == [f"row {len(rows) + 2}, column A (key): fact:orlando-01 is also in row 2"]

    with pytest.raises(SpreadsheetError) as excinfo:
        _upload("xlsx", ["id"] + header[1:], rows)
    assert "no 'key' column" in _problems(excinfo)


@pytest.mark.parametrize(
    "filename, data, expected",
    [
        ("notes.txt", b"key,en\nfact:orlando-01,Hi\n", "not a spreadsheet; upload a .csv or .xlsx file"),
        ("old.xls", b"\xd0\xcf\x11\xe0", "old Excel .xls files cannot be read"),
        ("broken.xlsx", b"key,en\n", "not a readable .xlsx workbook"),
        ("latin1.csv", "key,es\nfact:orlando-01,Políca\n".encode("latin-1"), "not UTF-8 text"),
    ],
)
def test_files_that_are_not_usable_spreadsheets_are_rejected(filename, data, expected):
    with pytest.raises(SpreadsheetError) as excinfo:
        read_upload(filename, data)
    assert expected in _problems(excinfo)


def test_unknown_scope_is_rejected(documents):
    with pytest.raises(SpreadsheetError):
        export_rows(documents, "atlantis")
