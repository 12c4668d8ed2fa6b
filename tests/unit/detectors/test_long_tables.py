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


@pytest.mark.parametrize("window", [900, 1000, 1100, 1 << 17])
def test_a_text_scanned_in_windows_or_whole_has_each_finding_once(window: int) -> None:
    """A text a little longer than a window is read whole by the first window (its margin reaches
    the end): the second must not report the findings past the first's own span again."""
    body = "".join(f"Line {i}: employee SSN 219-45-{6700 + i:04d} on file.\r\n" for i in range(24))
    assert 1000 < len(body) < 1200
    message = ("Subject: ssns\r\nContent-Type: text/plain\r\n\r\n" + body).encode()
    result = Scanner(budgets=Budgets(window_chars=window, margin_chars=200, cpu_seconds=30)).scan(message)
    assert [f.value for f in result.findings] == [f"219-45-{6700 + i:04d}" for i in range(24)]
