"""gateway.replay.examine in process: monitor mode and redact decided as serve
carries them out, the rows a batch hands back, and its counts."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from gateway import config, pipeline
from gateway.policy import profiles
from gateway.replay import examine, sources

SSN = "219-45-6789"


def eml(tmp_path: Path, name: str, sender: str, body: str, attachment: bool = False,
        subject: str = f"file {SSN}") -> sources.Ref:
    content = (f"From: {sender}\r\nTo: someone@example.com\r\nDate: Tue, 03 Mar 2026 09:00:00 -0800\r\n"
               f"Subject: {subject}\r\n")
    if attachment:
        content += ('MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
                    f'Content-Type: text/plain\r\n\r\n{body}\r\n--b\r\nContent-Type: text/csv\r\n'
                    f'Content-Disposition: attachment; filename="list.csv"\r\n\r\nname,ssn\r\nA,{SSN}\r\n--b--\r\n')
    else:
        content += f"\r\n{body}\r\n"
    (tmp_path / name).write_bytes(content.encode())
    return sources.Ref(name, str(tmp_path / name))


def policies(tmp_path: Path, edit: dict[str, dict[str, object]]) -> profiles.Profiles:
    document = yaml.safe_load(profiles.SHIPPED.read_text())
    for name, changes in edit.items():
        document["profiles"][name].update(changes)
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(document))
    return profiles.load_file(tmp_path / "p.yaml")


def test_monitor_mode_counts_as_what_it_would_do(tmp_path: Path) -> None:
    stages = pipeline.Pipeline.from_settings(config.load(None))
    candidate = policies(tmp_path, {"citrus-water": {"monitor": True}})
    ref = eml(tmp_path, "a.eml", "clerk@citrus.example", f"SSN {SSN}")
    batch = examine.examine(examine.Setup(stages, candidate), [ref])
    [record] = [json.loads(line) for line in batch.lines.splitlines()]
    assert record["verdict"]["action"] == "quarantine" and record["candidate"]["action"] == "deliver"
    assert "monitor mode: would quarantine" in record["candidate"]["reasons"]
    assert batch.changed == "" and batch.tally.changes == {}
    assert batch.tally.candidate == {("citrus-water", "quarantine"): 1}
    assert record["subject"] == "file ***-**-6789" and SSN not in batch.lines + batch.held


def test_redact_is_carried_out_as_serve_does(tmp_path: Path) -> None:
    scanner = pipeline.Pipeline.from_settings(config.load(None)).scanner
    stages = pipeline.Pipeline(scanner, policies(tmp_path, {"default": {"chain": [
        {"rule": "internal-only", "action": "deliver"}, {"rule": "sensitive-data", "action": "redact"},
        {"rule": "always", "action": "deliver"}]}}))
    body_only = eml(tmp_path, "b.eml", "it@example.org", f"SSN {SSN}", subject="file")
    in_attachment = eml(tmp_path, "c.eml", "it@example.org", "see the list", attachment=True,
                        subject="file")
    batch = examine.examine(examine.Setup(stages), [body_only, in_attachment])
    records = [json.loads(line) for line in batch.lines.splitlines()]
    assert [r["verdict"]["action"] for r in records] == ["redact", "quarantine"]
    assert batch.held.count("<tr>") == 1 and "<td>c.eml</td>" in batch.held
    assert batch.tally.days == {("2026-03-03", "redact"): 1, ("2026-03-03", "quarantine"): 1}
    assert batch.tally.domains == {"example.com": 1} and batch.tally.senders == {"it@example.org": 1}


def test_addresses_are_masked_as_serve_masks_them(tmp_path: Path) -> None:
    # A bare nine-digit SSN as a local part has no context for the detector;
    # serve's logs and records mask it (gateway.masking.address), so must replay.
    stages = pipeline.Pipeline.from_settings(config.load(None))
    ref = eml(tmp_path, "a.eml", "219456789@citrus.example", f"SSN {SSN}")
    batch = examine.examine(examine.Setup(stages), [ref])
    [record] = [json.loads(line) for line in batch.lines.splitlines()]
    assert record["sender"] == "*****6789@citrus.example"
    assert "219456789" not in batch.lines + batch.held and batch.tally.senders == {"*****6789@citrus.example": 1}


def test_file_names_in_segments_are_masked(tmp_path: Path) -> None:
    stages = pipeline.Pipeline.from_settings(config.load(None))
    content = ("From: clerk@citrus.example\r\nTo: someone@example.com\r\nSubject: list\r\nMIME-Version: 1.0\r\n"
               'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee\r\n'
               '--b\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename="219456789.csv"\r\n\r\n'
               f"name,ssn\r\nA,{SSN}\r\n--b--\r\n")
    (tmp_path / "a.eml").write_bytes(content.encode())
    batch = examine.examine(examine.Setup(stages), [sources.Ref("a.eml", str(tmp_path / "a.eml"))])
    [record] = [json.loads(line) for line in batch.lines.splitlines()]
    assert [f["segment"] for f in record["findings"]] == ["attachment:*****6789.csv"]
    assert "219456789" not in batch.lines + batch.held
