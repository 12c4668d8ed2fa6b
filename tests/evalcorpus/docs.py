"""Document builders for the evaluation corpus: delimited text, XLSX, DOCX, PDF, ZIP.

Each builder takes rows of *already written* strings (the generator has
recorded a label for every sensitive value among them) and returns the file's
bytes, byte-for-byte reproducible: timestamps inside the Office zip containers
and the PDF are fixed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Sequence

FIXED = dt.datetime(2026, 11, 30, 16, 0, 0)
_ZIP_TIME = (2026, 11, 30, 16, 0, 0)
_CORE_TIME = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")

Cell = str | int | float | None


def delimited(
    title: Sequence[str],
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    delimiter: str = ",",
    crlf: bool = True,
) -> bytes:
    """A CSV/TSV export: free title lines (then a blank line), a header, rows."""
    out = io.StringIO()
    term = "\r\n" if crlf else "\n"
    for line in title:
        out.write(line + term)
    if title:
        out.write(term)
    w = csv.writer(out, delimiter=delimiter, lineterminator=term)
    w.writerow(header)
    w.writerows(rows)
    return out.getvalue().encode("utf-8")


def _normalize_zip(data: bytes) -> bytes:
    """Re-pack an Office container with fixed entry times and core-property dates."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = _CORE_TIME.sub(rb"\g<1>2026-11-30T16:00:00Z\g<3>", body)
            zi = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(zi, body)
    return out.getvalue()


def xlsx(sheets: Sequence[tuple[str, Sequence[Sequence[Cell]]]]) -> bytes:
    """A workbook; each sheet is (title, rows) and rows may start with titles/blanks."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.properties.creator = "Finance"
    wb.properties.created = FIXED
    first = True
    for title, rows in sheets:
        ws = wb.active if first else wb.create_sheet()
        first = False
        ws.title = title
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None and value != "":
                    ws.cell(row=r, column=c, value=value)
    buf = io.BytesIO()
    wb.save(buf)
    return _normalize_zip(buf.getvalue())


def docx(blocks: Sequence[tuple[str, object]]) -> bytes:
    """A Word document from blocks: ("h", text), ("p", text), ("table", rows)."""
    from docx import Document

    doc = Document()
    props = doc.core_properties
    props.author = "Accounts Payable"
    props.created = FIXED
    props.modified = FIXED
    props.last_printed = FIXED
    for kind, content in blocks:
        if kind == "h":
            doc.add_heading(str(content), level=1)
        elif kind == "p":
            doc.add_paragraph(str(content))
        elif kind == "table":
            rows = list(content)  # type: ignore[call-overload]
            table = doc.add_table(rows=len(rows), cols=max(len(r) for r in rows))
            table.style = "Table Grid"
            for row_obj, row in zip(table.rows, rows):
                for cell, text in zip(row_obj.cells, row):
                    cell.text = str(text)
    buf = io.BytesIO()
    doc.save(buf)
    return _normalize_zip(buf.getvalue())


def pdf(blocks: Sequence[tuple[str, object]]) -> bytes:
    """A PDF with a text layer, from the same blocks as :func:`docx`."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    doc = FPDF(format="letter")
    doc.set_creation_date(FIXED.replace(tzinfo=dt.UTC))
    doc.set_producer("evalcorpus")
    doc.set_auto_page_break(True, margin=15)
    doc.add_page()
    width = doc.w - doc.l_margin - doc.r_margin
    for kind, content in blocks:
        if kind == "h":
            doc.set_font("helvetica", "B", 13)
            doc.multi_cell(width, 7, str(content), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        elif kind == "p":
            doc.set_font("helvetica", "", 10)
            doc.multi_cell(width, 5, str(content), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        elif kind == "table":
            rows = list(content)  # type: ignore[call-overload]
            ncols = max(len(r) for r in rows)
            doc.set_font("helvetica", "", 10 if ncols <= 3 else 8 if ncols <= 5 else 6)
            cw = width / ncols
            for row in rows:
                for text in row:
                    doc.cell(cw, 6, str(text), border=1, new_x=XPos.RIGHT, new_y=YPos.TOP)
                doc.ln(6)
        doc.ln(2)
    return bytes(doc.output())


def zipped(members: Sequence[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in members:
            zi = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, body)
    return out.getvalue()
