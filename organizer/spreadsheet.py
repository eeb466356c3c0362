"""Spreadsheets for volunteer translators: export a scope's texts, read an edited copy
back, show what changed and apply it to a copy of the knowledge base.

A scope is a jurisdiction id (its facts' texts and its contacts' names; "national" is
one too) or "messages" (the conversation texts). A sheet has a `key` column
(`fact:orlando-01`, `contact:madison-kyr-page`, `message:greet`), a `status` column
that is only for reading, and one column per language, English first.

Rows returned by `read_upload` keep the spreadsheet's numbering: `rows[i]` is row
`i + 2` as a spreadsheet program shows it (row 1 is the header), blank rows included,
so every problem can name the row and column a person has to look at.
"""

import copy
import csv
import io
import string
import zipfile
from dataclasses import dataclass
from typing import Any, Collection, Iterable, Iterator, Optional

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from bot.kb.hashing import text_hash
from bot.kb.loader import Documents
from bot.kb.model import ENGLISH

MESSAGES = "messages"
KEY = "key"
STATUS = "status"
MAX_TEXT = 1000
# A scope holds at most a few hundred texts; anything far larger is the wrong file, and
# stopping early keeps a sheet with a stray cell at row 1,000,000 from eating memory.
MAX_ROWS = 5000

Header = list[str]
Rows = list[list[str]]


class SpreadsheetError(ValueError):
    """An upload cannot be used; `problems` lists each one, naming row and column."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Change:
    """One cell that differs from the knowledge base: `old` is None for a new translation."""

    key: str
    language: str
    old: Optional[str]
    new: str
    label: str  # e.g. "fact orlando-01, es (Español)"
    row: int  # as the spreadsheet program numbers it


@dataclass(frozen=True)
class _Translation:
    text: str
    source_hash: str
    review: str


@dataclass(frozen=True)
class _Entry:
    """One exported text: its English and the translations it has."""

    english: str
    translations: dict[str, _Translation]


# --- reading the knowledge base -------------------------------------------------------


def _languages(documents: Documents) -> dict[str, dict[str, Any]]:
    """languages.yml in its order, English first (the column translators work from)."""
    languages = documents["languages.yml"]["languages"]
    return {ENGLISH: languages[ENGLISH], **{k: v for k, v in languages.items() if k != ENGLISH}}


def rtl_languages(documents: Documents) -> frozenset[str]:
    """Languages written right to left, for `to_xlsx`."""
    return frozenset(lang for lang, spec in _languages(documents).items() if spec["direction"] == "rtl")


def _jurisdiction_keys(documents: Documents) -> dict[str, str]:
    """Jurisdiction id -> its document key."""
    keys = {}
    for key, doc in documents.items():
        if key == "national.yml" or key.startswith("jurisdictions/"):
            keys[doc["id"]] = key
    return keys


def _check_scope(documents: Documents, scope: str) -> None:
    if scope != MESSAGES and scope not in _jurisdiction_keys(documents):
        raise SpreadsheetError([f"there is no jurisdiction {scope!r} (nor is it {MESSAGES!r})"])


def _translations(raw: Optional[dict[str, dict[str, str]]], field: str) -> dict[str, _Translation]:
    return {
        lang: _Translation(t[field], t["source_hash"], t["review"]) for lang, t in (raw or {}).items()
    }


def _entries(documents: Documents, scope: str) -> dict[str, _Entry]:
    """The scope's texts keyed as in the sheet, in file order."""
    if scope == MESSAGES:
        english = documents[f"messages/{ENGLISH}.yml"]["messages"]
        entries = {f"message:{k}": _Entry(v, {}) for k, v in english.items()}
        for lang in _languages(documents):
            doc = documents.get(f"messages/{lang}.yml")
            if lang == ENGLISH or doc is None:
                continue
            for k, t in doc["messages"].items():
                if f"message:{k}" in entries:
                    entries[f"message:{k}"].translations[lang] = _Translation(t["text"], t["source_hash"], t["review"])
        return entries
    doc = documents[_jurisdiction_keys(documents)[scope]]
    entries = {
        f"fact:{f['id']}": _Entry(f["text"][ENGLISH], _translations(f.get("translations"), "text"))
        for f in doc["facts"]
    }
    for c in doc.get("contacts") or []:
        entries[f"contact:{c['id']}"] = _Entry(c["name"][ENGLISH], _translations(c.get("translations"), "name"))
    return entries


