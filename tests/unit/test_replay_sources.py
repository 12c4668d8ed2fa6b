"""gateway.replay.sources: mbox split as Python's mailbox reads it, Maildir order,
the envelope a message implies, and what is refused as not a message."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage
from pathlib import Path

import pytest

from gateway.replay import sources


def message(n: int, body: str = "") -> EmailMessage:
    m = EmailMessage()
    m["From"] = f"clerk{n}@citrus.example"
    m["To"] = "resident@example.com"
    m["Subject"] = f"Message {n}"
    m.set_content(body or f"Hello {n}.\n")
    return m


def write_mbox(path: Path, messages: list[EmailMessage]) -> None:
    box = mailbox.mbox(path)
    for m in messages:
        box.add(m)
    box.close()


def read_all(refs: list[sources.Ref]) -> list[bytes]:
    reader = sources.Reader()
    try:
        return [reader.read(ref) for ref in refs]
    finally:
        reader.close()


BODIES = [
    "plain\n",
    "From the desk of the clerk\nFrom here on\n",   # mailbox quotes these as >From
    "",
    "x" * 5000 + "\n",
    "From\nFrom:\n  From \n",
]


@pytest.mark.parametrize("block", [7, 64, 1 << 20])
def test_mbox_split_matches_the_mailbox_module(tmp_path: Path, block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "_BLOCK", block)   # boundaries falling across blocks
    write_mbox(tmp_path / "a.mbox", [message(n, body) for n, body in enumerate(BODIES * 3)])
    refs = list(sources.refs(str(tmp_path / "a.mbox")))
    box = mailbox.mbox(tmp_path / "a.mbox")
    expected = [box.get_bytes(key) for key in box.keys()]
    box.close()
    got = read_all(refs)
    assert len(got) == len(expected) == len(BODIES) * 3
    # The split drops each message's last line end (the mbox separator), nothing else.
    assert [g.rstrip(b"\n") for g in got] == [e.rstrip(b"\n") for e in expected]
    assert [r.name for r in refs] == [f"{tmp_path / 'a.mbox'}#{n}" for n in range(1, len(got) + 1)]


def test_crlf_mbox_and_a_final_from_line_without_a_message(tmp_path: Path) -> None:
    (tmp_path / "b.mbox").write_bytes(b"From a Mon\r\nSubject: 1\r\n\r\nx\r\n\r\nFrom b Tue\r\nSubject: 2\r\n\r\ny\r\n"
                                      b"\r\nFrom c")
    assert read_all(list(sources.refs(str(tmp_path / "b.mbox")))) == [
        b"Subject: 1\r\n\r\nx\r\n", b"Subject: 2\r\n\r\ny\r\n", b""]


def test_maildir_in_name_order_new_and_cur(tmp_path: Path) -> None:
    box = mailbox.Maildir(tmp_path / "Maildir")
    keys = [box.add(message(n)) for n in range(5)]
    seen = mailbox.MaildirMessage(message(9))
    seen.set_subdir("cur")
    keys.append(box.add(seen))
    (tmp_path / "Maildir" / "new" / ".hidden").write_bytes(b"x")
    refs = list(sources.refs(str(tmp_path / "Maildir")))
    assert len(refs) == 6
    assert [Path(r.path).name.split(":")[0] for r in refs] == sorted(keys)
    assert {box.get_bytes(k) for k in keys} == set(read_all(refs))


def test_a_folder_of_eml_and_one_eml(tmp_path: Path) -> None:
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "b.eml").write_bytes(bytes(message(2)))
    (tmp_path / "d" / "sub" / "a.eml").write_bytes(bytes(message(1)))
    (tmp_path / "d" / "notes.txt").write_bytes(b"x")
    assert [r.name for r in sources.refs(str(tmp_path / "d"))] == [
        str(tmp_path / "d" / "b.eml"), str(tmp_path / "d" / "sub" / "a.eml")]
    [one] = sources.refs(str(tmp_path / "d" / "b.eml"))
    assert read_all([one]) == [bytes(message(2))]


def test_a_missing_source_is_one_line_naming_it(tmp_path: Path) -> None:
    with pytest.raises(sources.SourceError, match=rf"cannot read {tmp_path / 'nope'}: No such file"):
        list(sources.refs(str(tmp_path / "nope")))


@pytest.mark.parametrize("head, sender, recipients", [
    # Return-Path wins over From; Delivered-To and X-Original-To over To/Cc/Bcc
    (b"Return-Path: <bounce@citrus.example>\nFrom: Clerk <clerk@citrus.example>\nDelivered-To: a@x.example\n"
     b"X-Original-To: b@y.example\nTo: c@z.example\n", "bounce@citrus.example", ("a@x.example", "b@y.example")),
    # no Return-Path (or an empty one): From; no Delivered-To: To, Cc and Bcc, each once
    (b"Return-Path: <>\nFrom: Clerk <clerk@citrus.example>\nTo: A <a@x.example>, b@y.example\nCc: a@x.example\n"
     b"Bcc: c@z.example\n", "clerk@citrus.example", ("a@x.example", "b@y.example", "c@z.example")),
    # folded fields
    (b"From:\n Clerk <clerk@citrus.example>\nTo: a@x.example,\n\tb@y.example\n", "clerk@citrus.example",
     ("a@x.example", "b@y.example")),
    # nothing usable
    (b"Subject: hi\n", "", ()),
])
def test_envelope_from_the_message(head: bytes, sender: str, recipients: tuple[str, ...]) -> None:
    envelope = sources.envelope(head + b"\nbody\n")
    assert (envelope.mail_from, envelope.rcpt_tos) == (sender, recipients)


@pytest.mark.parametrize("content, reason", [
    (b"", "empty"),
    (b" \r\n\t\n", "empty"),
    (b"\x00\x01\x02\x03" * 100, "binary"),
    (b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)), "binary"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "no header block"),
    (b"hello world\n", "no header block"),
    (b"Dear: sir\n\nno known field\n", "no header block"),
    # messages, even odd ones
    (b"Subject: only a subject\n", None),
    (b"\r\nFrom: a@b.example\r\n\r\n", None),
    ("From: a@b.example\nSubject: caf\u00e9 \u00fcber\n\n\u00e9t\u00e9\n".encode("latin-1"), None),
])
def test_refusal(content: bytes, reason: str | None) -> None:
    assert sources.refusal(content) == reason
