"""Values of the chosen entities are masked in visible bodies, and nothing else changes."""

from __future__ import annotations

import base64
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest

from detectors.engine import default_detector
from gateway.disclaimer import CITRUS, wrap
from gateway.redact import redact

DETECTOR = default_detector()
SSN, SSN_MASKED = "219-45-6789", "***-**-6789"
CARD, CARD_MASKED = "4111-1111-1111-1111", "****-****-****-1111"
PHONE, PHONE_MASKED = "213-555-0142", "***-***-0142"
ALL = frozenset({"US_SSN", "CREDIT_CARD", "PHONE_NUMBER"})
SSN_ONLY = frozenset({"US_SSN"})

HEAD = b"From: clerk@citrus.example\r\nTo: r@example.com\r\nSubject: refund\r\nMIME-Version: 1.0\r\n"


def parsed(content: bytes) -> EmailMessage:
    message = message_from_bytes(content, policy=default)
    assert isinstance(message, EmailMessage)
    return message


def bodies(content: bytes) -> list[tuple[str, str]]:
    """(content type, text) of each visible body, attached messages left out."""
    out: list[tuple[str, str]] = []
    inside_attached: set[int] = set()
    for part in parsed(content).walk():
        if part.get_content_maintype() == "message":
            inside_attached.update(id(p) for p in part.walk() if p is not part)
        if (part.get_content_type() in ("text/plain", "text/html") and not part.is_attachment()
                and id(part) not in inside_attached):
            text = part.get_content()
            assert isinstance(text, str)
            out.append((part.get_content_type(), text))
    return out


def redacted(content: bytes, entities: frozenset[str] = SSN_ONLY) -> list[tuple[str, str]]:
    """The bodies of the redacted message, each checked to hold no raw SSN."""
    found = bodies(redact(content, DETECTOR, entities))
    assert found
    for kind, text in found:
        assert SSN not in text, kind
    return found


def part(ctype: str, body: bytes, extra: bytes = b"") -> bytes:
    return b"Content-Type: " + ctype.encode() + b"\r\n" + extra + b"\r\n" + body


def multipart(subtype: str, *parts: bytes, boundary: str = "b") -> bytes:
    head = f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'.encode()
    delimiter = b"--" + boundary.encode()
    return head + b"".join(delimiter + b"\r\n" + p + b"\r\n" for p in parts) + delimiter + b"--\r\n"


def b64(text: str, charset: str = "utf-8") -> bytes:
    return base64.encodebytes(text.encode(charset)).replace(b"\n", b"\r\n")


PLAIN = HEAD + part("text/plain; charset=utf-8", f"Café: SSN {SSN}\r\n".encode(),
                    b"Content-Transfer-Encoding: 8bit\r\n")
# The value crosses a soft line break: it is found in the decoded text.
LATIN1_QP = HEAD + part("text/plain; charset=iso-8859-1",
                        b"Caf=E9 cr=E8me, SSN 219-45-=\r\n6789 ok\r\n",
                        b"Content-Transfer-Encoding: quoted-printable\r\n")
BASE64 = HEAD + part("text/plain; charset=utf-8", b64(f"Crème brûlée\r\nSSN {SSN}\r\nthanks\r\n"),
                     b"Content-Transfer-Encoding: base64\r\n")
HTML = HEAD + part("text/html; charset=utf-8",
                   f"<table><tr><td>SSN</td><td>{SSN}</td></tr></table>\r\n".encode())
ALTERNATIVE = HEAD + multipart(
    "alternative",
    part("text/plain; charset=utf-8", f"SSN {SSN}".encode()),
    part("text/html; charset=utf-8", b64(f"<p>SSN <b>{SSN}</b></p>"), b"Content-Transfer-Encoding: base64\r\n"),
)
NESTED = HEAD + multipart(
    "mixed",
    multipart("alternative", part("text/plain", f"SSN {SSN}".encode()),
              part("text/html", f"<div>SSN {SSN}</div>".encode()), boundary="inner"),
    part("text/plain; charset=us-ascii", f"Second note {SSN}".encode(), b"Content-Disposition: inline\r\n"),
    boundary="outer",
)


# each visible body, in its own charset and transfer encoding
@pytest.mark.parametrize(("content", "count"), [
    (PLAIN, 1), (LATIN1_QP, 1), (BASE64, 1), (HTML, 1), (ALTERNATIVE, 2), (NESTED, 3),
], ids=["plain-utf8", "latin1-quoted-printable", "base64", "html-td", "alternative", "nested"])
def test_every_visible_body_is_masked(content: bytes, count: int) -> None:
    found = redacted(content)
    assert len(found) == count
    assert all(SSN_MASKED in text for _, text in found), found
    original = bodies(content)
    for (_, before), (_, after) in zip(original, found):
        assert after == before.replace(SSN, SSN_MASKED)