def _scope_of(documents: Documents, key: str) -> Optional[str]:
    """Which scope a key belongs to, if any."""
    if key.startswith("message:"):
        return MESSAGES if key[len("message:"):] in documents[f"messages/{ENGLISH}.yml"]["messages"] else None
    for jid in _jurisdiction_keys(documents):
        if key in _entries(documents, jid):
            return jid
    return None


def _state(entry: _Entry, lang: str) -> str:
    translation = entry.translations.get(lang)
    if translation is None:
        return "missing"
    if translation.source_hash != text_hash(entry.english):
        return "out of date"
    return translation.review


# --- export ----------------------------------------------------------------------------


def export_rows(documents: Documents, scope: str) -> tuple[Header, Rows]:
    """The sheet of one scope: header and one row per fact, contact or message."""
    _check_scope(documents, scope)
    languages = list(_languages(documents))
    header = [KEY, STATUS] + languages
    rows = []
    for key, entry in _entries(documents, scope).items():
        status = ", ".join(f"{lang}: {_state(entry, lang)}" for lang in languages if lang != ENGLISH)
        # An out-of-date translation is still exported: it is usually the best start for
        # updating it, and the status column says it needs work.
        cells = [entry.english] + [
            entry.translations[lang].text if lang in entry.translations else "" for lang in languages[1:]
        ]
        rows.append([key, status] + cells)
    return header, rows


def to_csv(header: Header, rows: Rows) -> bytes:
    """CSV in UTF-8 with a byte-order mark, without which Excel garbles Arabic and Chinese."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(header: Header, rows: Rows, rtl: Collection[str] = ()) -> bytes:
    """An Excel workbook of the sheet; columns of `rtl` languages are aligned right to left."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, name in enumerate(header, start=1):
        right_to_left = name in rtl
        alignment = Alignment(
            wrap_text=True,
            vertical="top",
            horizontal="right" if right_to_left else None,
            readingOrder=2 if right_to_left else 0,
        )
        width = 28 if name in (KEY, STATUS) else 50
        sheet.column_dimensions[get_column_letter(index)].width = width
        for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
            cell.alignment = alignment
            # openpyxl stores a string starting with "=" as a formula; a text is never one.
            cell.data_type = "s"
    # The header row and the key column stay in view while scrolling.
    sheet.freeze_panes = "B2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- reading an upload -----------------------------------------------------------------


def _where(row: int, column: int, header: Header) -> str:
    name = f" ({header[column]})" if header[column] else ""
    return f"row {row}, column {get_column_letter(column + 1)}{name}"


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _csv_records(data: bytes) -> Iterator[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SpreadsheetError(
            ["the file is not UTF-8 text: in Excel use Save As > 'CSV UTF-8 (Comma delimited)', or upload the .xlsx"]
        ) from None
    first_line = text.split("\n", 1)[0]
    # Excel in many European and Latin American locales saves CSV with ";" between cells.
    delimiter = max(",;\t", key=first_line.count)
    try:
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    except csv.Error as exc:
        raise SpreadsheetError([f"the file is not a readable CSV file: {exc}"]) from None


def _xlsx_records(data: bytes) -> Iterator[list[str]]:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError):
        raise SpreadsheetError(
            ["the file is not a readable .xlsx workbook; save it again from your spreadsheet program"]
        ) from None
    try:
        sheet = workbook.worksheets[0]
        # Some programs write a wrong size into the file; read every row there is.
        sheet.reset_dimensions()
        for values in sheet.iter_rows(values_only=True):
            yield [_cell_text(v) for v in values]
    finally:
        workbook.close()


