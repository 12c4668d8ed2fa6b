"""US_DRIVER_LICENSE: California's letter and seven digits, only under a licence label."""

from __future__ import annotations

import io

import docx
import openpyxl
import pytest

from detectors.driver_license import LicenseFormat
from detectors.engine import Detector
from detectors.scan import Scanner
from tests.unit.detectors.documents import pdf
from tests.unit.detectors.test_labels import _message

DETECTOR = Detector()
SCANNER = Scanner()


def found(text: str, detector: Detector = DETECTOR) -> list[tuple[str, str]]:
    return [(f.entity, f.value) for f in detector.find("body", text) if f.entity != "PHONE_NUMBER"]


def scanned(name: str, data: bytes) -> list[tuple[str, str]]:
    return [(f.entity, f.value) for f in SCANNER.scan(_message(name, data)).findings if f.entity != "PHONE_NUMBER"]


CASES = [
    # prose, the labels people write
    ("Driver's license: B7730982, exp 2029", [("US_DRIVER_LICENSE", "B7730982")]),
    ("driver’s license number is b7730982", [("US_DRIVER_LICENSE", "b7730982")]),
    ("Her drivers license no. D4417730 was verified", [("US_DRIVER_LICENSE", "D4417730")]),
    ("DL# B7730982", [("US_DRIVER_LICENSE", "B7730982")]),
    ("DL: B7730982", [("US_DRIVER_LICENSE", "B7730982")]),
    ("CDL B7730982 (class A)", [("US_DRIVER_LICENSE", "B7730982")]),
    ("Driver license\nB7730982\n", [("US_DRIVER_LICENSE", "B7730982")]),
    ("dl#B7730982", [("US_DRIVER_LICENSE", "B7730982")]),
    ("DL (CA): B7730982", [("US_DRIVER_LICENSE", "B7730982")]),
    ("Driver's license number\n(as printed on the card): B7730982", [("US_DRIVER_LICENSE", "B7730982")]),
    ("> my driver's license is below, the phone stays the same\n> B7730982", [("US_DRIVER_LICENSE", "B7730982")]),
    ("Driver licenses Y5512093 and Y5512094 on file", [("US_DRIVER_LICENSE", "Y5512093"), ("US_DRIVER_LICENSE", "Y5512094")]),
    # Spanish
    ("Licencia de conducir: B7730982", [("US_DRIVER_LICENSE", "B7730982")]),
    ("su número de licencia es B7730982", [("US_DRIVER_LICENSE", "B7730982")]),
    # no label, or another's
    ("Part B7730982 shipped", []),
    ("Employee B7730982 starts Monday", []),
    ("Permit B7730982 issued", []),
    ("Contractor license number B7730982", []),
    ("Business license B7730982 renewed", []),
    ("Driver's license: AB7730982", []),      # two letters: not California's
    ("Driver's license: B77309821", []),      # eight digits
    # "DL" as a distribution list, "dl" as a download
    ("Sent to the Finance DL on Monday; ref B7730982", []),
    ("Forward to the DL please. Employee B7730982", []),
    ("Add B7730982 to the DL list", []),
    ("dl B7730982 from the portal", []),
    # placeholders and samples
    ("Driver's license: A1234567", []),
    ("Driver's license: X1234567", []),
    ("DL# B0000000", []),
    ("Driver's license: I1234568", []),
    ("Driver's license: Z7654321", []),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_licence_table(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


def test_other_states_are_configuration() -> None:
    florida = Detector(licenses=(LicenseFormat("CA", "Lddddddd"), LicenseFormat("FL", "L-ddd-ddd-dd-ddd-d")))
    text = "Driver license S-530-417-73-098-2 (FL); DL B7730982 (CA)"
    assert found(text, florida) == [("US_DRIVER_LICENSE", "S-530-417-73-098-2"), ("US_DRIVER_LICENSE", "B7730982")]
    assert found(text) == [("US_DRIVER_LICENSE", "B7730982")]


def test_csv_licence_column_far_below_its_header() -> None:
    lines = ["Name,DL Number,Phone", *(f"N{i},B{7730000 + i},2135552368" for i in range(1, 250))]
    got = scanned("drivers.csv", "\n".join(lines).encode())
    assert ("US_DRIVER_LICENSE", "B7730249") in got and len(got) == 249


def test_csv_without_a_licence_column_finds_none() -> None:
    lines = ["Name,Part,Qty", *(f"N{i},B{7730000 + i},3" for i in range(1, 50))]
    assert scanned("parts.csv", "\n".join(lines).encode()) == []


def test_xlsx_licence_column_under_a_title() -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Fleet drivers"])
    sheet.append([])
    sheet.append(["Driver", "Driver's License", "Class"])
    for i in range(1, 40):
        sheet.append([f"N{i}", f"C{5512000 + i}", "B"])
    out = io.BytesIO()
    book.save(out)
    got = scanned("fleet.xlsx", out.getvalue())
    assert ("US_DRIVER_LICENSE", "C5512039") in got and len(got) == 39


def test_html_table_licence_column() -> None:
    html = ("<table><tr><th>Name</th><th>Licencia de conducir</th></tr>"
            + "".join(f"<tr><td>N{i}</td><td>D{4417700 + i}</td></tr>" for i in range(1, 20)) + "</table>")
    got = scanned("list.html", html.encode())
    assert ("US_DRIVER_LICENSE", "D4417719") in got and len(got) == 19


def test_docx_key_value_row_label() -> None:
    document = docx.Document()
    table = document.add_table(rows=2, cols=2)
    for row, (key, value) in zip(table.rows, [("Applicant", "Ana Ruiz"), ("Driver license #", "B7730982")]):
        row.cells[0].text, row.cells[1].text = key, value
    out = io.BytesIO()
    document.save(out)
    assert scanned("application.docx", out.getvalue()) == [("US_DRIVER_LICENSE", "B7730982")]


ROSTER = [["Employee", "Name", "Driver's License", "Class", "Expires"],
          ["10231", "Ana Garcia", "B7730982", "C", "2027-05-01"], ["10232", "Li Wei", "D4410736", "A", "2028-01-31"],
          ["10233", "Sam Roe", "F5520914", "C", "2026-11-30"], ["10234", "Jo Park", "K6630125", "B", "2029-02-28"]]


def test_pdf_roster_whose_columns_the_text_lost() -> None:
    # pypdf joins the cells by single spaces: the header line names the licence column for every row below
    got = scanned("driver_roster.pdf", pdf(["Fleet Services - driver roster"], ROSTER))
    assert got == [("US_DRIVER_LICENSE", v) for v in ("B7730982", "D4410736", "F5520914", "K6630125")]


def test_pdf_roster_licence_beside_a_licence_shaped_permit() -> None:
    table = [["Name", "Fuel Permit", "Dept", "Driver License", "Class"],
             *([f"N{i}", f"P{5500100 + i}", "Parks", f"B{7730100 + i}", "C"] for i in range(1, 8))]
    got = scanned("fleet.pdf", pdf(["Fleet permits and licences"], table))
    assert got == [("US_DRIVER_LICENSE", f"B{7730100 + i}") for i in range(1, 8)]


def test_pdf_rows_end_at_a_line_without_a_licence() -> None:
    text = "Name Driver's License Class\nAna Garcia B7730982 C\nTotal: one driver\nItem C5512039 is on order"
    assert found(text) == [("US_DRIVER_LICENSE", "B7730982")]


def test_pdf_header_of_another_licence_names_no_column() -> None:
    assert found("Name Business License Class\nAna Garcia B7730982 C\nLi Wei D4410736 A") == []
