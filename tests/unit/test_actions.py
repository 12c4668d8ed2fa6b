from __future__ import annotations

from gateway import edits, pipeline
from gateway.message import parse

ENVELOPE = pipeline.Envelope("a@citrus.example", ("b@example.com",), "127.0.0.1", "mta.example")
TRACE = edits.Trace("ABC123", "gw.example", "ESMTP")


def test_outgoing_prepends_headers_and_keeps_every_byte() -> None:
    content = b"Subject: x\r\n\r\n\xff\xfe body\r\n.\r\n"
    verdict = pipeline.decide(ENVELOPE, ())
    out = edits.outgoing(content, ENVELOPE, verdict, TRACE)
    assert out.endswith(content)
    head = out[: -len(content)]
    assert head.startswith(b"Received: from mta.example ([127.0.0.1])\r\n\tby gw.example (dlp-gateway)"
                           b" with ESMTP id ABC123\r\n\tfor <b@example.com>;")
    assert head.endswith(b"X-DLP-Verdict: deliver; profile=citrus-water\r\n")


def test_received_header_neutralises_hostile_helo() -> None:
    envelope = pipeline.Envelope("a@x", ("b@y", "c@z"), "::1", "evil\r\nBcc: x@y <script>")
    header = edits.received_header(envelope, TRACE)
    assert header.count(b"\r\n") == 3 and b"Bcc: " not in header and b"<script>" not in header
    assert b"for <" not in header  # several recipients: none named


def test_message_id_from_headers_only() -> None:
    assert parse(b"From: a\r\nMessage-Id: <1@x>\r\n\r\nbody").message_id == "<1@x>"
    assert parse(b"From: a\r\n\r\nMessage-ID: <in-body@x>\r\n").message_id is None
    assert parse(b"").message_id is None