def _records(filename: str, data: bytes) -> Iterator[list[str]]:
    suffix = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if suffix == "csv":
        return _csv_records(data)
    if suffix == "xlsx":
        return _xlsx_records(data)
    if suffix == "xls":
        raise SpreadsheetError([f"{filename}: old Excel .xls files cannot be read; save it as .xlsx or as CSV UTF-8"])
    raise SpreadsheetError([f"{filename}: not a spreadsheet; upload a .csv or .xlsx file"])


def read_upload(filename: str, data: bytes) -> tuple[Header, Rows]:
    """Parse an uploaded .csv or .xlsx; raise SpreadsheetError naming every problem.

    The header is lower-cased; every row is padded to the header's width, and blank
    rows are kept so that `rows[i]` is spreadsheet row `i + 2`.
    """
    records: Rows = []
    for record in _records(filename, data):
        if len(records) >= MAX_ROWS:
            raise SpreadsheetError([f"{filename}: more than {MAX_ROWS} rows; upload the sheet of one scope"])
        records.append(record)
    while records and not any(cell.strip() for cell in records[-1]):
        records.pop()
    if not records:
        raise SpreadsheetError([f"{filename}: the file is empty"])
    header = [cell.strip().lower() for cell in records[0]]
    if KEY not in header:
        raise SpreadsheetError([f"row 1: no {KEY!r} column; row 1 must be the header of the exported sheet"])
    problems = []
    seen_columns: dict[str, int] = {}
    for column, name in enumerate(header):
        if name and name in seen_columns:
            problems.append(
                f"row 1, column {get_column_letter(column + 1)} ({name}): "
                f"column {get_column_letter(seen_columns[name] + 1)} has the same name"
            )
        seen_columns.setdefault(name, column)
    key_column = header.index(KEY)
    rows = [(record + [""] * len(header))[: len(header)] for record in records[1:]]
    seen_keys: dict[str, int] = {}
    for number, row in enumerate(rows, start=2):
        key = row[key_column].strip()
        if not key:
            if any(cell.strip() for cell in row):
                problems.append(f"{_where(number, key_column, header)}: the key is empty, so the row cannot be matched")
            continue
        if key in seen_keys:
            problems.append(f"{_where(number, key_column, header)}: {key} is also in row {seen_keys[key]}")
        seen_keys.setdefault(key, number)
    if problems:
        raise SpreadsheetError(problems)
    return header, rows


# --- comparing and applying ------------------------------------------------------------


def _same(a: str, b: str) -> bool:
    # Spreadsheet programs re-wrap and trim cells; like text_hash, only words count.
    return a.split() == b.split()


