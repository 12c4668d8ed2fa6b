"""The statement is appended once to every visible body, and messages still parse."""

from __future__ import annotations

import base64
import quopri
from email import message_from_bytes
from email.message import Message
from email.policy import compat32

import pytest

from gateway.disclaimer import CITRUS, append

HEAD = b"From: clerk@citrus.example\r\nTo: r@example.com\r\nSubject: refund\r\nMIME-Version: 1.0\r\n"


def bodies(content: bytes) -> list[tuple[str, str]]:
    message = message_from_bytes(content, policy=compat32)
    out = []
    for part in message.walk():
        if part.get_content_type() in ("text/plain", "text/html"):
            raw = part.get_payload(decode=True)
            assert isinstance(raw, bytes)
            out.append((part.get_content_type(), raw.decode(part.get_content_charset() or "us-ascii")))
    return out


def once(text: str) -> bool:
    return " ".join(text.split()).count(" ".join(CITRUS.split())) == 1


PLAIN = HEAD + b"Content-Type: text/plain; charset=us-ascii\r\n\r\nYour refund is on its way.\r\n"
HTML = (HEAD + b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><body><p>Your refund &amp; credit.</p></BODY></html>\r\n")
ALTERNATIVE = (HEAD + b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
               b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n"
               b"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hello</p>\r\n--b--\r\n")
LATIN1 = (HEAD + b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
          b"Caf\xe9 cr\xe8me\r\n")
QP = (HEAD + b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
      + quopri.encodestring("Café — long line ".encode() * 10) + b"\r\n")
B64 = (HEAD + b"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
       + base64.encodebytes("<body>Crème brûlée</body>".encode()).replace(b"\n", b"\r\n"))


@pytest.mark.parametrize("content", [PLAIN, HTML, ALTERNATIVE, LATIN1, QP, B64],
                         ids=["plain", "html", "alternative", "latin-1", "quoted-printable", "base64"])
def test_statement_once_in_every_text_part(content: bytes) -> None:
    out = append(content, CITRUS)
    found = bodies(out)
    assert found and all(once(text) for _, text in found), found
    original = dict(bodies(content))
    for kind, text in found:  # the original text is still there
        assert original[kind].strip()[:12] in text


def test_html_statement_is_inside_body_and_escaped() -> None:
    [(_, text)] = bodies(append(HTML, "Private & <confidential>"))
    assert "<p>Private &amp; &lt;confidential&gt;</p></BODY>" in text


def test_charset_and_encoding_are_kept() -> None:
    message: Message = message_from_bytes(append(LATIN1, CITRUS), policy=compat32)
    assert message.get_content_charset() == "iso-8859-1"
    assert "Café crème" in bodies(append(LATIN1, CITRUS))[0][1]
    for source in (QP, B64):
        encoding = message_from_bytes(append(source, CITRUS), policy=compat32)["Content-Transfer-Encoding"]
        assert encoding == message_from_bytes(source, policy=compat32)["Content-Transfer-Encoding"]


def test_a_reply_that_already_carries_the_statement_is_unchanged() -> None:
    once_done = append(PLAIN, CITRUS)
    assert append(once_done, CITRUS) == once_done


def test_attachments_are_not_touched() -> None:
    content = (HEAD + b'Content-Type: multipart/mixed; boundary="m"\r\n\r\n'
               b"--m\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
               b"--m\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\n"
               b"data\r\n--m--\r\n")
    found = bodies(append(content, CITRUS))
    assert once(found[0][1]) and found[1][1].strip() == "data"


def test_a_signed_message_is_wrapped_not_broken() -> None:
    signed_part = (b'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; '
                   b'micalg=sha-256; boundary="s"\r\n')
    body = (b"--s\r\nContent-Type: text/plain\r\n\r\nSigned text\r\n"
            b"--s\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHAqCAMIACAQEx\r\n--s--\r\n")
    content = HEAD + signed_part + b"\r\n" + body
    out = append(content, CITRUS)
    message = message_from_bytes(out, policy=compat32)
    assert message.get_content_type() == "multipart/mixed"
    first, second = message.get_payload()  # type: ignore[misc]
    assert once(first.get_payload())
    assert second.get_content_type() == "multipart/signed"
    assert body.rstrip(b"\r\n") in out  # the signed entity byte for byte
    assert message["Subject"] == "refund" and message["From"] == "clerk@citrus.example"


def test_a_signed_part_inside_a_multipart_is_wrapped_too() -> None:
    signed = (b'--s\r\nContent-Type: text/plain\r\n\r\nSigned text\r\n--s\r\n'
              b"Content-Type: application/pkcs7-signature\r\n\r\nMIAGCSqGSIb3DQEHAqCAMIACAQEx\r\n--s--\r\n")
    content = (HEAD + b'Content-Type: multipart/mixed; boundary="m"\r\n\r\n--m\r\n'
               b'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; boundary="s"\r\n\r\n'
               + signed + b"--m--\r\n")
    out = append(content, CITRUS)
    assert signed.rstrip(b"\r\n") in out and b"Signed text\r\n--s" in out
    assert message_from_bytes(out, policy=compat32).get_content_type() == "multipart/mixed"
    assert once(bodies(out)[0][1])


def test_an_attached_message_is_passed_on_untouched() -> None:
    inner = b"From: x@example.com\r\nSubject: fwd\r\n\r\nInner text\r\n"
    content = (HEAD + b'Content-Type: multipart/mixed; boundary="m"\r\n\r\n'
               b"--m\r\nContent-Type: text/plain\r\n\r\nSee below\r\n"
               b"--m\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"--m--\r\n")
    found = bodies(append(content, CITRUS))
    assert once(found[0][1]) and found[1][1].strip() == "Inner text"


def test_a_message_without_a_text_body_gets_the_statement_as_its_first_part() -> None:
    content = HEAD + b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n"
    out = append(content, CITRUS)
    assert [kind for kind, _ in bodies(out)] == ["text/plain"] and once(bodies(out)[0][1])
    assert b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=" in out


def test_a_plain_message_keeps_every_byte_and_gains_only_the_statement() -> None:
    head = (b"From : odd spacing <clerk@citrus.example>\r\nReferences: <a@b>\r\n <c@d>\r\n"
            b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n")
    content = head + b"\r\nCaf\xe9\r\n\r\n"
    out = append(content, CITRUS)
    assert out == head + b"\r\nCaf\xe9\r\n\r\n" + CITRUS.encode() + b"\r\n"
    assert append(out, CITRUS) == out


def test_a_message_that_is_one_text_attachment_is_wrapped_not_edited() -> None:
    content = (HEAD + b"Content-Type: text/plain; name=data.csv\r\n"
               b"Content-Disposition: attachment; filename=data.csv\r\n\r\na,b\r\n1,2\r\n")
    out = append(content, CITRUS)
    assert b"a,b\r\n1,2" in out and CITRUS.encode() not in out.split(b"a,b")[1]
    message = message_from_bytes(out, policy=compat32)
    assert message.get_content_type() == "multipart/mixed" and once(bodies(out)[0][1])
