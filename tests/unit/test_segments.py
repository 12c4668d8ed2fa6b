"""Extraction: raw messages and files built here, in memory, to segments and notes.

Every fixture is made by the test (python-docx, openpyxl, pypdf, zipfile, or
by hand for what those cannot write), so nothing binary is committed. The
numbers are synthetic: 219-45-6789 stands for any planted value.
"""

from __future__ import annotations

import base64
import io
import random
import struct
import tracemalloc
import zipfile
from email.header import Header

import docx
import openpyxl
import pytest
from pypdf import PdfReader, PdfWriter

from detectors.segments import Extraction, Limits, Segment, Unscannable, extract, extract_file

SSN = "219-45-6789"


# ---------------------------------------------------------------- builders


def mime(headers: str, body: bytes | str) -> bytes:
    """Return a message: CRLF-terminated ``headers`` lines, a blank line, ``body``."""
    raw = body.encode() if isinstance(body, str) else body
    head = "".join(line.rstrip() + "\r\n" for line in headers.strip().splitlines())
    return head.encode() + b"\r\n" + raw


def multipart(kind: str, boundary: str, *parts: bytes, headers: str = "Subject: s") -> bytes:
    """Return a multipart message of ``kind`` holding raw ``parts``."""
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts)
    body += b"--" + boundary.encode() + b"--\r\n"
    return mime(f'{headers}\nContent-Type: multipart/{kind}; boundary="{boundary}"', body)


def attachment(name: str, data: bytes, ctype: str = "application/octet-stream") -> bytes:
    """Return a base64 attachment part named ``name``."""
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
    return mime(
        f'Content-Type: {ctype}; name="{name}"\n'
        f'Content-Disposition: attachment; filename="{name}"\n'
        "Content-Transfer-Encoding: base64",
        encoded,
    )


def text_part(text: str, ctype: str = "text/plain", charset: str = "utf-8") -> bytes:
    """Return an inline 8bit text part."""
    return mime(f"Content-Type: {ctype}; charset={charset}", text.encode(charset))


def seg(result: Extraction) -> dict[str, str]:
    """Return the segments of ``result`` by name (names are unique)."""
    names = [s.name for s in result.segments]
    assert len(names) == len(set(names))
    return {s.name: s.text for s in result.segments}


def notes(result: Extraction) -> set[tuple[str, str]]:
    """Return the (name, reason) pairs of what could not be read."""
    return {(u.name, u.reason) for u in result.unscannable}


