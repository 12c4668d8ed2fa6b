"""Hostile messages from issue 10, built on demand (nothing large is stored).

Shared by the budget tests and the fuzz seeds; every value is synthetic.
"""

from __future__ import annotations

import base64
import io
import random
import struct
import zipfile
import zlib

SSN = "219-45-6789"
CARD = "4111 1111 1111 1111"


def message(body: bytes, sender: str = "clerk@lancaster.example", headers: str = "",
            subject: str = "Quarterly report") -> bytes:
    """A CRLF message from ``sender`` to an external recipient, ``body`` as given."""
    head = f"From: {sender}\r\nTo: someone@outside.example\r\nSubject: {subject}\r\n{headers}"
    return head.encode() + b"\r\n" + body


def with_attachment(name: str, data: bytes, content_type: str = "application/octet-stream",
                    sender: str = "clerk@lancaster.example") -> bytes:
    """A multipart/mixed message with a short text body and ``data`` attached (base64)."""
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
    body = (b"--b1\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n--b1\r\n"
            + f"Content-Type: {content_type}\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n"
              "Content-Transfer-Encoding: base64\r\n\r\n".encode()
            + encoded + b"--b1--\r\n")
    return message(body, sender, 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n')


def overlapping_zip(entries: int = 1000, kernel_bytes: int = 1 << 20) -> bytes:
    """A ZIP whose ``entries`` central-directory records all point at one local
    file: one small deflated kernel of SSN lines, read once per name (an
    overlapping-entry bomb: ~70 KB that a naive reader inflates ``entries`` times)."""
    line = f"SSN {SSN}\n".encode()
    plain = line * (kernel_bytes // len(line))
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = packer.compress(plain) + packer.flush()
    crc = zlib.crc32(plain)
    name = b"k.txt"
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(packed), len(plain),
                        len(name), 0) + name + packed
    central = b""
    for _ in range(entries):
        member = name  # zipfile insists the local header's name matches
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(packed),
                               len(plain), len(member), 0, 0, 0, 0, 0, 0) + member
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, entries, entries, len(central), len(local), 0)
    return local + central + end


def spaced_digits(size: int = 10 * 1024 * 1024) -> bytes:
    """``size`` bytes of single digits separated by spaces."""
    return (b"1 2 3 4 5 6 7 8 9 0 " * (size // 20 + 1))[:size]


def big_xlsx(sheet_bytes: int = 95 * 1024 * 1024) -> bytes:
    """An XLSX whose one sheet holds about ``sheet_bytes`` of XML (numeric cells)."""
    rng = random.Random(10)
    cells = sheet_bytes // 24
    table = bytes(48 + b % 10 for b in range(256))
    digits = rng.randbytes(9 * cells).translate(table)  # varied: compresses ~2x, not 1000x
    cells_xml = [b"<c><v>" + digits[i : i + 9] + b"</v></c>" for i in range(0, len(digits), 9)]
    body = b"".join(b"<row>" + b"".join(cells_xml[i : i + 20]) + b"</row>" for i in range(0, len(cells_xml), 20))
    sheet = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns='
             b'"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
             + body + b"</sheetData></worksheet>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                   'content-types"><Override PartName="/xl/workbook.xml" ContentType="application/'
                   'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>')
        z.writestr("xl/workbook.xml", '<workbook xmlns="http://schemas.openxmlformats.org/'
                   'spreadsheetml/2006/main"><sheets><sheet name="s" sheetId="1"/></sheets></workbook>')
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return out.getvalue()


def long_tag_html(letters: int = 300_000) -> bytes:
    """An HTML document whose one tag name is ``letters`` long, then an SSN."""
    return b"<html><body><" + b"a" * letters + b">x</" + b"a" * 10 + b"> SSN " + SSN.encode() + b"</body></html>"


def many_cells_html(cells: int = 500_000) -> bytes:
    """An HTML table of ``cells`` empty ``<td>`` (about 2 MB), then an SSN."""
    return b"<html><body><table><tr>" + b"<td>" * cells + b"</tr></table><p>SSN " + SSN.encode() + b"</p></body></html>"
