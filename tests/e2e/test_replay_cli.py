"""dlp-gateway replay over mbox and Maildir fixtures built with ``mailbox``:
verdicts in input order, the candidate's diff message by message, refusals,
dates, Ctrl-C, and no value in any output."""

from __future__ import annotations

import fcntl
import json
import mailbox
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.replay.archive import write_candidate

ROOT = Path(__file__).resolve().parents[2]
SSN, CARD = "219-45-6789", "4111 1111 1111 1111"


def replay(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway.cli", "replay", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def compose(sender: str, to: str, subject: str, body: str, day: int | None = 2,
            **extra: str) -> EmailMessage:
    m = EmailMessage()
    for name, value in extra.items():
        m[name.replace("_", "-")] = value
    m["From"] = sender
    m["To"] = to
    if day is not None:
        m["Date"] = f"Mon, {day:02d} Mar 2026 10:00:00 -0800"
    m["Subject"] = subject
    m.set_content(body)
    return m


# (sender, to, subject, body, today's action, the candidate's action)
ARCHIVE = [
    ("clerk@citrus.example", "resident@example.com", "Refund", f"SSN {SSN}\n", "quarantine", "block"),
    ("clerk@citrus.example", "mate@citrus.example", "Internal", f"SSN {SSN}\n", "deliver", "deliver"),
    ("pay@cerritos.example", "vendor@example.com", "Card", f"Card {CARD}\n", "block", "quarantine"),
    ("hr@cerritos.example", "lawyer@example.com", "Case", f"SSN {SSN}\n", "quarantine", "quarantine"),
    ("ar@lancaster.example", "agency@example.com", "Past due [purpose:collections]", f"SSN {SSN}\n",
     "disclaimer", "block"),
    ("ar@lancaster.example", "agency@example.com", "Past due", f"SSN {SSN}\n", "block", "block"),
    ("clerk@pvestates.example", "vendor@example.com", "Permit", "See you Monday.\n", "disclaimer", "disclaimer"),
    ("it@example.org", "help@partner.example", "Call me", "Call (213) 555-2368.\n", "deliver", "deliver"),
]


def write_mbox(path: Path, messages: list[EmailMessage]) -> None:
    box = mailbox.mbox(path)
    for m in messages:
        box.add(m)
    box.close()


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("replay")
    write_mbox(work / "sent.mbox", [compose(s, t, subj, body, day=n + 1) for n, (s, t, subj, body, _, _)
                                    in enumerate(ARCHIVE)])
    write_candidate(work / "candidate.yaml")
    return work


@pytest.fixture(scope="module")
def diffed(archive: Path) -> subprocess.CompletedProcess[str]:
    return replay(str(archive / "sent.mbox"), "--candidate", str(archive / "candidate.yaml"), "--workers", "2",
                  "--json", str(archive / "out.jsonl"), "--report", str(archive / "report.html"))


def test_each_message_decided_today_and_by_the_candidate_in_order(archive: Path,
                                                                    diffed: subprocess.CompletedProcess[str]) -> None:
    assert diffed.returncode == 0, diffed.stderr
    got = records(archive / "out.jsonl")
    assert [r["file"] for r in got] == [f"{archive / 'sent.mbox'}#{n}" for n in range(1, len(ARCHIVE) + 1)]
    assert [(r["verdict"]["action"], r["candidate"]["action"]) for r in got] == [(a, b) for *_, a, b in ARCHIVE]
    assert [r["sender"] for r in got] == [s for s, *_ in ARCHIVE]
    assert got[4]["verdict"]["purpose"] == got[4]["candidate"]["purpose"] == "collections"
    assert [r["date"] for r in got] == [f"2026-03-{n:02d}" for n in range(1, len(ARCHIVE) + 1)]
    assert "8 messages" in diffed.stderr and "3 changed by the candidate" in diffed.stderr


def test_the_report_lists_exactly_the_changed_messages(archive: Path,
                                                       diffed: subprocess.CompletedProcess[str]) -> None:
    page = (archive / "report.html").read_text()
    changed = _table(page, "changed")
    expected = [(f"{archive / 'sent.mbox'}#{n}", a, b) for n, (*_, a, b) in enumerate(ARCHIVE, 1) if a != b]
    assert [(row[0], *row[5].split(" → ")) for row in changed] == expected
    assert sorted(_table(page, "changes")) == sorted([["quarantine", "block", "1"], ["block", "quarantine", "1"],
                                                      ["disclaimer", "block", "1"]])
    assert re.search(r'id="changed-count">3<', page)
    held = _table(page, "held")
    assert [row[0].rsplit("#", 1)[1] for row in held] == [str(n) for n, (*_, a, _) in enumerate(ARCHIVE, 1)
                                                          if a in ("block", "quarantine")]
    profiles_table = {row[0]: row[1:] for row in _table(page, "profiles")}
    assert profiles_table["cerritos"] == ["1", "1", "0", "0", "0", "2"]   # block, quarantine, ..., all


