"""dlp-gateway scan over files, folders and stdin; dlp-gateway edm import."""

from __future__ import annotations

import json
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
    assert b"2 messages scanned, 2 with findings" in result.stderr


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