def test_html_value_in_a_cell() -> None:
    [(_, text)] = redacted(HTML)
    assert f"<td>{SSN_MASKED}</td>" in text


def test_plain_8bit_changes_only_the_value() -> None:
    assert redact(PLAIN, DETECTOR, SSN_ONLY) == PLAIN.replace(SSN.encode(), SSN_MASKED.encode())


@pytest.mark.parametrize("content", [LATIN1_QP, BASE64, ALTERNATIVE], ids=["quoted-printable", "base64", "alternative"])
def test_charset_transfer_encoding_and_headers_are_kept(content: bytes) -> None:
    out = redact(content, DETECTOR, SSN_ONLY)
    before, after = parsed(content), parsed(out)
    assert [(p.get_content_type(), p.get_content_charset(), p.get("Content-Transfer-Encoding"))
            for p in before.walk()] == [(p.get_content_type(), p.get_content_charset(),
                                         p.get("Content-Transfer-Encoding")) for p in after.walk()]
    assert out.split(b"\r\n\r\n", 1)[0] == content.split(b"\r\n\r\n", 1)[0]
    assert b"\n" not in out.replace(b"\r\n", b"")  # CRLF stays CRLF, base64 lines too


def test_latin1_text_is_still_latin1() -> None:
    out = redact(LATIN1_QP, DETECTOR, SSN_ONLY)
    [(_, text)] = bodies(out)
    assert text.startswith("Café crème, SSN ***-**-6789")
    assert b"Caf=E9 cr=E8me" in out