def zip_bytes(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """Return a ZIP archive of ``members``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def pdf_bytes(*lines: str) -> bytes:
    """Return a one-page PDF whose text layer holds ``lines`` (built by hand)."""
    ops = " ".join(f"({line}) Tj 0 -14 Td" for line in lines)
    content = f"BT /F1 12 Tf 72 712 Td {ops} ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def encrypted_pdf(user_password: str, algorithm: str = "AES-256") -> bytes:
    """Return the one-line PDF encrypted with ``user_password``."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes(f"SSN {SSN}"))))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm=algorithm)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_bytes() -> bytes:
    """Return a .docx with a paragraph, a table and a header, via python-docx."""
    document = docx.Document()
    document.add_paragraph("Employee SSN 219-")
    document.paragraphs[0].add_run("45").bold = True
    document.paragraphs[0].add_run("-6789 on file")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "123"
    table.rows[0].cells[1].text = "456"
    document.sections[0].header.paragraphs[0].text = "Header acct 555-12-3456"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def xlsx_bytes() -> bytes:
    """Return a two-sheet .xlsx with strings, numbers and an SSN format, via openpyxl."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Name", "SSN", "Amount"])
    sheet.append(["Ana", 219456789, 12.5])
    sheet.append(["Bo", 12345678, 3.0])
    sheet["B3"].number_format = "000-00-0000"
    other = workbook.create_sheet("Other")
    other.append(["routing", 21000021])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def inline_xlsx_bytes() -> bytes:
    """Return a minimal hand-made .xlsx whose cells are inline strings."""
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    sheet = (
        f"<worksheet {ns}><sheetData><row r=\"1\">"
        '<c r="A1" t="inlineStr"><is><t>SSN</t></is></c>'
        f'<c r="B1" t="inlineStr"><is><r><t>219-45</t></r><r><t>-6789</t></r></is></c>'
        '<c r="C1" t="b"><v>1</v></c><c r="D1"><v>1.23456789E8</v></c>'
        "</row></sheetData></worksheet>"
    )
    return zip_bytes({
        "xl/workbook.xml": f"<workbook {ns}/>".encode(),
        "xl/worksheets/sheet1.xml": sheet.encode(),
    })


def set_encrypted_flag(archive: bytes) -> bytes:
    """Return ``archive`` with every member marked encrypted (APPNOTE 4.4.4 bit 0)."""
    out = bytearray(archive)
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := out.find(signature, start)) >= 0:
            flags = struct.unpack_from("<H", out, start + flag_at)[0]
            struct.pack_into("<H", out, start + flag_at, flags | 1)
            start += 4
    return bytes(out)


def zeros_zip(size: int, name: str = "zeros.txt") -> bytes:
    """Return a ZIP holding ``size`` zero bytes, streamed so building stays small."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open(name, "w") as member:
            chunk = b"0" * (1 << 20)
            for _ in range(size // len(chunk)):
                member.write(chunk)
    return buf.getvalue()


# ---------------------------------------------------------------- plain messages


def test_plain_message_subject_and_body() -> None:
    result = extract(mime("From: a@x.example\nSubject: Payroll", f"SSN {SSN}\r\nbye\r\n"))
    assert seg(result) == {"subject": "Payroll", "body": f"SSN {SSN}\nbye\n"}
    assert result.unscannable == ()


def test_always_subject_and_body_even_if_empty() -> None:
    assert seg(extract(b"")) == {"subject": "", "body": ""}
    assert seg(extract(b"From: a@x.example\r\n")) == {"subject": "", "body": ""}


def test_mbox_from_line_is_skipped() -> None:
    result = extract(b"From a@x.example Mon Jan  1 00:00:00 2024\nSubject: hi\n\nbody\n")
    assert seg(result) == {"subject": "hi", "body": "body\n"}


def test_segment_repr_hides_text() -> None:
    assert SSN not in repr(Segment("body", SSN))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # RFC 2047, Q and B, several charsets
        ("=?iso-8859-1?q?Jos=E9_Garc=EDa?=", "José García"),
        ("=?utf-8?b?" + base64.b64encode("Zoë 219".encode()).decode() + "?=", "Zoë 219"),
        (Header("Résumé € 219-45-6789", "utf-8").encode(), "Résumé € 219-45-6789"),
        # a multi-byte character split across two adjacent words
        ("=?utf-8?b?4oI=?= =?utf-8?b?rA==?= ok", "€ ok"),
        ("=?UTF-8?Q?a?=\r\n =?UTF-8?Q?b?= c", "ab c"),
        # wrong or unknown charsets, broken payloads: fall back, never raise
        ("=?x-unknown?q?plain_219?=", "plain 219"),
        ("=?utf-8?q?caf=E9?=", "café"),
        ("=?utf-8?b?QUJ?=", "AB"),
        ("=?utf-8?b?!!!?=", ""),
        ("=?utf-8*en?q?lang?=", "lang"),
        ("no words =? here ?=", "no words =? here ?="),
    ],
)
def test_subject_encoded_words(raw: str, expected: str) -> None:
    assert seg(extract(mime(f"Subject: {raw}", "")))["subject"] == expected


def test_subject_raw_eight_bit() -> None:
    assert seg(extract("Subject: Café 219\r\n\r\n".encode()))["subject"] == "Café 219"
    assert seg(extract(b"Subject: Caf\xe9\r\n\r\n"))["subject"] == "Café"


# ---------------------------------------------------------------- charsets and encodings


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        # declared utf-8, really latin-1
        ("Content-Type: text/plain; charset=utf-8", "Jos\xe9 219".encode("latin-1"), "José 219"),
        ("Content-Type: text/plain; charset=iso-8859-1", "Jos\xe9".encode("latin-1"), "José"),
        ("Content-Type: text/plain; charset=no-such", "Zoë".encode(), "Zoë"),
        ('Content-Type: text/plain; charset="us-ascii"', "Zoë".encode(), "Zoë"),
        ("Content-Type: text/plain; charset=windows-1252", b"\x93quoted\x94 \x80", "“quoted” €"),
        ("Content-Type: text/plain; charset=shift_jis", "番号 ２１９".encode("shift_jis"), "番号 ２１９"),
        (
            "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64",
            base64.encodebytes(f"Zoë {SSN}".encode()),
            f"Zoë {SSN}",
        ),
        (
            "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: Quoted-Printable",
            b"Zo=C3=AB 219-45-=\r\n6789 caf=C3=A9",
            "Zoë 219-45-6789 café",
        ),
        # broken base64: what decodes is kept
        ("Content-Transfer-Encoding: base64", b"U1NOIDIxOS00NS02Nzg5*!!\r\nQQ", "SSN 219-45-6789A"),
        ("Content-Transfer-Encoding: x-unknown", b"as is", "as is"),
    ],
)
def test_body_charsets_and_transfer_encodings(headers: str, body: bytes, expected: str) -> None:
    assert seg(extract(mime(f"Subject: s\n{headers}", body)))["body"] == expected