def test_no_value_in_any_output(archive: Path, diffed: subprocess.CompletedProcess[str]) -> None:
    outputs = [(archive / "out.jsonl").read_text(), (archive / "report.html").read_text(), diffed.stderr,
               diffed.stdout]
    for text in outputs:
        assert SSN not in text and CARD not in text and "555-2368" not in text
    assert "***-**-6789" in outputs[1] and "**** **** **** 1111" in outputs[1]


def test_workers_do_not_change_the_output_or_its_order(archive: Path) -> None:
    messages = [compose(f"c{n}@{d}.example", "r@example.com", f"n{n}", f"SSN {SSN}\n" if n % 3 else "hi\n")
                for n in range(300) for d in ("citrus",)]
    write_mbox(archive / "many.mbox", messages)
    one = replay(str(archive / "many.mbox"), "--workers", "1")
    two = replay(str(archive / "many.mbox"), "--workers", "2")
    assert one.returncode == two.returncode == 0, one.stderr + two.stderr
    assert one.stdout == two.stdout and len(one.stdout.splitlines()) == 300
    assert [json.loads(line)["subject"] for line in one.stdout.splitlines()] == [f"n{n}" for n in range(300)]


def test_maildir_folder_and_eml_sources_and_the_envelope_from_headers(tmp_path: Path) -> None:
    box = mailbox.Maildir(tmp_path / "Maildir")
    # Return-Path names the sender's profile; Delivered-To the recipients
    box.add(compose("clerk@citrus.example", "mate@citrus.example", "x", f"SSN {SSN}\n",
                    Return_Path="<ar@lancaster.example>", Delivered_To="agency@example.com"))
    (tmp_path / "eml").mkdir()
    (tmp_path / "eml" / "a.eml").write_bytes(bytes(compose("clerk@citrus.example", "r@example.com", "y", "hi\n")))
    one = tmp_path / "one.eml"
    one.write_bytes(bytes(compose("hr@cerritos.example", "r@example.com", "z", f"Card {CARD}\n")))
    result = replay(str(tmp_path / "Maildir"), str(tmp_path / "eml"), str(one))
    assert result.returncode == 0, result.stderr
    got = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["verdict"]["profile"], r["verdict"]["action"]) for r in got] == [
        ("lancaster-lce", "block"), ("citrus-water", "deliver"), ("cerritos", "block")]
    assert got[0]["sender"] == "ar@lancaster.example" and got[0]["recipients"] == ["agency@example.com"]
    assert got[1]["file"] == str(tmp_path / "eml" / "a.eml") and got[2]["file"] == str(one)


def test_inputs_that_are_not_messages_are_named_and_the_rest_is_replayed(tmp_path: Path) -> None:
    (tmp_path / "empty.eml").write_bytes(b"")
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(300))
    box = mailbox.Maildir(tmp_path / "Maildir")
    box.add(compose("clerk@citrus.example", "r@example.com", "ok", "hi\n"))
    (tmp_path / "Maildir" / "cur" / "junk").write_bytes(b"no headers here\n")
    result = replay(str(tmp_path / "empty.eml"), str(tmp_path / "image.png"), str(tmp_path / "Maildir"),
                    str(tmp_path / "missing.mbox"), "--json", str(tmp_path / "o.jsonl"),
                    "--report", str(tmp_path / "r.html"))
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "not a message" in line or "cannot read" in line]
    assert errors == [f"dlp-gateway replay: {tmp_path / 'empty.eml'}: not a message (empty)",
                      f"dlp-gateway replay: {tmp_path / 'image.png'}: not a message (binary)",
                      f"dlp-gateway replay: {tmp_path / 'Maildir' / 'cur' / 'junk'}: not a message (no header block)",
                      f"dlp-gateway replay: cannot read {tmp_path / 'missing.mbox'}: No such file or directory"]
    assert [r["subject"] for r in records(tmp_path / "o.jsonl")] == ["ok"]
    assert _table((tmp_path / "r.html").read_text(), "refused") == [
        ["binary", "1"], ["empty", "1"], ["no header block", "1"], ["unreadable", "1"]]


