"""One message, read once: the edge's Message carries what every stage needs, and
the whole of a message's CPU work (actions.prepare: read, scan, decide, settle,
edit) splits its header block once, whatever the verdict."""

from __future__ import annotations

import pytest

from gateway import actions, config, headers, pipeline
from gateway.message import parse, received
from gateway.verdict import Action, Envelope

SSN = "219-45-6789"
STAGES = pipeline.Pipeline.from_settings(config.load(None))


def message(sender: str, subject: str, body: str, extra: str = "") -> bytes:
    return (f"From: {sender}\r\nTo: r@outside.example\r\nSubject: {subject}\r\n"
            f"Message-ID: <m1@citrus.example>\r\n{extra}MIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()


CASES = [
    ("clean", "clerk@citrus.example", "Statement", "Nothing to declare.", "", Action.DELIVER),
    ("statement", "clerk@pvestates.example", "Permit", "Nothing to declare.", "", Action.DISCLAIMER),
    ("purpose", "clerk@citrus.example", "Bill [purpose:collections]", f"SSN {SSN}", "", Action.DISCLAIMER),
    ("header purpose", "clerk@citrus.example", "Bill", f"SSN {SSN}", "X-DLP-Purpose: collections\r\n",
     Action.DISCLAIMER),
    ("quarantine", "clerk@citrus.example", "Bill", f"SSN {SSN}", "", Action.QUARANTINE),
    ("block", "clerk@lancaster.example", "Bill", f"SSN {SSN}", "", Action.BLOCK),
]


@pytest.mark.parametrize(("sender", "subject", "body", "extra", "action"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_a_message_s_header_block_is_split_once(monkeypatch: pytest.MonkeyPatch, sender: str, subject: str,
                                                body: str, extra: str, action: Action) -> None:
    splits: list[int] = []
    head_end = headers.head_end   # headers.split finds the end with it too

    def counted(content: bytes) -> int:
        splits.append(len(content))
        return head_end(content)

    monkeypatch.setattr(headers, "head_end", counted)
    envelope = Envelope(sender, ("r@outside.example",))
    prepared = actions.prepare(STAGES, envelope, message(sender, subject, body, extra))
    assert prepared.failure is None and prepared.verdict is not None
    assert prepared.verdict.action is action
    assert len(splits) == 1
    if action.delivers:
        assert prepared.body is not None and b"[purpose:" not in prepared.body
        assert b"X-DLP-Purpose" not in prepared.body and body.encode() in prepared.body
    else:
        assert prepared.body is None and prepared.subject == subject


def test_the_edge_reads_what_the_stages_need() -> None:
    raw = (b"X-DLP-Verdict: deliver\nMessage-ID:  <a@b> \nSubject: =?utf-8?q?caf=C3=A9?= [purpose:legal]\n"
           b"X-DLP-Purpose: collections\nContent-Type: multipart/signed; protocol=x; boundary=b\n\nbody\n")
    read = received(raw)
    assert read.raw.startswith(b"Message-ID:  <a@b> \r\n") and b"X-DLP-Verdict" not in read.raw
    assert read.message_id == "<a@b>" and read.subject == "café [purpose:legal]"
    assert read.purpose == "collections" and read.signed and read.dlp
    assert read.body == b"\r\nbody\r\n"


def test_a_redacted_body_keeps_the_reading_of_an_unchanged_header_block() -> None:
    first = parse(b"Subject: hi\r\n\r\nSSN 219-45-6789\r\n")
    same = first.with_raw(b"Subject: hi\r\n\r\nSSN ***-**-6789\r\n")
    assert same.fields == first.fields and same.body == b"\r\nSSN ***-**-6789\r\n"
    changed = first.with_raw(b"Subject: ho\r\n\r\nx\r\n")
    assert changed.subject == "ho"


def test_a_message_delivered_as_received_is_not_copied() -> None:
    data = message("clerk@citrus.example", "Statement", "Nothing to declare.")
    prepared = actions.prepare(STAGES, Envelope("clerk@citrus.example", ("r@outside.example",)), data)
    assert prepared.verdict is not None and prepared.verdict.action is Action.DELIVER
    assert prepared.message is not None and prepared.body is prepared.message.raw


@pytest.mark.parametrize(("sender", "subject", "body", "extra", "action"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_the_scan_process_sends_back_the_content_once(sender: str, subject: str, body: str, extra: str,
                                                      action: Action) -> None:
    data = message(sender, subject, body, extra)
    prepared = actions.prepare(STAGES, Envelope(sender, ("r@outside.example",)), data)
    shipped = prepared.shipped()
    assert shipped.verdict is not None and shipped.verdict.action is action
    assert shipped.size == prepared.size == len(data) and shipped.message_id == prepared.message_id
    assert shipped.body == prepared.body and shipped.subject == prepared.subject
    if action is Action.QUARANTINE:   # the store holds the message as received
        assert shipped.message is prepared.message
    else:
        assert shipped.message is None and shipped.verdict.redacted is None