def _placeholders(text: str) -> set[str]:
    """The {names} the bot fills in (as bot.kb.loader reads them); ValueError on stray braces."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _text_problem(new: str, expected: set[str], what: str) -> Optional[str]:
    if len(new) > MAX_TEXT:
        return f"the text has {len(new)} characters; at most {MAX_TEXT} are allowed"
    try:
        found = _placeholders(new)
    except ValueError:
        return "a { or } is not part of a {placeholder}; the bot would fail on it"
    if found != expected:
        listed = ", ".join("{" + p + "}" for p in sorted(expected)) or "none"
        return f"{what} must use exactly the placeholders of the English: {listed}"
    return None


def diff(documents: Documents, scope: str, header: Header, rows: Rows) -> list[Change]:
    """The cells of an upload that change the knowledge base; SpreadsheetError on any problem.

    An empty cell changes nothing (a sheet never deletes a translation) and the status
    column is ignored.
    """
    _check_scope(documents, scope)
    languages = _languages(documents)
    entries = _entries(documents, scope)
    problems = []
    columns = {}
    for column, name in enumerate(header):
        if name in languages:
            columns[column] = name
        elif name not in ("", KEY, STATUS):
            problems.append(
                f"row 1, column {get_column_letter(column + 1)} ({name}): not a language of the bot; "
                f"the language columns are {', '.join(languages)}"
            )
    key_column = header.index(KEY)
    changes = []
    for number, row in enumerate(rows, start=2):
        key = row[key_column].strip()
        if not key:
            continue
        entry = entries.get(key)
        if entry is None:
            other = _scope_of(documents, key)
            where = _where(number, key_column, header)
            if other is None:
                problems.append(f"{where}: {key} is not a fact, contact or message of the knowledge base")
            else:
                problems.append(f"{where}: {key} belongs to {other}, not {scope}; upload it with the {other} sheet")
            continue
        # The English goes first: a translation in the same row is checked against the
        # English it will be based on, and that English must keep the placeholders the
        # bot fills in and the existing translations use.
        english = entry.english
        for column, lang in sorted(columns.items(), key=lambda item: item[1] != ENGLISH):
            new = row[column].strip()
            old = entry.english if lang == ENGLISH else getattr(entry.translations.get(lang), "text", None)
            if not new or (old is not None and _same(new, old)):
                continue
            problem = _text_problem(new, _placeholders(english), "the English" if lang == ENGLISH else "a translation")
            if problem:
                problems.append(f"{_where(number, column, header)}: {problem}")
                continue
            if lang == ENGLISH:
                english = new
            kind, name = key.split(":", 1)
            label = f"{kind} {name}, {lang} ({languages[lang]['name']})"
            changes.append(Change(key=key, language=lang, old=old, new=new, label=label, row=number))
    if problems:
        raise SpreadsheetError(problems)
    return changes


def _jurisdiction_item(documents: Documents, scope: str, key: str) -> tuple[dict[str, Any], str]:
    """The fact or contact dict a key names, and its text field ("text" or "name")."""
    kind, item_id = key.split(":", 1)
    doc = documents[_jurisdiction_keys(documents)[scope]]
    items, field = (doc["facts"], "text") if kind == "fact" else (doc.get("contacts") or [], "name")
    for item in items:
        if item["id"] == item_id:
            return item, field
    raise KeyError(key)


def _english(documents: Documents, scope: str, key: str) -> str:
    if scope == MESSAGES:
        return documents[f"messages/{ENGLISH}.yml"]["messages"][key.split(":", 1)[1]]
    item, field = _jurisdiction_item(documents, scope, key)
    return item[field][ENGLISH]


def apply(documents: Documents, scope: str, changes: Iterable[Change]) -> Documents:
    """A new documents dict with the changes made; the input is left as it was.

    A new English text keeps the existing translations, which thereby become out of
    date (their source_hash no longer matches) until someone updates them.
    """
    result = copy.deepcopy(documents)
    # English first, so translations in the same upload are fingerprinted against it.
    ordered = sorted(changes, key=lambda c: c.language != ENGLISH)
    for change in ordered:
        name = change.key.split(":", 1)[1]
        if change.language == ENGLISH:
            if scope == MESSAGES:
                result[f"messages/{ENGLISH}.yml"]["messages"][name] = change.new
            else:
                item, field = _jurisdiction_item(result, scope, change.key)
                item[field][ENGLISH] = change.new
            continue
        source_hash = text_hash(_english(result, scope, change.key))
        # A person wrote this text and a reviewer must approve the draft before it is
        # published, so it counts as reviewed rather than as a machine translation.
        if scope == MESSAGES:
            doc = result.setdefault(f"messages/{change.language}.yml", {"language": change.language, "messages": {}})
            doc["messages"][name] = {"text": change.new, "source_hash": source_hash, "review": "reviewed"}
        else:
            item, field = _jurisdiction_item(result, scope, change.key)
            item.setdefault("translations", {})[change.language] = {
                field: change.new,
                "source_hash": source_hash,
                "review": "reviewed",
            }
    return result