def test_everything_but_the_redacted_body_stays_byte_for_byte() -> None:
    body = f"Hello,\r\nSSN {SSN}\r\n".encode()
    attached = f"Subject: old\r\n\r\nSSN {SSN}\r\n".encode()
    before = (b"From: clerk@citrus.example\r\n"
              b"References: " + b" ".join(b"<id%d@citrus.example>" % i for i in range(8)) + b"\r\n"
              b"X-Folded: one\r\n\ttwo\r\n"
              b'Content-Type: multipart/mixed; boundary="m"\r\n\r\n'
              b"preamble\r\n--m  \r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
    after = (b"\r\n--m\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\n"
             + f"SSN {SSN}".encode() + b"\r\n--m\r\nContent-Type: message/rfc822\r\n\r\n" + attached
             + b"\r\n--m--\r\nepilogue\r\n")
    out = redact(before + body + after, DETECTOR, SSN_ONLY)
    assert out == before + body.replace(SSN.encode(), SSN_MASKED.encode()) + after
    [(_, text)] = bodies(out)
    assert SSN_MASKED in text and SSN not in text


def test_attachment_is_untouched() -> None:
    attachment = (b"Content-Type: text/plain; name=a.txt\r\nContent-Disposition: attachment; filename=a.txt\r\n"
                  b"Content-Transfer-Encoding: base64\r\n\r\n" + b64(f"SSN {SSN}"))
    content = HEAD + multipart("mixed", part("text/plain", f"see attached, SSN {SSN}".encode()), attachment)
    out = redact(content, DETECTOR, SSN_ONLY)
    [(_, text)] = bodies(out)
    assert SSN_MASKED in text and SSN not in text
    assert attachment in out
    [attached] = [p for p in parsed(out).walk() if p.is_attachment()]
    assert attached.get_content() == f"SSN {SSN}"


# only the chosen entities
@pytest.mark.parametrize(("entities", "masked", "kept"), [
    (SSN_ONLY, [SSN_MASKED], [PHONE, CARD]),
    (frozenset({"PHONE_NUMBER"}), [PHONE_MASKED], [SSN, CARD]),
    (ALL, [SSN_MASKED, PHONE_MASKED, CARD_MASKED], []),
    (frozenset({"US_EIN"}), [], [SSN, PHONE, CARD]),
])
def test_only_the_chosen_entities_are_masked(entities: frozenset[str], masked: list[str], kept: list[str]) -> None:
    content = HEAD + part("text/plain", f"SSN {SSN}, call {PHONE}, card {CARD}\r\n".encode())
    [(_, text)] = bodies(redact(content, DETECTOR, entities))
    assert all(value in text for value in masked + kept), text
    raw = {SSN_MASKED: SSN, PHONE_MASKED: PHONE, CARD_MASKED: CARD}
    assert all(raw[value] not in text for value in masked)


def test_neighbouring_values_each_keep_their_masked_form() -> None:
    content = HEAD + part("text/plain", b"SSNs 219-45-6789 219-45-6781\r\n")
    [(_, text)] = redacted(content)
    assert "***-**-6789 ***-**-6781" in text


SIGNED = HEAD + (b'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; '
                 b'micalg=sha-256; boundary="s"\r\n\r\n'
                 b"--s\r\nContent-Type: text/plain\r\n\r\n" + f"SSN {SSN}".encode() + b"\r\n"
                 b"--s\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n"
                 b"Content-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHAqCAMIACAQEx\r\n--s--\r\n")
INLINE_PGP = HEAD + part("text/plain", b"-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA256\r\n\r\n"
                         + f"SSN {SSN}".encode() + b"\r\n-----BEGIN PGP SIGNATURE-----\r\nx\r\n"
                         b"-----END PGP SIGNATURE-----\r\n")
ENVELOPED = HEAD + part("application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m",
                        b"MIAGCSqGSIb3DQEHA6CAMIACAQAx\r\n", b"Content-Transfer-Encoding: base64\r\n")


# signed: the signature would break, so the caller decides
@pytest.mark.parametrize("content", [SIGNED, INLINE_PGP, ENVELOPED], ids=["multipart-signed", "inline-pgp", "pkcs7-mime"])
def test_a_signed_message_is_unchanged(content: bytes) -> None:
    assert redact(content, DETECTOR, ALL) == content


def test_a_signed_part_inside_a_wrapper_is_unchanged() -> None:
    wrapped = wrap(SIGNED, CITRUS)
    out = redact(wrapped, DETECTOR, ALL)
    assert out == wrapped
    assert any(SSN in text for _, text in bodies(out))


def test_the_charset_falls_back_to_utf8_only_when_the_text_cannot_be_encoded() -> None:
    # A stray byte decodes (escaped) but cannot be written back in UTF-32.
    data = f"SSN {SSN}\r\n".encode("utf-32") + b"\xff"
    content = HEAD + part("text/plain; charset=utf-32", base64.encodebytes(data).replace(b"\n", b"\r\n"),
                          b"Content-Transfer-Encoding: base64\r\n")
    out = redact(content, DETECTOR, SSN_ONLY)
    message = parsed(out)
    assert message.get_content_charset() == "utf-8"
    assert message["Content-Transfer-Encoding"] == "base64"
    [(_, text)] = bodies(out)
    assert text.startswith(f"SSN {SSN_MASKED}") and SSN not in text


def nested(depth: int, inner: bytes) -> bytes:
    for level in range(depth):
        inner = multipart("mixed", inner, boundary=f"n{level}")
    return inner


# never raises; what cannot be read is sent as received
@pytest.mark.parametrize("content", [
    b"",
    b"\x00\xff\xfe\r\n\r\n\x80",
    HEAD + b'Content-Type: multipart/mixed; boundary="x"\r\n\r\nno delimiter, SSN 219-45-6789\r\n',
    HEAD + b"Content-Type: text/plain; charset=x-no-such-charset\r\n\r\nSSN 219-45-6789\r\n",
    HEAD + b"Content-Type: text/plain; charset=utf-16\r\nContent-Transfer-Encoding: base64\r\n\r\nAA==\r\n",
    HEAD + b"Content-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nSSN 219-45-6789\r\n",
    HEAD + b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!\r\n",
    HEAD + nested(40, b"Content-Type: text/plain\r\n\r\nSSN 219-45-6789"),
], ids=["empty", "binary", "no-delimiter", "unknown-charset", "truncated-utf16",
        "unknown-encoding", "broken-base64", "too-deep"])
def test_malformed_input_is_returned_as_received(content: bytes) -> None:
    assert redact(content, DETECTOR, ALL) == content


@pytest.mark.parametrize("content", [
    HEAD + b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n\r\nSSN 219-45-6789\r\n',
    b"SSN 219-45-6789\r\n",
    HEAD + nested(20, b"Content-Type: text/plain\r\n\r\nSSN 219-45-6789"),
], ids=["truncated-multipart", "no-header", "deep-but-allowed"])
def test_lenient_structures_are_still_redacted(content: bytes) -> None:
    [(_, text)] = redacted(content)
    assert SSN_MASKED in text


@pytest.mark.parametrize("content", [
    HEAD + part("text/plain", b"Your refund is on its way.\r\n"),
    HEAD + multipart("alternative", part("text/plain", b"Hello"), part("text/html", b"<p>Hello</p>")),
    PLAIN,
], ids=["plain", "alternative", "no-chosen-entity"])
def test_a_message_without_findings_is_identical(content: bytes) -> None:
    entities = frozenset({"US_EIN"}) if content is PLAIN else ALL
    assert redact(content, DETECTOR, entities) == content
    assert bodies(content)
