"""Small real documents for the detector tests: PDFs as fpdf2 writes them (pypdf reads their
table cells back joined by single spaces, as it does most PDF forms and rosters)."""

from __future__ import annotations

from collections.abc import Sequence

from fpdf import FPDF


def pdf(lines: Sequence[str], table: Sequence[Sequence[str]] = ()) -> bytes:
    """A one-page PDF: ``lines`` of text, then ``table`` (its first row the header) if given."""
    document = FPDF()
    document.add_page()
    document.set_font("Helvetica", size=9)
    for line in lines:
        document.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    if table:
        with document.table() as grid:
            for cells in table:
                row = grid.row()
                for cell in cells:
                    row.cell(cell)
    return bytes(document.output())