def test_full_width_digits_survive() -> None:
    text = "ＳＳＮ ２１９－４５－６７８９"
    assert seg(extract(mime("Content-Type: text/plain; charset=utf-8", text.encode())))["body"] == text


def test_flowed_soft_breaks_are_joined() -> None:
    raw = mime("Content-Type: text/plain; format=flowed", "card 4111 1111 \r\n1111 1111\r\n-- \r\nsig")
    assert seg(extract(raw))["body"] == "card 4111 1111 1111 1111\n-- \nsig"


# ---------------------------------------------------------------- multipart bodies and HTML


def test_alternative_keeps_both_sides_in_one_body() -> None:
    raw = multipart(
        "alternative", "b1",
        text_part(f"plain {SSN}"),
        text_part(f"<p>html <b>{SSN}</b></p>", "text/html"),
    )
    result = extract(raw)
    assert seg(result) == {"subject": "s", "body": f"plain {SSN}\n\nhtml {SSN}"}


def test_mixed_nested_related_and_attachments() -> None:
    inner = multipart(
        "related", "rel",
        text_part("<div>see <img src='cid:1'> 219-45-6789</div>", "text/html"),
        mime("Content-Type: image/png\nContent-ID: <1>\nContent-Transfer-Encoding: base64",
             base64.encodebytes(b"\x89PNG\r\n\x1a\n" + bytes(40))),
        headers="X-Inner: 1",
    )
    raw = multipart("mixed", "mix", inner, attachment("data.csv", f"id,ssn\n1,{SSN}\n".encode()))
    result = extract(raw)
    assert seg(result)["body"] == f"see {SSN}"
    assert seg(result)["attachment:data.csv"] == f"id,ssn\n1,{SSN}\n"
    assert notes(result) == {("attachment:part-2", "image")}


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        # numbers split by inline markup read whole
        ("123-<b>45</b>-6789", "123-45-6789"),
        ('<p>SSN <span style="x">219</span>-<font color=red>45</font>-<i>6789</i></p>', f"SSN {SSN}"),
        ("4111<a href='#'>1111</a><u>1111</u><small>1111</small><sup>x</sup>", "4111111111111111x"),
        # neighbouring cells and blocks never merge
        ("<td>123</td><td>456</td>", "123\t456"),
        ("<table><tr><th>a</th><th>b</th></tr><tr><td>1<td>2</table>", "a\tb\n1\t2"),
        ("<TABLE><TR><TD>123</TD><TD>456</TD></TR></TABLE>", "123\t456"),
        ("<tD>1</Td><Td>2</tD>", "1\t2"),
        ("<div>123</div><div>456</div>1<br>2<br/>3<p>4</p>5<li>6<h1>7</h1>", "123\n456\n1\n2\n3\n4\n5\n6\n7"),
        # entities
        ("a &amp; b &lt;b&gt; 219&#8209;45&#x2011;6789&nbsp;&copy;", "a & b <b> 219‑45‑6789 ©"),
        # hidden content dropped, comments too; Outlook conditionals kept
        ("<head><title>T 999</title><style>p {color:red}</style></head><body>x</body>", "x"),
        ("a<script type='text/javascript'>var s='999';</script>b<SCRIPT>1</SCRIPT>c", "abc"),
        ("1<!-- 999 -->2<!---->3<!-->4", "1234"),
        ("<!--[if mso]><p>outlook 555</p><![endif]-->", "outlook 555"),
        # broken markup: never fails, hides nothing
        ("<p>unclosed <b>bold <td>cell", "unclosed bold\ncell"),  # the cell closes the paragraph
        ("a < b and 3<4 > 2", "a < b and 3<4 > 2"),
        ("<p>before<!-- never closed 219", "before<!-- never closed 219"),
        ("text <script>unterminated 219", "text unterminated 219"),
        ("<a title='x>y'>z</a>", "z"),  # a quoted ">" is part of the attribute
        ("", ""),
        ("\ue000marker\ue001", "marker"),
    ],
)
def test_html_to_text(markup: str, expected: str) -> None:
    raw = mime("Content-Type: text/html; charset=utf-8", markup.encode())
    assert seg(extract(raw))["body"] == expected


