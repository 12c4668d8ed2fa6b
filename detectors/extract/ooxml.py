"""Text of Office Open XML documents: .docx, .xlsx and .pptx.

Read straight from the package's XML with lxml, not through python-docx or
openpyxl: every member goes through the same size and ratio guards as any
ZIP member (those libraries inflate whatever the archive declares), numbers
can be shown the way the sheet formats them (numfmt), and parts those
libraries skip come for free. Paragraphs and table rows end lines, table
cells end with a tab, so neighbouring cells never merge.

- docx: body, headers, footers, footnotes, endnotes, comments; deleted
  (tracked) text too, since it travels with the file.
- xlsx: every worksheet in order, apart by blank lines, cells by tab (empty
  ones kept in place), rows by newline (shared and inline strings, booleans,
  cached formula results), then cell comments.
- pptx: slides in order, then speaker notes.

Files embedded in a package (``word/embeddings/``: a chart's data workbook, a
pasted spreadsheet) are listed by ``embedded`` for the caller to read as
files of their own.

Source: ECMA-376 Part 1 (17 WordprocessingML, 18 SpreadsheetML, 19 PresentationML).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterator
from typing import cast

from lxml import etree

from detectors.extract import Budget, Unreadable
from detectors.extract.archive import Archive, read_member
from detectors.extract.numfmt import display

_MAIN_PART = {"word/document.xml": "docx", "xl/workbook.xml": "xlsx", "ppt/presentation.xml": "pptx"}
_DOCX_PARTS = re.compile(r"word/(document|header\d*|footer\d*|footnotes|endnotes|comments)\.xml")
_XLSX_SHEETS = re.compile(r"xl/worksheets/[^/]+\.xml")
_XLSX_COMMENTS = re.compile(r"xl/comments[^/]*\.xml")
_PPTX_PARTS = re.compile(r"ppt/(slides/slide|notesSlides/notesSlide)\d+\.xml")
_NUMBER = re.compile(r"(\d+)")
_EMBEDDED = re.compile(r"(?:word|xl|ppt)/embeddings/[^/]+")

_FLOW_TAGS = ("{*}t", "{*}delText", "{*}p", "{*}tr", "{*}tc", "{*}br", "{*}cr", "{*}tab", "{*}Fallback")
_FLOW_MARKS = {"p": "\n", "tr": "\n", "br": "\n", "cr": "\n", "tab": "\t", "tc": "\t"}
_CELL_TAGS = ("{*}c", "{*}row")
_MAX_COLUMNS = 256  # empty cells kept in a row: beyond, values are only appended

Reader = Callable[[str], bytes]


def kind(archive: zipfile.ZipFile) -> str | None:
    """Return "docx", "xlsx" or "pptx" when ``archive`` is such a package."""
    names = {name.lower() for name in archive.namelist()}
    return next((k for part, k in _MAIN_PART.items() if part in names), None)


def text(archive: Archive, package: str, budget: Budget) -> str:
    """Return the text of an Office package of kind ``package``."""
    names = {name.lower(): name for name in archive.namelist()}

    def read(lower_name: str) -> bytes:
        return read_member(archive, archive.getinfo(names[lower_name]), budget)

    if package == "docx":
        parts = _ordered(names, _DOCX_PARTS, first="word/document.xml")
        return "\n".join(_flow_text(read(name)) for name in parts)
    if package == "pptx":
        return "\n".join(_flow_text(read(name)) for name in _ordered(names, _PPTX_PARTS))
    return _xlsx_text(names, read)


def embedded(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """Return the files embedded in an Office package (a chart's workbook, say)."""
    return [info for info in archive.infolist() if _EMBEDDED.fullmatch(info.filename.lower())]


def _xlsx_text(names: dict[str, str], read: Reader) -> str:
    """Return every sheet's cells, then the cell comments."""
    shared = _shared_strings(read("xl/sharedstrings.xml")) if "xl/sharedstrings.xml" in names else []
    formats = _cell_formats(read("xl/styles.xml")) if "xl/styles.xml" in names else []
    sheets = [_sheet_text(read(name), shared, formats) for name in _ordered(names, _XLSX_SHEETS)]
    comments = [_flow_text(read(name)) for name in _ordered(names, _XLSX_COMMENTS)]
    return "\n\n".join(sheets + comments)


def _ordered(names: dict[str, str], pattern: re.Pattern[str], first: str = "") -> list[str]:
    """Return the lowercased member names matching ``pattern``, naturally sorted."""
    found = [name for name in names if pattern.fullmatch(name)]
    return sorted(found, key=lambda name: (name != first, _natural(name)))


def _natural(name: str) -> list[str | int]:
    """Return a sort key that puts sheet2 before sheet10."""
    return [int(piece) if piece.isdigit() else piece for piece in _NUMBER.split(name)]


def _events(data: bytes, tags: tuple[str, ...], start: bool = False) -> Iterator[tuple[str, etree._Element]]:
    """Yield (event, element) for ``tags``; no DTDs, entities or network."""
    events = ("start", "end") if start else ("end",)
    parser = etree.iterparse(
        io.BytesIO(data), events=events, tag=tags, resolve_entities=False,
        no_network=True, load_dtd=False, huge_tree=False,
    )
    try:
        yield from cast(Iterator[tuple[str, etree._Element]], parser)
    except etree.LxmlError:
        raise Unreadable("corrupt") from None


def _local(element: etree._Element) -> str:
    """Return an element's tag without its namespace."""
    return str(element.tag).rpartition("}")[2]


def _all_text(element: etree._Element) -> str:
    """Return the concatenated text inside ``element``."""
    return "".join(str(piece) for piece in element.itertext())


def _flow_text(data: bytes) -> str:
    """Return the text of WordprocessingML or DrawingML, paragraphs on lines."""
    out: list[str] = []
    fallback = 0
    for event, element in _events(data, _FLOW_TAGS, start=True):
        name = _local(element)
        if name == "Fallback":
            fallback += 1 if event == "start" else -1
        elif event == "end" and not fallback:
            if name in ("t", "delText"):
                out.append(element.text or "")
                continue
            if name in ("tc", "tr"):  # a cell's last paragraph ends with the cell
                while out and out[-1] in ("\n", "\t"):
                    out.pop()
            out.append(_FLOW_MARKS[name])
            if name == "p":
                element.clear()
    return "".join(out).strip("\n")


def _shared_strings(data: bytes) -> list[str]:
    """Return the workbook's shared strings, without phonetic guides."""
    strings: list[str] = []
    for _, item in _events(data, ("{*}si",)):
        for guide in item.findall("{*}rPh"):
            item.remove(guide)
        strings.append(_all_text(item))
        item.clear()
    return strings


def _cell_formats(data: bytes) -> list[str | None]:
    """Return each cell style's custom number format code (None: built-in)."""
    codes: dict[str, str] = {}
    formats: list[str | None] = []
    for _, element in _events(data, ("{*}numFmt", "{*}cellXfs")):
        if _local(element) == "numFmt":
            codes[element.get("numFmtId", "")] = element.get("formatCode", "")
        else:
            formats = [codes.get(xf.get("numFmtId", "")) for xf in element.iterchildren("{*}xf")]
    return formats


def _sheet_text(data: bytes, shared: list[str], formats: list[str | None]) -> str:
    """Return a worksheet's cell values, tab-separated, one row a line.

    Empty cells keep their place (up to ``_MAX_COLUMNS``), so a value stays
    under its column's header (detectors.tables).
    """
    lines: list[str] = []
    row: list[str] = []
    for _, element in _events(data, _CELL_TAGS):
        if _local(element) == "c":
            value = _cell_value(element, shared, formats)
            if value:
                column = _column(element.get("r", ""))
                if len(row) < column < _MAX_COLUMNS:
                    row.extend([""] * (column - len(row)))
                row.append(value)
        else:
            if row:
                lines.append("\t".join(row))
            row = []
            element.clear()
            while element.getprevious() is not None:
                del cast(etree._Element, element.getparent())[0]
    return "\n".join(lines)


def _column(reference: str) -> int:
    """Return the zero-based column of a cell reference (``C7`` is 2), or -1."""
    column = 0
    for ch in reference[:4]:
        if not "A" <= ch <= "Z":
            break
        column = column * 26 + ord(ch) - 64
    return column - 1


def _cell_value(cell: etree._Element, shared: list[str], formats: list[str | None]) -> str:
    """Return a cell's value as shown: strings looked up, numbers formatted."""
    kind_ = cell.get("t", "n")
    value: str | None = None
    for child in cell:
        name = _local(child)
        if name == "v":
            value = child.text or ""
        elif name == "is":
            return _all_text(child)
    if value is None:
        return ""
    if kind_ == "s":
        index = int(value) if value.strip().isdigit() else -1
        return shared[index] if 0 <= index < len(shared) else ""
    if kind_ == "b":
        return "TRUE" if value.strip() == "1" else "FALSE"
    if kind_ != "n":
        return value
    style = cell.get("s", "0")
    index = int(style) if style.isdigit() else 0
    return display(value, formats[index] if index < len(formats) else None)
