"""US_BANK_ACCOUNT: an account labelled as a bank's, never a utility's."""

from __future__ import annotations

import io

import docx
import openpyxl
import pytest

from detectors.engine import Detector
from detectors.scan import Scanner
from tests.unit.detectors.documents import pdf
from tests.unit.detectors.test_labels import _message

DETECTOR = Detector()
SCANNER = Scanner()


def found(text: str) -> list[tuple[str, str]]:
    return [(f.entity, f.value) for f in DETECTOR.find("body", text) if f.entity != "PHONE_NUMBER"]


def scanned(name: str, data: bytes) -> list[tuple[str, str]]:
    return [(f.entity, f.value) for f in SCANNER.scan(_message(name, data)).findings if f.entity != "PHONE_NUMBER"]


BANK = "US_BANK_ACCOUNT"
ROUTING = ("US_BANK_ROUTING", "021000021")
CASES = [
    # a bank-account label
    ("Checking account: 00123456", [(BANK, "00123456")]),
    ("Please deposit to savings account 4417730982.", [(BANK, "4417730982")]),
    ("Direct deposit account number 12345678901234567", [(BANK, "12345678901234567")]),
    ("Bank account 021000021", [(BANK, "021000021")]),   # passes the ABA checksum, labelled an account
    ("DDA# 998877665", [(BANK, "998877665")]),
    ("Bank acct 1234-567890", [(BANK, "1234-567890")]),
    ("Checking account number: 1234 5678 9012 3", [(BANK, "1234 5678 9012 3")]),
    ("Account # at your bank: 4417730982", [(BANK, "4417730982")]),
    ("Routing number of your checking account: 021000021", [ROUTING]),
    # account beside routing, ABA, bank
    ("Routing 021000021, account 12345678", [ROUTING, (BANK, "12345678")]),
    ("ABA 021000021 acct# 4417730982", [ROUTING, (BANK, "4417730982")]),
    ("Account: 4417730982  Routing: 021000021", [(BANK, "4417730982"), ROUTING]),
    ("Account number: 4417730982\nRouting number: 021000021", [(BANK, "4417730982"), ROUTING]),
    ("Bank: Wells Fargo  Account: 4417730982", [(BANK, "4417730982")]),
    ("Please set up ACH payments to our account 1234560724.", [(BANK, "1234560724")]),
    # four and five digits, only right after a bank-account label
    ("Checking acct 1234", [(BANK, "1234")]),
    ("Savings account number: 98765", [(BANK, "98765")]),
    ("Account 1234 at the bank", []),
    ("Checking in 2026 for the 12345 residents", []),
    # Spanish
    ("Su cuenta bancaria es 1234560724", [(BANK, "1234560724")]),
    ("Número de ruta 021000021, cuenta 00417730", [ROUTING, (BANK, "00417730")]),
    # a utility's account: the label decides
    ("SCE customer account 2-12-345-6789", [("UTILITY_ACCOUNT", "2-12-345-6789")]),
    ("Water account 00123456 ; bank routing 021000021", [("UTILITY_ACCOUNT", "00123456"), ROUTING]),
    ("Customer account 0012345678 is paid from your checking account 9876543210 (routing 021000021)",
     [("UTILITY_ACCOUNT", "0012345678"), (BANK, "9876543210"), ROUTING]),
    ("Cuenta: 00417730\nNúmero de ruta 021000021\nCuenta bancaria: 9876543210",
     [("UTILITY_ACCOUNT", "00417730"), ROUTING, (BANK, "9876543210")]),
    ("Account number: 4417730982", [("UTILITY_ACCOUNT", "4417730982")]),
    # not an account at all
    ("We are checking account 00123456 for errors", []),
    ("Check no. 00417730 from savings", []),
    ("ACH trace number 021000021234567 for the checking account deposit", []),
    ("Your checking account ending in 6841 was debited", []),
    ("Savings of 12% this year; order 12345678", []),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_bank_account_table(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


def test_csv_account_column_beside_routing() -> None:
    lines = ["Direct deposit register", "", "Employee,Routing Number,Account Number,Type",
             *(f"E{i},021000021,{4417700000 + i},Checking" for i in range(1, 200))]
    got = scanned("payroll.csv", "\n".join(lines).encode())
    assert (BANK, "4417700199") in got
    assert sum(e == BANK for e, _ in got) == 199 and not any(e == "UTILITY_ACCOUNT" for e, _ in got)


def test_csv_utility_export_stays_utility() -> None:
    lines = ["Name,Account Number,Balance", *(f"N{i},{i:08d},12.00" for i in range(1, 50))]
    got = scanned("billing.csv", "\n".join(lines).encode())
    assert got and all(e == "UTILITY_ACCOUNT" for e, _ in got)


def test_short_accounts_in_a_bank_column_and_a_utility_column_beside_it() -> None:
    lines = ["Service Account,Routing,Bank Account,PO number",
             *(f"{i:08d},021000021,{1000 + i},{5000 + i}" for i in range(1, 40))]
    got = scanned("autopay.csv", "\n".join(lines).encode())
    assert (BANK, "1039") in got and ("UTILITY_ACCOUNT", "00000039") in got
    assert sum(e == BANK for e, _ in got) == 39 and not any(v.startswith("50") for _, v in got)


def test_docx_key_value_rows_beat_a_bank_column_header() -> None:
    document = docx.Document()
    table = document.add_table(rows=4, cols=2)
    for row, (key, value) in zip(table.rows, [("Field", "Direct deposit information"), ("Routing number", "021000021"),
                                              ("Bank account number", "1234560724"), ("PO number", "4500015644")]):
        row.cells[0].text, row.cells[1].text = key, value
    out = io.BytesIO()
    document.save(out)
    assert scanned("dd.docx", out.getvalue()) == [ROUTING, (BANK, "1234560724")]


def test_xlsx_bank_account_column() -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Vendor", "Bank Account", "ABA"])
    for i in range(1, 30):
        sheet.append([f"V{i}", f"{9900000000 + i}", "021000021"])
    out = io.BytesIO()
    book.save(out)
    got = scanned("vendors.xlsx", out.getvalue())
    assert (BANK, "9900000029") in got and sum(e == BANK for e, _ in got) == 29


def test_html_table_cuenta_bancaria() -> None:
    html = ("<table><tr><th>Nombre</th><th>Cuenta bancaria</th></tr>"
            + "".join(f"<tr><td>N{i}</td><td>{7700000000 + i}</td></tr>" for i in range(1, 15)) + "</table>")
    got = scanned("pagos.html", html.encode())
    assert (BANK, "7700000014") in got and sum(e == BANK for e, _ in got) == 14


def test_docx_vendor_form_key_value() -> None:
    document = docx.Document()
    table = document.add_table(rows=3, cols=2)
    for row, (key, value) in zip(table.rows, [("Bank name", "First National"), ("Routing", "021000021"),
                                              ("Account", "1234560724")]):
        row.cells[0].text, row.cells[1].text = key, value
    out = io.BytesIO()
    document.save(out)
    assert scanned("vendor.docx", out.getvalue()) == [ROUTING, (BANK, "1234560724")]


ACH_FORM = ["Vendor ACH Authorization", "Vendor: Acme Paving Inc.", "Bank name: First National",
            "Routing number (ABA): 021000021"]


@pytest.mark.parametrize("account", ["44177309", "44177"])
def test_pdf_ach_form_account_type_below(account: str) -> None:
    # "Account type: Checking" says what this account is; it labels no other number
    got = scanned("ACH_authorization.pdf", pdf([*ACH_FORM, f"Account number: {account}", "Account type: Checking"]))
    assert got == [ROUTING, (BANK, account)]


@pytest.mark.parametrize("account", ["4417730", "44177"])
def test_docx_key_value_form_under_a_header_row_of_something_else(account: str) -> None:
    # the first row reads as a header naming a card; the "Account number" row label is this value's
    document = docx.Document()
    table = document.add_table(rows=4, cols=2)
    for row, (key, value) in zip(table.rows, [("Payment method", "EFT, not card"), ("Routing number", "021000021"),
                                              ("Account number", account), ("Account type", "Checking")]):
        row.cells[0].text, row.cells[1].text = key, value
    out = io.BytesIO()
    document.save(out)
    assert scanned("EFT_form.docx", out.getvalue()) == [ROUTING, (BANK, account)]


PROSE = [
    # the routing field nearest above pairs with the account; an old account further up is another group
    ("Old: checking 55123 at routing 0210-0002-1\nNew details -\nRouting: 021000021\nAccount: 12345678901234\n"
     "Type: checking", [(BANK, "55123"), ("US_BANK_ROUTING", "0210-0002-1"), ROUTING, (BANK, "12345678901234")]),
    # four and five digits after a plain account label: a bank word before it, or a routing label beside it
    ("Direct deposit: account 12345, routing 021000021.", [(BANK, "12345"), ROUTING]),
    ("Routing 0210-0002-1; savings 12345", [("US_BANK_ROUTING", "0210-0002-1"), (BANK, "12345")]),
    ("Routing: 021000021\nAccount: 4417\nType: savings", [ROUTING, (BANK, "4417")]),
    # and not otherwise
    ("Routing 021000021 for the bank; checking 2025 statements now", [ROUTING]),
    ("Water account 12345, bank routing 021000021", [ROUTING]),
    ("Account 1234 is closed; see routing 021000021 for the customer", [ROUTING]),
    ("Your checking account ending in 6841 was debited (routing 021000021)", [ROUTING]),
    ("Routing changes for the account 2024 review", []),   # a year, unless marked: "Account: 2024"
    ("Routing 021000021, account: 2024", [ROUTING, (BANK, "2024")]),
    ("ABA 021000021\nInvoice account 56789", [ROUTING]),
    ("Routing 021000021\nBilling account 44444", [ROUTING]),
]


# Every bank label of CONTEXT makes a finding with no other bank word in the text (the prefilter
# once knew none of these, so they were never judged).
ALONE = [
    ("Cuenta de ahorros: 12345678", [(BANK, "12345678")]),
    ("Número de cuenta de cheques 4417730982", [(BANK, "4417730982")]),
    ("Numero de cuenta de ahorros: 44177309", [(BANK, "44177309")]),
    ("Depósito directo: 4417730982", [(BANK, "4417730982")]),
    ("Account to be credited: 4417730982", [(BANK, "4417730982")]),
    ("Número de cuenta: 4417730982", [("UTILITY_ACCOUNT", "4417730982")]),   # no bank word: the utility's
]


@pytest.mark.parametrize(("text", "expected"), ALONE)
def test_bank_labels_alone_in_a_text(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(("text", "expected"), PROSE)
def test_short_and_grouped_accounts_in_prose(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


def test_html_body_register_with_short_accounts() -> None:
    # an HTML table in the body: its "Account #" column beside "ABA routing" holds 4-17 digits
    rows = "".join(f"<tr><td>1{i:04d}</td><td>Ruiz, Ana</td><td>021000021</td><td>{acct}</td><td>Checking</td>"
                   f"<td>1,200.00</td></tr>" for i, acct in enumerate(("0975", "44177", "1234560724")))
    html = ("<p>Direct deposit register</p><table><tr><th>Employee ID</th><th>Name</th><th>ABA routing</th>"
            "<th>Account #</th><th>Type</th><th>Amount</th></tr>" + rows + "</table>")
    message = ("From: a@x.example\r\nTo: b@y.example\r\nSubject: register\r\nMIME-Version: 1.0\r\n"
               "Content-Type: text/html\r\n\r\n" + html + "\r\n").encode()
    got = [(f.entity, f.value) for f in SCANNER.scan(message).findings if f.entity == BANK]
    assert got == [(BANK, "0975"), (BANK, "44177"), (BANK, "1234560724")]


def test_prose_with_commas_is_no_table_of_short_accounts() -> None:
    assert found("Bank account changes, savings plan\nGL account 1074, cost center 2231\n") == []