def test_html_with_non_ascii_and_lower_case_growth() -> None:
    markup = "<P>İstanbul <B>219</B>-45-6789</P><style>x</style><TD>1<TD>2"
    raw = mime("Content-Type: text/html; charset=utf-8", markup.encode())
    assert seg(extract(raw))["body"] == "İstanbul 219-45-6789\n1\t2"


def test_preamble_and_epilogue_with_digits_join_the_body() -> None:
    raw = mime(
        'Subject: s\nContent-Type: multipart/mixed; boundary="b"',
        f"hidden {SSN}\r\n--b\r\n\r\nvisible\r\n--b--\r\nThis is the end.\r\n".encode(),
    )
    assert seg(extract(raw))["body"] == f"visible\n\nhidden {SSN}"


# ---------------------------------------------------------------- attachments by type


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("a.txt", f"SSN {SSN}\r\n".encode(), f"SSN {SSN}\n"),
        ("a.csv", "\ufeffname,ssn\nZoë,219-45-6789".encode("utf-8"), "name,ssn\nZoë,219-45-6789"),
        ("a.csv", "name\tssn\r\nZoë\t219".encode("utf-16"), "name\tssn\nZoë\t219"),
        ("a.csv", b"Jos\xe9,219\x96x", "José,219–x"),
        ("page.html", b"<p>a</p><td>1</td><td>2</td>", "a\n1\t2"),
        # text behind a misleading name or type is read as text
        ("photo.jpg", f"ssn {SSN}".encode(), f"ssn {SSN}"),
        ("report.pdf", f"ssn {SSN}".encode(), f"ssn {SSN}"),
    ],
)
def test_text_attachments(name: str, data: bytes, expected: str) -> None:
    raw = multipart("mixed", "b", text_part("hi"), attachment(name, data))
    assert seg(extract(raw))[f"attachment:{name}"] == expected
    assert seg(extract_file(name, data))[f"attachment:{name}"] == expected


def test_docx_paragraphs_tables_and_header() -> None:
    text = seg(extract_file("hr.docx", docx_bytes()))["attachment:hr.docx"]
    assert f"Employee SSN {SSN} on file" in text
    assert "123\t456" in text
    assert "Header acct 555-12-3456" in text


def test_docx_inside_a_message() -> None:
    raw = multipart("mixed", "b", text_part("see attached"), attachment("hr.docx", docx_bytes()))
    assert SSN in seg(extract(raw))["attachment:hr.docx"]


def test_xlsx_every_sheet_numbers_as_displayed() -> None:
    text = seg(extract_file("pay.xlsx", xlsx_bytes()))["attachment:pay.xlsx"]
    assert text.split("\n\n") == [
        "Name\tSSN\tAmount\nAna\t219456789\t12.5\nBo\t012-34-5678\t3",
        "routing\t21000021",
    ]


def test_xlsx_inline_strings_booleans_and_exponents() -> None:
    text = seg(extract_file("in.xlsx", inline_xlsx_bytes()))["attachment:in.xlsx"]
    assert text == f"SSN\t{SSN}\tTRUE\t123456789"


def test_pptx_like_package_text() -> None:
    ns = 'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'
    slide = f"<p:sld xmlns:p='urn:p' {ns}><a:p><a:r><a:t>SSN 219-</a:t></a:r><a:r><a:t>45-6789</a:t></a:r></a:p></p:sld>"
    data = zip_bytes({"ppt/presentation.xml": b"<p/>", "ppt/slides/slide1.xml": slide.encode()})
    assert seg(extract_file("deck.pptx", data))["attachment:deck.pptx"] == f"SSN {SSN}"


def test_pdf_text_layer() -> None:
    result = extract_file("q1.pdf", pdf_bytes("Quarterly report", f"SSN {SSN}"))
    assert SSN in seg(result)["attachment:q1.pdf"]
    assert result.unscannable == ()


def test_pdf_with_password_is_encrypted() -> None:
    result = extract_file("locked.pdf", encrypted_pdf("secret"))
    assert notes(result) == {("attachment:locked.pdf", "encrypted")}
    assert "attachment:locked.pdf" not in seg(result)


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-256"])
def test_pdf_with_only_an_owner_password_is_read(algorithm: str) -> None:
    result = extract_file("restricted.pdf", encrypted_pdf("", algorithm))
    assert SSN in seg(result)["attachment:restricted.pdf"]


