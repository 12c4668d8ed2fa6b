"""dlp-gateway scan over files, folders, mbox, Maildir and stdin; dlp-gateway edm import."""

from __future__ import annotations

import json
import mailbox
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PLAIN = (b"From: Clerk <clerk@citrus.example>\r\nTo: resident@example.com\r\nCc: x@citrus.example\r\n"
         b"Subject: your refund\r\n\r\nSSN 219-45-6789 and Visa 4111 1111 1111 1111.\r\n")
CLEAN = b"From: a@citrus.example\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nCall (213) 555-2368.\r\n"


def scan(*args: str, stdin: bytes | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "gateway.cli", "scan", *args], input=stdin,
                          capture_output=True, cwd=cwd, timeout=120)


def lines(result: subprocess.CompletedProcess[bytes]) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.stdout.decode().splitlines()]


def test_scan_a_folder_in_order_with_masked_values(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a.eml").write_bytes(PLAIN)
    (tmp_path / "b" / "c.eml").write_bytes(CLEAN)
    (tmp_path / "notes.txt").write_bytes(PLAIN)  # not an .eml: not scanned in a folder
    result = scan(str(tmp_path))
    assert result.returncode == 0, result.stderr
    first, second = lines(result)
    assert first["file"].endswith("a.eml") and second["file"].endswith("c.eml")
    assert first["verdict"] == {"action": "quarantine", "profile": "citrus-water", "purpose": None,
                                "reasons": ["found CREDIT_CARD, US_SSN"]}
    assert second["verdict"]["action"] == "deliver"  # a phone number alone is not sensitive
    findings = first["findings"]
    assert [(f["entity"], f["segment"], f["masked"]) for f in findings] == [
        ("US_SSN", "body", "***-**-6789"), ("CREDIT_CARD", "body", "**** **** **** 1111")]
    assert all("value" not in f for f in findings)
    assert b"219-45-6789" not in result.stdout + result.stderr
    assert [f["entity"] for f in second["findings"]] == ["PHONE_NUMBER"]
    assert (b"2 messages scanned, 1 with sensitive findings, 1 with non-sensitive findings only"
            in result.stderr)


def test_reveal_and_offsets(tmp_path: Path) -> None:
    (tmp_path / "a.eml").write_bytes(PLAIN)
    [record] = lines(scan(str(tmp_path / "a.eml"), "--reveal"))
    body = "SSN 219-45-6789 and Visa 4111 1111 1111 1111.\r\n"
    for finding in record["findings"]:
        assert body[finding["start"]:finding["end"]] == finding["value"]


def test_stdin(tmp_path: Path) -> None:
    [record] = lines(scan("-", stdin=PLAIN))
    assert record["file"] == "-" and len(record["findings"]) == 2


def test_unreadable_input_is_named_and_exit_is_nonzero(tmp_path: Path) -> None:
    (tmp_path / "a.eml").write_bytes(CLEAN)
    result = scan(str(tmp_path / "a.eml"), str(tmp_path / "missing.eml"))
    assert result.returncode == 1
    assert len(lines(result)) == 1
    assert f"cannot read {tmp_path / 'missing.eml'}".encode() in result.stderr


def test_edm_import_then_scan_finds_listed_accounts_without_context(tmp_path: Path) -> None:
    (tmp_path / "accounts.csv").write_text("name,account\nA,0099887766\nB,12-3456-7890\n")
    imported = subprocess.run([sys.executable, "-m", "gateway.cli", "edm", "import", "accounts.csv",
                               "--column", "account", "--utility", "City Water", "--data-dir", "var"],
                              capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert imported.returncode == 0, imported.stderr
    assert "2 new account hashes" in imported.stdout
    stored = b"".join(p.read_bytes() for p in (tmp_path / "var").iterdir())
    assert b"0099887766" not in stored and b"1234567890" not in stored
    message = CLEAN.replace(b"Call (213) 555-2368.", b"Ref 0099887766 and 1234567890.")
    (tmp_path / "m.eml").write_bytes(message)
    [record] = lines(scan("m.eml", "--data-dir", "var", cwd=tmp_path))
    assert [f["entity"] for f in record["findings"]] == ["UTILITY_ACCOUNT", "UTILITY_ACCOUNT"]


def test_edm_import_names_a_missing_column(tmp_path: Path) -> None:
    (tmp_path / "accounts.csv").write_text("name,acct\nA,0099887766\n")
    result = subprocess.run([sys.executable, "-m", "gateway.cli", "edm", "import", "accounts.csv",
                             "--column", "account", "--data-dir", "var"],
                            capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 1 and "no column 'account'" in result.stderr
    assert "0099887766" not in result.stderr


CARD_EIN_ROUTING = (b"From: clerk@cerritos.example\r\nTo: vendor@example.com\r\nSubject: payment\r\n\r\n"
                    b"Card 4111 1111 1111 1111, employer ID 12-3456789, routing number 021000021.\r\n")
TAGGED = b"From: a@lancaster.example\r\nTo: b@example.com\r\nSubject: March [purpose:collections]\r\n\r\nHi.\r\n"


def test_mbox_and_maildir_are_read_message_by_message(tmp_path: Path) -> None:
    box = mailbox.mbox(tmp_path / "out.mbox")
    for message in (PLAIN, CLEAN, TAGGED):
        box.add(message)
    box.close()
    maildir = mailbox.Maildir(tmp_path / "Maildir")
    maildir.add(CLEAN)
    result = scan(str(tmp_path / "out.mbox"), str(tmp_path / "Maildir"))
    assert result.returncode == 0, result.stderr
    records = lines(result)
    assert [r["file"] for r in records[:3]] == [f"{tmp_path / 'out.mbox'}#{n}" for n in (1, 2, 3)]
    assert [r["verdict"]["action"] for r in records] == ["quarantine", "deliver", "deliver", "deliver"]
    assert records[3]["file"].startswith(str(tmp_path / "Maildir" / "new"))
    assert b"4 messages scanned" in result.stderr


def test_an_mbox_on_standard_input_is_split(tmp_path: Path) -> None:
    box = mailbox.mbox(tmp_path / "in.mbox")
    box.add(PLAIN)
    box.add(CLEAN)
    box.close()
    records = lines(scan("-", stdin=(tmp_path / "in.mbox").read_bytes()))
    assert [(r["file"], r["verdict"]["action"]) for r in records] == [("-#1", "quarantine"), ("-#2", "deliver")]


# Each is refused with a one-line error naming it, never given a verdict.
NOT_MESSAGES = {"empty.eml": b"", "blank.eml": b"\r\n\r\n", "random.eml": os.urandom(4096),
                "image.eml": b"\x89PNG\r\n\x1a\n" + bytes(200), "text.eml": b"Dear all,\nsee you at 10.\n",
                "note.eml": b"Note: call 213 555 2368\n\nthanks\n"}


def test_what_is_not_a_message_gets_an_error_not_a_verdict(tmp_path: Path) -> None:
    for name, content in NOT_MESSAGES.items():
        (tmp_path / name).write_bytes(content)
    (tmp_path / "good.eml").write_bytes(CLEAN)
    result = scan(*(str(tmp_path / name) for name in [*NOT_MESSAGES, "good.eml"]))
    assert result.returncode == 1
    assert [r["file"] for r in lines(result)] == [str(tmp_path / "good.eml")]
    errors = result.stderr.decode().splitlines()[:-1]
    assert len(errors) == len(NOT_MESSAGES)
    for line, name in zip(errors, NOT_MESSAGES):
        assert line.startswith(f"dlp-gateway scan: {tmp_path / name}: not a message (")
    assert "(empty)" in errors[0] and "(empty)" in errors[1]
    assert "(binary)" in errors[2] and "(binary)" in errors[3]
    assert "(no header block)" in errors[4] and "(no header block)" in errors[5]
    for name in NOT_MESSAGES:
        assert lines(scan(str(tmp_path / name))) == []


def test_a_message_in_an_mbox_that_is_not_one_is_named(tmp_path: Path) -> None:
    (tmp_path / "a.mbox").write_bytes(b"From x Mon Mar  2 10:00:00 2026\n" + CLEAN.replace(b"\r\n", b"\n")
                                      + b"\nFrom y Mon Mar  2 10:00:00 2026\n\n\n")
    result = scan(str(tmp_path / "a.mbox"))
    assert result.returncode == 1 and len(lines(result)) == 1
    assert f"{tmp_path / 'a.mbox'}#2: not a message (empty)".encode() in result.stderr


def test_reasons_are_not_repeated(tmp_path: Path) -> None:
    [record] = lines(scan("-", stdin=CARD_EIN_ROUTING))
    assert record["verdict"]["action"] == "block"
    assert record["verdict"]["reasons"] == ["found CREDIT_CARD, US_BANK_ROUTING, US_EIN"]


def test_a_tagged_purpose_is_always_reported(tmp_path: Path) -> None:
    [clean] = lines(scan("-", stdin=TAGGED))
    assert clean["verdict"]["purpose"] == "collections" and clean["verdict"]["action"] == "deliver"
    [sensitive] = lines(scan("-", stdin=TAGGED.replace(b"Hi.", b"SSN 219-45-6789")))
    assert sensitive["verdict"]["purpose"] == "collections" and sensitive["verdict"]["action"] == "disclaimer"
    [unknown] = lines(scan("-", stdin=TAGGED.replace(b"collections", b"whatever")))
    assert unknown["verdict"]["purpose"] == "unknown"


def test_file_and_part_names_are_masked(tmp_path: Path) -> None:
    (tmp_path / "ssn 219-45-6789.eml").write_bytes(PLAIN)
    result = scan(str(tmp_path))
    [record] = lines(result)
    assert record["file"].endswith("ssn ***-**-6789.eml")
    assert b"219-45-6789" not in result.stdout + result.stderr
