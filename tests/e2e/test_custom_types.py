"""A type of the administrator's own, end to end: configured in gateway.yaml (a
regex) and in a Presidio recognizer YAML file, counted by a profile, held by
``serve`` over SMTP, found by ``scan``, and changed by a SIGHUP reload."""

from __future__ import annotations

import json
import signal
import smtplib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from gateway.quarantine import Key, open_store
from tests.e2e.harness import ROOT, Gateway, Sink, shared_sink

EMPLOYEE = {"entity": "EMPLOYEE_ID", "enabled": True, "regex": r"\bE-?\d{6}\b", "score": 0.4,
            "context": ["employee", "emp id"]}
MRN_FILE = """recognizers:
  - name: "Fire department MRN"
    supported_language: "en"
    supported_entity: "MEDICAL_RECORD_NUMBER"
    patterns:
      - name: "mrn (medium)"
        regex: "\\\\bMRN-?\\\\d{7}\\\\b"
        score: 0.6
    context: ["patient"]
"""


def policies() -> str:
    """The shipped profiles; citrus-water also counts both custom types."""
    data = yaml.safe_load((ROOT / "config" / "policies.yaml").read_text())
    data["profiles"]["citrus-water"]["entities"] = {
        "US_SSN": {}, "EMPLOYEE_ID": {"min_score": 0.5}, "MEDICAL_RECORD_NUMBER": {"min_score": 0.5}}
    return yaml.safe_dump(data)


sink = shared_sink()


@pytest.fixture(scope="module")
def gateway(sink: Sink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gw = Gateway(tmp_path_factory.mktemp("custom"), sink.port, {"detection": {"custom_types": [EMPLOYEE]}})
    (gw.config_dir / "policies.yaml").write_text(policies())
    (gw.config_dir / "mrn.yaml").write_text(MRN_FILE)
    gw.start()
    yield gw
    gw.stop()


def data(gateway: Gateway, sender: str, body: str) -> tuple[int, str, str]:
    marker = uuid.uuid4().hex
    content = (f"From: {sender}\r\nTo: someone@outside.example\r\nSubject: staffing\r\n"
               f"Message-ID: <{marker}@test.invalid>\r\n\r\n{body}\r\n").encode()
    with smtplib.SMTP("127.0.0.1", gateway.port, timeout=30) as client:
        client.ehlo("mta.test.invalid")
        client.mail(sender)
        assert client.rcpt("someone@outside.example")[0] == 250
        code, text = client.data(content)
    return code, text.decode(), marker


def delivered(sink: Sink, marker: str, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(marker.encode() in m.content for m in sink.messages):
            return True
        time.sleep(0.02)
    return False


def held_findings(gateway: Gateway, reply: str) -> list[tuple[str, str]]:
    data_dir = Path(gateway.settings["data_dir"])
    store = open_store(None, data_dir, Key.load_or_create(data_dir / "quarantine.key"))
    try:
        held = store.get(reply.split(" as ", 1)[1].split()[0])
        assert held is not None and held.status == "held"
        return [(f["entity"], f["masked"]) for f in held.findings]
    finally:
        store.close()


def test_a_profile_that_counts_the_custom_type_holds_the_message(gateway: Gateway, sink: Sink) -> None:
    code, reply, marker = data(gateway, "clerk@citrus.example", "New employee E204417 starts Monday.")
    assert code == 250 and "204417" not in reply
    assert held_findings(gateway, reply) == [("EMPLOYEE_ID", "***4417")]
    assert not delivered(sink, marker, timeout=0.5)


def test_below_the_profile_score_or_under_a_profile_that_does_not_count_it_is_delivered(
        gateway: Gateway, sink: Sink) -> None:
    # No context word: the pattern's 0.4 is under citrus-water's 0.5.
    code, _, marker = data(gateway, "clerk@citrus.example", "Ticket E204417 is closed.")
    assert code == 250 and delivered(sink, marker)
    # lancaster-lce counts the built-in entities only.
    code, _, marker = data(gateway, "clerk@lancaster.example", "New employee E204417 starts Monday.")
    assert code == 250 and delivered(sink, marker)


def test_scan_finds_it_with_the_same_configuration(gateway: Gateway, tmp_path: Path) -> None:
    eml = tmp_path / "m.eml"
    eml.write_bytes(b"From: clerk@citrus.example\r\nTo: a@outside.example\r\nSubject: s\r\n\r\n"
                    b"Employee E204417 and Visa 4111 1111 1111 1111\r\n")
    out = subprocess.run([sys.executable, "-m", "gateway.cli", "scan", str(eml), "--config", str(gateway.config_dir)],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    record = json.loads(out)
    assert [(f["entity"], f["masked"]) for f in record["findings"]] == [
        ("EMPLOYEE_ID", "***4417"), ("CREDIT_CARD", "**** **** **** 1111")]
    assert record["verdict"]["action"] == "quarantine"


def test_reload_refuses_a_bad_pattern_then_takes_a_presidio_file(gateway: Gateway, sink: Sink) -> None:
    settings = dict(gateway.settings)
    bad = {**EMPLOYEE, "regex": r"(\bE\d{6}"}
    gateway.write_config(yaml.safe_dump({**settings, "detection": {"custom_types": [bad]}}))
    gateway.signal(signal.SIGHUP)
    failed = gateway.wait_log("configuration reload failed; keeping the running configuration")
    assert "gateway.yaml:" in failed["problem"] and "custom_types.0.regex" in failed["problem"]
    code, reply, _ = data(gateway, "clerk@citrus.example", "New employee E204417 starts Monday.")
    assert code == 250 and held_findings(gateway, reply) == [("EMPLOYEE_ID", "***4417")]   # still in force

    gateway.write_config(yaml.safe_dump({**settings, "detection": {
        "custom_types": [EMPLOYEE, {"presidio_yaml": "mrn.yaml"}]}}))
    before = len([e for e in gateway.log_entries() if e.get("msg") == "configuration reloaded"])
    gateway.signal(signal.SIGHUP)
    deadline = time.monotonic() + 60
    while len([e for e in gateway.log_entries() if e.get("msg") == "configuration reloaded"]) == before:
        assert time.monotonic() < deadline, gateway.log_text()
        time.sleep(0.05)
    code, reply, marker = data(gateway, "clerk@citrus.example", "Patient MRN-1234567 was transported.")
    assert code == 250 and held_findings(gateway, reply) == [("MEDICAL_RECORD_NUMBER", "***-***4567")]