def test_pdf_without_text_is_an_image() -> None:
    data = pdf_bytes().replace(b"BT /F1 12 Tf 72 712 Td  ET", b"q Q                      ")
    assert notes(extract_file("scan.pdf", data)) == {("attachment:scan.pdf", "image")}


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("q1.pdf", pdf_bytes(f"SSN {SSN}")[:200]),
        ("q1.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 4),
        ("hr.docx", docx_bytes()[:3000]),
        ("pay.xlsx", xlsx_bytes()[:-30]),
        ("pay.xlsx", b"\x00\x01\x02 not a workbook \xff" * 10),
        ("a.zip", b"PK\x03\x04" + bytes(100)),
    ],
)
def test_corrupt_documents(name: str, data: bytes) -> None:
    result = extract_file(name, data)
    assert (f"attachment:{name}", "corrupt") in notes(result)


def test_corrupt_xml_inside_an_office_package() -> None:
    data = zip_bytes({"word/document.xml": b"<w:document xmlns:w='urn:w'><w:p><w:t>x</w:p>"})
    assert notes(extract_file("bad.docx", data)) == {("attachment:bad.docx", "corrupt")}


def test_entities_in_office_xml_are_not_expanded() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b"<w:document xmlns:w='urn:w'><w:p><w:t>&c;219</w:t></w:p></w:document>"
    )
    result = extract_file("ent.docx", zip_bytes({"word/document.xml": bomb}))
    assert len(seg(result).get("attachment:ent.docx", "")) < 100


def test_encrypted_office_file() -> None:
    cfb = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500) + "EncryptionInfo".encode("utf-16-le") + bytes(100)
    assert notes(extract_file("pay.xlsx", cfb)) == {("attachment:pay.xlsx", "encrypted")}
    legacy = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)
    assert notes(extract_file("old.doc", legacy)) == {("attachment:old.doc", "unsupported-format")}


@pytest.mark.parametrize(
    ("name", "ctype", "data", "reason"),
    [
        ("logo.png", "image/png", b"\x89PNG\r\n\x1a\n" + bytes(64), "image"),
        ("x.gif", "application/octet-stream", b"GIF89a" + bytes(64), "image"),
        ("raw.bmp", "image/bmp", b"BM" + bytes(64), "image"),
        ("blob.bin", "application/octet-stream", bytes(range(256)), "unknown-binary"),
        ("smime.p7s", "application/pkcs7-signature", b"\x30\x82\x05\x00" + bytes(64), "signature"),
        ("smime.p7m", "application/pkcs7-mime", b"\x30\x82\x05\x00" + bytes(64), "encrypted"),
        ("a.gz", "application/gzip", b"\x1f\x8b\x08\x00" + bytes(32), "unsupported-format"),
    ],
)
def test_unreadable_binaries(name: str, ctype: str, data: bytes, reason: str) -> None:
    raw = multipart("mixed", "b", text_part("hi"), attachment(name, data, ctype))
    assert notes(extract(raw)) == {(f"attachment:{name}", reason)}


def test_unknown_type_that_is_text_is_read() -> None:
    part = mime("Content-Type: application/x-custom", f"ssn {SSN}")
    result = extract(multipart("mixed", "b", text_part("hi"), part))
    assert seg(result)["attachment:part-2"] == f"ssn {SSN}"


# ---------------------------------------------------------------- names


def test_attachment_names_decoded_sanitized_unique() -> None:
    rfc2231 = mime(
        "Content-Type: text/plain\n"
        "Content-Disposition: attachment; filename*0*=UTF-8''%E2%82%AC%20rates;\n filename*1=.csv",
        "1",
    )
    rfc2047 = mime('Content-Type: text/plain; name="=?utf-8?q?Zo=C3=AB.txt?="', "2")
    slashed = mime("Content-Disposition: attachment; filename*=utf-8''..%2Fetc%5Cpass%0Dwd.txt", "3")
    twice = mime('Content-Disposition: attachment; filename="a.txt"', "4")
    unnamed = mime("Content-Type: application/x-thing", "5")
    forwarded = mime("Content-Type: message/rfc822", mime("Subject: inner", "6"))
    raw = multipart("mixed", "b", text_part("body"), rfc2231, rfc2047, slashed, twice, twice, unnamed, forwarded)
    names = set(seg(extract(raw)))
    assert names == {
        "subject", "body",
        "attachment:€ rates.csv", "attachment:Zoë.txt", "attachment:.._etc_pass_wd.txt",
        "attachment:a.txt", "attachment:a.txt#2", "attachment:part-7",
        "attachment:part-8.eml/subject", "attachment:part-8.eml/body",
    }


# ---------------------------------------------------------------- archives