def test_since_and_until_keep_the_messages_dated_between(archive: Path) -> None:
    undated = archive / "undated.eml"
    undated.write_bytes(bytes(compose("a@citrus.example", "r@example.com", "undated", "hi\n", day=None)))
    result = replay(str(archive / "sent.mbox"), str(undated), "--since", "2026-03-03", "--until", "2026-03-05")
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["date"] for line in result.stdout.splitlines()] == [
        "2026-03-03", "2026-03-04", "2026-03-05"]
    assert "6 outside the dates" in result.stderr
    bad = replay(str(archive / "sent.mbox"), "--since", "March")
    assert bad.returncode == 2 and "not a date" in bad.stderr


def test_a_bad_candidate_is_refused_with_file_and_reason(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("statements: {}\nprofiles: {}\n")
    (tmp_path / "a.eml").write_bytes(bytes(compose("a@citrus.example", "r@example.com", "s", "hi\n")))
    result = replay(str(tmp_path / "a.eml"), "--candidate", str(tmp_path / "c.yaml"))
    assert result.returncode == 2 and str(tmp_path / "c.yaml") in result.stderr and "default" in result.stderr


def test_ctrl_c_stops_and_still_writes_the_report(tmp_path: Path) -> None:
    message = bytes(compose("clerk@citrus.example", "r@example.com", "s", f"SSN {SSN}\n" + "text line\n" * 40))
    with open(tmp_path / "big.mbox", "wb") as f:   # mailbox is slow for this many
        for _ in range(100_000):
            f.write(b"From clerk@citrus.example Mon Mar  2 10:00:00 2026\n" + message.replace(b"\r\n", b"\n")
                    + b"\n")
    out = tmp_path / "o.jsonl"
    process = subprocess.Popen([sys.executable, "-m", "gateway.cli", "replay", str(tmp_path / "big.mbox"),
                                "--workers", "1", "--json", str(out), "--report", str(tmp_path / "r.html")],
                               cwd=ROOT, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while (not out.exists() or out.stat().st_size < 10_000) and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGINT)   # as a terminal's Ctrl-C: to the workers too
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    read = len(records(out))
    assert 0 < read < 100_000
    page = (tmp_path / "r.html").read_text()
    assert "Interrupted" in page and f"covers the {read} messages" in page


def _table(page: str, table_id: str) -> list[list[str]]:
    """The body rows of the table ``table_id``, each cell's text."""
    from lxml import html
    tree = html.fromstring(page)
    [table] = tree.xpath(f'//table[@id="{table_id}"]')
    return [[" ".join(cell.text_content().split()) for cell in row.xpath("./td")]
            for row in table.xpath("./tbody/tr") if not row.xpath('./td[@class="empty"]')]


def test_a_progress_bar_on_a_terminal(archive: Path) -> None:
    many = archive / "bar.mbox"
    write_mbox(many, [compose(f"c{n}@citrus.example", "r@example.com", f"n{n}", "hi\n" * 200) for n in range(3000)])
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))   # a real terminal has a size
    process = subprocess.Popen([sys.executable, "-m", "gateway.cli", "replay", str(many), "--workers", "1",
                                "--report", str(archive / "bar.html")], cwd=ROOT, stderr=follower)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:   # the terminal closed: the command is done
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert process.wait(timeout=120) == 0
    assert b"msg/s" in shown and b" messages, " in shown


def test_file_names_are_masked_too(tmp_path: Path) -> None:
    (tmp_path / f"ssn {SSN}.eml").write_bytes(bytes(compose("a@citrus.example", "r@example.com", "s", "hi\n")))
    (tmp_path / f"card {CARD}.eml").write_bytes(b"")
    result = replay(str(tmp_path / f"ssn {SSN}.eml"), str(tmp_path / f"card {CARD}.eml"))
    assert result.returncode == 1
    assert SSN not in result.stdout + result.stderr and CARD not in result.stdout + result.stderr
    assert json.loads(result.stdout)["file"].endswith("ssn ***-**-6789.eml")
    assert "card **** **** **** 1111.eml: not a message (empty)" in result.stderr


def test_an_empty_archive_still_gets_a_report(tmp_path: Path) -> None:
    mailbox.Maildir(tmp_path / "Maildir")
    result = replay(str(tmp_path / "Maildir"), "--report", str(tmp_path / "r.html"))
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "r.html").read_text()
    assert "No messages." in page and "Nothing found." in page and 'id="chart-days"' not in page
    assert "0 messages" in result.stderr
