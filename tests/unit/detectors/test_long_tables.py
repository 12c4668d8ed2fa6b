"""A value far below its column header, past the scanner's windows (detectors.scan).

Long segments are scanned window by window; the header of a table is context
for every row below it however far down, so the windows carry the segment's
tables.
"""

from __future__ import annotations

import base64

import pytest

from detectors.scan import Budgets, Scanner

_ROWS = 1200
_AT = 1100


def _csv() -> str:
    rows = ["Customer,Account Number,Balance"] + [f"Person {i},pending,{i}.00" for i in range(_ROWS)]
    rows[_AT] = "Person X,0041773098,12.00"
    return "\r\n".join(rows) + "\r\n"


def _body_message() -> bytes:
    return ("Subject: export\r\nContent-Type: text/plain\r\n\r\nExport below\r\n\r\n" + _csv()).encode()


def _attached_message() -> bytes:
    data = base64.encodebytes(_csv().encode()).decode().replace("\n", "\r\n")
    return ("Subject: export\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
            "--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
            "--b\r\nContent-Type: text/csv; name=a.csv\r\nContent-Disposition: attachment; filename=a.csv\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" + data + "\r\n--b--\r\n").encode()


@pytest.mark.parametrize("message", [_body_message(), _attached_message()], ids=["body", "csv"])
def test_a_value_many_windows_below_its_header_is_found(message: bytes) -> None:
    budgets = Budgets(window_chars=2048, margin_chars=256, cpu_seconds=30)
    assert len(message) > 10 * budgets.window_chars   # the header is many windows above the value
    result = Scanner(budgets=budgets).scan(message)
    assert [(f.entity, f.value) for f in result.findings] == [("UTILITY_ACCOUNT", "0041773098")]
    assert result.unscannable == ()