def test_zip_members_and_nested_zip_naming() -> None:
    inner = zip_bytes({"march.csv": f"id,ssn\n1,{SSN}\n".encode()})
    outer = zip_bytes({
        "accounts/april.csv": b"id,acct\n2,555\n",
        "inner.zip": inner,
        "readme.txt": b"hello",
        "empty/": b"",
    })
    result = extract(multipart("mixed", "b", text_part("hi"), attachment("accounts.zip", outer)))
    assert seg(result) == {
        "subject": "s",
        "body": "hi",
        "attachment:accounts.zip/accounts_april.csv": "id,acct\n2,555\n",
        "attachment:accounts.zip/inner.zip/march.csv": f"id,ssn\n1,{SSN}\n",
        "attachment:accounts.zip/readme.txt": "hello",
    }
    assert result.unscannable == ()


def test_office_files_inside_a_zip() -> None:
    archive = zip_bytes({"hr.docx": docx_bytes(), "q1.pdf": pdf_bytes(f"SSN {SSN}")}, zipfile.ZIP_STORED)
    found = seg(extract_file("docs.zip", archive))
    assert SSN in found["attachment:docs.zip/hr.docx"]
    assert SSN in found["attachment:docs.zip/q1.pdf"]


def test_zip_nesting_stops_at_max_depth() -> None:
    data = zip_bytes({"deep.csv": SSN.encode()})
    for level in (4, 3, 2):
        data = zip_bytes({f"l{level}.zip": data, f"at{level}.csv": str(level).encode()})
    result = extract_file("l1.zip", data)
    assert seg(result)["attachment:l1.zip/l2.zip/l3.zip/at4.csv"] == "4"
    assert notes(result) == {("attachment:l1.zip/l2.zip/l3.zip/l4.zip", "too-deep")}
    shallow = extract_file("l1.zip", data, Limits(max_depth=1))
    assert notes(shallow) == {("attachment:l1.zip/l2.zip", "too-deep")}


def test_zip_member_count_limit() -> None:
    data = zip_bytes({f"m{i}.txt": b"x" for i in range(20)})
    result = extract_file("many.zip", data, Limits(max_members=5))
    assert len(result.segments) == 5
    assert notes(result) == {("attachment:many.zip", "too-many-members")}


def test_encrypted_zip_member() -> None:
    data = set_encrypted_flag(zip_bytes({"secret.csv": SSN.encode()}))
    result = extract_file("locked.zip", data)
    assert notes(result) == {("attachment:locked.zip/secret.csv", "encrypted")}
    assert result.segments == ()


def test_zip_bomb_is_refused_small() -> None:   # its time: benchmarks/linear
    bomb = zeros_zip(50 << 20)
    assert len(bomb) < 200_000
    raw = multipart("mixed", "b", text_part("hi"), attachment("bomb.zip", bomb))
    tracemalloc.start()
    result = extract(raw)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert notes(result) == {("attachment:bomb.zip/zeros.txt", "compression-ratio")}
    assert peak < 8 << 20


def test_zip_bomb_with_lying_sizes_is_caught_while_inflating() -> None:
    bomb = bytearray(zeros_zip(20 << 20))
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = bomb.find(signature)
        struct.pack_into("<I", bomb, size_at + at, 2 << 20)
    result = extract_file("liar.zip", bytes(bomb), Limits(max_ratio=10_000))
    assert notes(result) == {("attachment:liar.zip/zeros.txt", "corrupt")}
    ratio = extract_file("liar.zip", bytes(bomb))
    assert notes(ratio) == {("attachment:liar.zip/zeros.txt", "compression-ratio")}


def test_total_inflated_budget() -> None:
    data = zip_bytes({f"part{i}.txt": bytes([65 + i]) * 4000 for i in range(4)})
    result = extract_file("big.zip", data, Limits(max_inflated_bytes=9000, ratio_floor_bytes=1 << 30))
    assert set(seg(result)) == {"attachment:big.zip/part0.txt", "attachment:big.zip/part1.txt"}
    assert notes(result) == {
        ("attachment:big.zip/part2.txt", "too-large"),
        ("attachment:big.zip/part3.txt", "too-large"),
    }


# ---------------------------------------------------------------- attached messages


