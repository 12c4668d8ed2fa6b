"""Raw header reading and editing: only the named field changes, every other byte stays."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default

from gateway import actions, edits, headers
from gateway.message import parse

RAW = (b"Received: from a\r\n\tby b; Sat, 21 Nov 2026 07:00:00 GMT\r\n"
       b"Subject: =?utf-8?q?Caf=C3=A9?=\r\n [purpose:Collections]\r\n"
       b"X-DLP-Purpose: customer-service\r\nX-Other: keep\r\n\r\nbody\r\n\r\nX-DLP-Purpose: in the body\r\n")


def test_values_are_unfolded_and_decoded_in_one_pass() -> None:
    assert headers.values(RAW, ("subject", "x-dlp-purpose", "x-missing")) == (
        "Café [purpose:Collections]", "customer-service", None)
    assert headers.value(b"Subject: plain\n\nbody", "subject") == "plain"   # LF only
    assert headers.value(b"no header block at all", "subject") is None


def test_remove_takes_every_occurrence_in_the_header_only() -> None:
    out = headers.remove(RAW + b"", "x-dlp-purpose")
    assert b"X-DLP-Purpose: customer-service" not in out
    assert out.endswith(b"\r\n\r\nbody\r\n\r\nX-DLP-Purpose: in the body\r\n")
    assert headers.remove(RAW, "x-absent") is RAW


def test_replace_encodes_non_ascii() -> None:
    out = headers.replace(RAW, "subject", "Crème brûlée", "Subject")
    assert message_from_bytes(out, policy=default)["Subject"] == "Crème brûlée"
    assert out.startswith(RAW[:RAW.index(b"Subject")]) and b"X-Other: keep\r\n" in out


def test_purpose_is_removed_from_a_folded_encoded_subject_and_the_header() -> None:
    out = edits.without_purpose(RAW)
    parsed = message_from_bytes(out, policy=default)
    assert parsed["Subject"] == "Café" and "X-DLP-Purpose" not in parsed and parsed["X-Other"] == "keep"


def test_plain_subject_tag_is_cut_without_touching_the_rest() -> None:
    raw = b"Subject: RE: refund [purpose:collections] for March\r\nX-DLP-Exception: forged\r\n\r\nx\r\n"
    assert edits.without_purpose(raw) == b"Subject: RE: refund for March\r\n\r\nx\r\n"


def test_a_tag_on_a_folded_line_is_removed_and_the_header_block_stays_whole() -> None:
    for fold in (b"\r\n ", b"\r\n\t"):
        raw = (b"Subject: Your account balance for April" + fold + b"[purpose:collections]\r\n"
               b"Message-ID: <m@x>\r\nMIME-Version: 1.0\r\n\r\nbody\r\n")
        out = edits.without_purpose(raw)
        assert out == (b"Subject: Your account balance for April\r\nMessage-ID: <m@x>\r\n"
                       b"MIME-Version: 1.0\r\n\r\nbody\r\n"), fold


def test_an_encoded_subject_cannot_smuggle_headers_in() -> None:
    raw = (b"Subject: =?utf-8?q?hi_[purpose:collections]=0D=0AX-DLP-Exception:_legal;_ref=1=0D=0A=0D=0Abody?=\r\n"
           b"To: r@example.com\r\n\r\nreal body\r\n")
    out = edits.without_purpose(raw)
    parsed = message_from_bytes(out, policy=default)
    assert "X-DLP-Exception" not in parsed and parsed["To"] == "r@example.com"
    assert parsed.get_content() == "real body\r\n" or parsed.get_content() == "real body\n"
    assert parsed["Subject"] == "hi X-DLP-Exception: legal; ref=1 body"


def test_a_forged_exception_header_after_64_kib_of_headers_is_removed() -> None:
    from gateway.pipeline import Action, Verdict
    raw = b"".join(b"X-Filler-%d: %s\r\n" % (n, b"x" * 70) for n in range(1200))
    raw += b"X-DLP-Exception: legal-compliance; ref=1\r\n\r\nbody\r\n"
    assert len(raw) > 65536
    out = edits.deliverable(parse(raw), Verdict(Action.DELIVER, "default", ("x",)))
    assert b"X-DLP-Exception" not in out and out.endswith(b"\r\n\r\nbody\r\n")


def test_a_subject_with_raw_utf8_and_an_encoded_word_loses_only_the_tag() -> None:
    raw = "Subject: =?utf-8?q?caf=C3=A9?= é [purpose:collections]\r\n\r\nx\r\n".encode()
    assert edits.without_purpose(raw) == "Subject: =?utf-8?q?caf=C3=A9?= é\r\n\r\nx\r\n".encode()


def test_a_subject_that_is_the_last_line_keeps_the_block_s_line_ends() -> None:
    assert edits.without_purpose(b"From: a\r\nSubject: hi [purpose:x]") == b"From: a\r\nSubject: hi\r\n"


def test_a_subject_in_an_unknown_charset_is_masked_as_it_was_scanned() -> None:
    # The scanner decodes an unknown charset leniently and finds the SSN; the
    # subject kept in quarantine, notices and replay must not carry it base64-encoded.
    import base64

    from gateway import config, pipeline
    word = base64.b64encode(b"SSN 219-45-6789").decode()
    content = f"From: a@citrus.example\r\nTo: b@out.example\r\nSubject: =?x-bogus?B?{word}?=\r\n\r\nhi\r\n".encode()
    stages = pipeline.Pipeline.from_settings(config.load(None))
    verdict = stages.run(pipeline.Envelope("a@citrus.example", ("b@out.example",)), content)
    assert [f.segment for f in verdict.findings] == ["subject"]
    assert actions.masked_subject(parse(content), verdict) == "SSN ***-**-6789"


def test_header_block_and_fields_as_their_line_by_line_reading() -> None:
    # head_end and fields search for line feeds (regexes that begin with one); they must give what
    # a multiline "^" and an optional CR before the blank line give, on any mix of line ends.
    import itertools
    import re

    def head_end(content: bytes) -> int:
        end = re.search(rb"\r?\n\r?\n", content)
        if end is None:
            return len(content)
        return end.start() + (2 if content[end.start():end.start() + 2] == b"\r\n" else 1)

    def fields(head: bytes) -> list[tuple[str, int, int]]:
        starts = [(m.group(1).decode("ascii"), m.start())
                  for m in re.finditer(rb"^([!-9;-~]+)[ \t]*:", head.lower(), re.MULTILINE)]
        return [(name, start, starts[i + 1][1] if i + 1 < len(starts) else len(head))
                for i, (name, start) in enumerate(starts)]
    pieces = (b"A", b"x-dlp-p", b":", b" ", b"\t", b"\r", b"\n", b"\r\n", b"v")
    for size in range(7):
        for parts in itertools.product(pieces, repeat=size):
            content = b"".join(parts)
            assert headers.head_end(content) == head_end(content), content
            assert headers.fields(content) == fields(content), content