def test_rfc822_attachment_is_walked_under_its_name() -> None:
    forwarded = multipart(
        "mixed", "in",
        text_part(f"inner {SSN}"),
        attachment("x.csv", b"1,555-12-3456"),
        headers="Subject: =?utf-8?q?Fwd=3A_caf=C3=A9?=",
    )
    part = mime('Content-Type: message/rfc822; name="fwd.eml"\nContent-Disposition: attachment', forwarded)
    result = extract(multipart("mixed", "out", text_part("see below"), part))
    assert seg(result) == {
        "subject": "s",
        "body": "see below",
        "attachment:fwd.eml/subject": "Fwd: café",
        "attachment:fwd.eml/body": f"inner {SSN}",
        "attachment:fwd.eml/attachment:x.csv": "1,555-12-3456",
    }


def test_eml_file_and_message_in_zip() -> None:
    inner = mime("Subject: old", f"ssn {SSN}")
    result = extract_file("mail.zip", zip_bytes({"old.eml": inner}))
    assert seg(result)["attachment:mail.zip/old.eml/body"] == f"ssn {SSN}"


def test_rfc822_nesting_stops_at_max_depth() -> None:
    message = mime("Subject: 0", "deepest")
    for level in range(1, 6):
        message = multipart(
            "mixed", f"b{level}",
            text_part(f"level {level}"),
            mime(f'Content-Type: message/rfc822; name="m{level}.eml"', message),
            headers=f"Subject: {level}",
        )
    result = extract(message)
    assert seg(result)["attachment:m5.eml/attachment:m4.eml/attachment:m3.eml/body"] == "level 2"
    assert notes(result) == {
        ("attachment:m5.eml/attachment:m4.eml/attachment:m3.eml/attachment:m2.eml", "too-deep")
    }


# ---------------------------------------------------------------- malformed MIME


@pytest.mark.parametrize(
    ("raw", "body"),
    [
        # boundary parameter missing, or never used: the body is read as text
        (mime("Content-Type: multipart/mixed", f"text {SSN}"), f"text {SSN}"),
        (mime('Content-Type: multipart/mixed; boundary="zz"', f"text {SSN}"), f"text {SSN}"),
        # no close delimiter: a truncated message
        (mime('Content-Type: multipart/mixed; boundary="b"', f"--b\r\n\r\npart {SSN}"), f"part {SSN}"),
        # a boundary-like line that is not one
        (mime('Content-Type: multipart/mixed; boundary="b"', "--b\r\n\r\n--bx\r\n--b--"), "--bx"),
        # body right after headers without a blank line
        (b"Subject: s\r\nX-A: 1\r\n219-45-6789 not a header\r\nmore\r\n", f"{SSN} not a header\r\nmore\r\n".replace("\r\n", "\n")),
        # headers only
        (b"Subject: s\r\nContent-Type: text/plain", ""),
        # bare LF line endings, folded Content-Type
        (b"Subject: s\nContent-Type: multipart/mixed;\n boundary=q\n\n--q\n\nlf body\n--q--\n", "lf body"),
        # invalid content type means text/plain
        (mime("Content-Type: garbage", "plain"), "plain"),
        # binary garbage where text is expected: nothing readable, no failure
        (mime("Content-Type: text/plain; charset=utf-8", bytes(range(256))), None),
    ],
)
def test_malformed_mime_reads_what_it_can(raw: bytes, body: str | None) -> None:
    result = extract(raw)
    if body is not None:
        assert seg(result)["body"] == body


def test_multipart_nested_a_thousand_deep() -> None:
    depth = 1000
    head = "".join(
        f'--n{i}\r\nContent-Type: multipart/mixed; boundary="n{i + 1}"\r\n\r\n' for i in range(depth)
    )
    tail = "".join(f"\r\n--n{i}--" for i in reversed(range(depth)))
    raw = mime('Content-Type: multipart/mixed; boundary="n0"', head + f"--n{depth}\r\n\r\ndeep{tail}")
    result = extract(raw)   # its time: benchmarks/linear
    assert ("body", "too-deep") in notes(result)


def test_part_count_limit() -> None:
    raw = multipart("mixed", "b", *[text_part(str(i)) for i in range(50)])
    result = extract(raw, Limits(max_parts=10))
    assert seg(result)["body"] == "\n\n".join(str(i) for i in range(10))
    assert notes(result) == {("body", "too-many-members")}


def test_encrypted_message_bodies() -> None:
    pgp = multipart(
        "encrypted", "e",
        mime("Content-Type: application/pgp-encrypted", "Version: 1"),
        mime("Content-Type: application/octet-stream", "-----BEGIN PGP MESSAGE-----\r\nhQEM\r\n"),
    )
    assert notes(extract(pgp)) == {("body", "encrypted")}
    inline = mime("Content-Type: text/plain", "-----BEGIN PGP MESSAGE-----\r\nhQEM\r\n-----END PGP MESSAGE-----")
    assert notes(extract(inline)) == {("body", "encrypted")}


def test_text_budget_truncates() -> None:
    raw = multipart("mixed", "b", text_part("x" * 100), attachment("a.txt", b"y" * 100), attachment("b.txt", b"z"))
    result = extract(raw, Limits(max_text_chars=150))
    texts = seg(result)
    assert list(texts) == ["subject", "body", "attachment:a.txt"]
    assert texts["body"] == "x" * 100 and texts["attachment:a.txt"] == "y" * 49
    assert notes(result) == {("attachment:a.txt", "too-large"), ("attachment:b.txt", "too-large")}


def test_random_damage_never_raises() -> None:
    rng = random.Random(20240611)
    base = multipart(
        "mixed", "b",
        multipart("alternative", "a", text_part(f"plain {SSN}"), text_part("<p>x<b>1</b></p>", "text/html"), headers="X: 1"),
        attachment("a.zip", zip_bytes({"m.csv": SSN.encode(), "d.docx": docx_bytes()})),
        attachment("q.pdf", pdf_bytes(SSN)),
        mime("Content-Type: message/rfc822", mime("Subject: =?utf-8?b?4oKs?=", "inner")),
    )
    for _ in range(300):
        raw = bytearray(base)
        for _ in range(rng.randint(1, 8)):
            at = rng.randrange(len(raw))
            choice = rng.random()
            if choice < 0.4:
                raw[at] = rng.randrange(256)
            elif choice < 0.7:
                del raw[at : at + rng.randint(1, 400)]
            else:
                raw[at:at] = rng.choice([b"--b\r\n", b"\r\n\r\n", b"=?", b"<td>", b"PK\x03\x04", b"\x00" * 9])
        result = extract(bytes(raw[: rng.randint(1, len(raw))]))
        assert isinstance(result, Extraction)
        assert all(isinstance(note, Unscannable) and note.reason for note in result.unscannable)


# ---------------------------------------------------------------- size


def test_25_mb_message_stays_within_memory() -> None:   # its time: benchmarks/linear
    rng = random.Random(7)
    csv_rows = "".join(f"{i},{rng.randrange(10**9):09d},some text here\n" for i in range(200_000))
    csv = (csv_rows + f"last,{SSN}\n").encode()
    zipped = zip_bytes({"big.csv": csv, "again.csv": csv})
    noise = rng.randbytes(10 << 20)
    raw = multipart(
        "mixed", "big",
        text_part("see attached " * 800),
        attachment("rows.csv", csv),
        attachment("rows.zip", zipped),
        attachment("noise.bin", noise),
        attachment("doc.pdf", pdf_bytes(f"SSN {SSN}")),
    )
    assert len(raw) > 25 << 20
    del csv, csv_rows, zipped, noise
    tracemalloc.start()
    result = extract(raw)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    texts = seg(result)
    assert texts["attachment:rows.csv"].endswith(f"last,{SSN}\n")
    assert texts["attachment:rows.zip/again.csv"].endswith(f"last,{SSN}\n")
    assert SSN in texts["attachment:doc.pdf"]
    assert notes(result) == {("attachment:noise.bin", "unknown-binary")}
    assert peak < 150 << 20, peak


# ---------------------------------------------------------------- later additions


def test_repeated_names_keep_their_type() -> None:
    raw = multipart(
        "mixed", "b", text_part("hi"),
        attachment("q.pdf", pdf_bytes("first 111")), attachment("q.pdf", pdf_bytes("second 222")),
    )
    texts = seg(extract(raw))
    assert "111" in texts["attachment:q.pdf"] and "222" in texts["attachment:q.pdf#2"]


def test_files_embedded_in_office_documents() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx_bytes())) as source, zipfile.ZipFile(buf, "w") as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        target.writestr("word/embeddings/Microsoft_Excel_Worksheet.xlsx", xlsx_bytes())
    texts = seg(extract_file("chart.docx", buf.getvalue()))
    assert SSN in texts["attachment:chart.docx"]
    assert "219456789" in texts["attachment:chart.docx/Microsoft_Excel_Worksheet.xlsx"]


def test_zip_bomb_claiming_a_huge_compressed_size() -> None:
    bomb = bytearray(zeros_zip(50 << 20))
    at = bomb.find(b"PK\x01\x02")
    struct.pack_into("<I", bomb, at + 20, 0x7FFF0000)
    result = extract_file("claims.zip", bytes(bomb))   # its time: benchmarks/linear
    assert notes(result) == {("attachment:claims.zip/zeros.txt", "compression-ratio")}
