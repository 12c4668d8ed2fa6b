"""Quarantine end to end: never a 250 without a stored message (kill -9 at either
side of the commit), the store down answers 451, the CLI lists, shows, releases
and deletes, notices go to security staff, monitor mode, and PostgreSQL as the store."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.quarantine import Key, QuarantineStore, open_store
from tests.conftest import require_system
from tests.e2e.harness import ROOT, Gateway, Sink

SSN = "219-45-6789"
StartGateway = Any


def held_message(marker: str, sender: str = "clerk@citrus.example") -> bytes:
    return (f"From: {sender}\r\nTo: resident@example.com\r\nSubject: refund {marker}\r\n"
            f"Message-ID: <{marker}@test.invalid>\r\n\r\nSSN {SSN} as requested.\r\n").encode()


MESSAGE_EVENTS = ("block", "quarantine", "exception", "monitor", "release", "delete")


def decisions(store: QuarantineStore) -> list[dict[str, object]]:
    """The audit records about messages (not the review app's own, such as purge runs)."""
    return [r for r in store.audit_since(datetime(2026, 1, 1, tzinfo=UTC)) if r["event"] in MESSAGE_EVENTS]


def store_of(gateway: Gateway) -> QuarantineStore:
    data_dir = Path(gateway.settings["data_dir"])
    return open_store(None, data_dir, Key.load_or_create(data_dir / "quarantine.key"))


def data(gateway: Gateway, content: bytes, sender: str = "clerk@citrus.example") -> tuple[int, str]:
    with smtplib.SMTP("127.0.0.1", gateway.port, timeout=30) as client:
        client.ehlo("mta.test.invalid")
        client.mail(sender)
        client.rcpt("resident@example.com")
        code, text = client.data(content)
    return code, text.decode()


def cli(gateway: Gateway, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args, "--config", str(gateway.config_dir)],
                          capture_output=True, text=True, cwd=gateway.workdir, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def start_with_failpoint(tmp_path: Path, sink: Sink, point: str) -> Gateway:
    gateway = Gateway(tmp_path / point, sink.port)
    gateway.write_config()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DLP_FAILPOINTS": point}
    with gateway.log_path.open("ab") as log:
        gateway.process = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "serve", "--config", str(gateway.config_dir)],
            stdout=log, stderr=log, cwd=gateway.workdir, env=env)
    from tests.e2e.harness import wait_for_port
    wait_for_port(gateway.port)
    return gateway


@pytest.mark.parametrize(("point", "stored"), [("quarantine-before-commit", False),
                                               ("quarantine-before-reply", True)])
def test_kill_9_during_a_quarantine_never_leaves_a_250_without_the_message(
        point: str, stored: bool, tmp_path: Path, sink: Sink) -> None:
    gateway = start_with_failpoint(tmp_path, sink, point)
    marker = uuid.uuid4().hex
    try:
        with pytest.raises(smtplib.SMTPServerDisconnected):
            data(gateway, held_message(marker))  # no reply at all: the client keeps the message
        assert gateway.process is not None
        assert gateway.process.wait(10) == -signal.SIGKILL
    finally:
        gateway.stop()
    store = store_of(gateway)
    try:
        messages = store.list(status=None)
        assert [marker in m.subject for m in messages] == ([True] if stored else [])
        if stored:  # committed before the reply: the message and its record are both there
            assert store.content(messages[0].id) == held_message(marker)
            assert [r["event"] for r in decisions(store)] == ["quarantine"]
        else:
            assert decisions(store) == []
    finally:
        store.close()
    assert sink.messages == []


def test_store_unavailable_answers_451_and_keeps_nothing(tmp_path: Path, sink: Sink,
                                                         start_gateway: StartGateway) -> None:
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    (data_dir / "quarantine.key").write_bytes(b"short")  # a broken key file: the store cannot open
    (data_dir / "quarantine.key").chmod(0o600)
    gateway = start_gateway(sink.port, {"data_dir": str(data_dir)})
    code, text = data(gateway, held_message(uuid.uuid4().hex))
    assert (code, text) == (451, "4.3.0 Quarantine store unavailable, try again later")
    # Clean mail still flows: the store is needed only for what must be held or recorded.
    clean = b"From: a@citrus.example\r\nSubject: hi\r\n\r\nNothing to see.\r\n"
    assert data(gateway, clean)[0] == 250
    assert len(sink.wait_for(1)) == 1
    assert gateway.metric('dlp_messages_total{action="error",profile="citrus-water"}') == 1
    assert "quarantine store unavailable" in gateway.log_text()


def test_cli_lists_shows_releases_and_deletes(sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port, {"quarantine": {"recount_seconds": 0.2}})
    ids = []
    for _ in range(3):
        code, text = data(gateway, held_message(uuid.uuid4().hex))
        assert code == 250
        ids.append(text.split(" as ", 1)[1].split()[0])
    listed = json.loads(cli(gateway, "quarantine", "list", "--json").stdout)
    assert [m["id"] for m in listed] == ids[::-1]  # newest first
    assert all(m["findings"][0]["masked"] == "***-**-6789" for m in listed)
    shown = cli(gateway, "quarantine", "show", ids[0])
    assert shown.returncode == 0 and SSN not in shown.stdout and "citrus-water" in shown.stdout

    released = cli(gateway, "quarantine", "release", ids[0], "--by", "alice", "--note", "Supervisor OK #12")
    assert released.returncode == 0, released.stderr
    [message] = sink.wait_for(1)
    assert message.rcpt_tos == ["resident@example.com"]
    assert message.content.startswith(b"X-DLP-Released-By: alice; quarantine=" + ids[0].encode()
                                      + b"; note=Supervisor OK #12\r\n")
    again = cli(gateway, "quarantine", "release", ids[0], "--by", "bob")
    assert again.returncode == 1 and "already released" in again.stderr
    assert len(sink.messages) == 1  # at most once

    deleted = cli(gateway, "quarantine", "delete", ids[1], "--by", "carol", "--reason", "test data", "--json")
    assert json.loads(deleted.stdout) == {"id": ids[1], "done": True, "error": None, "downstream": None}
    assert cli(gateway, "quarantine", "show", "Q0000000000000000").returncode == 1
    assert [m["id"] for m in json.loads(cli(gateway, "quarantine", "list", "--json").stdout)] == [ids[2]]
    import time
    deadline = time.monotonic() + 10   # the gauge follows what the CLI did
    while gateway.metric("dlp_quarantine_messages") != 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert gateway.metric("dlp_quarantine_messages") == 1

    exported = [json.loads(line) for line in cli(gateway, "audit", "export", "--since", "2026-01-01").stdout.splitlines()]
    exported = [r for r in exported if r["event"] in MESSAGE_EVENTS]
    assert [(r["event"], r["actor"], r["message_id"]) for r in exported] == [
        ("quarantine", "gateway", ids[0]), ("quarantine", "gateway", ids[1]), ("quarantine", "gateway", ids[2]),
        ("release", "alice", ids[0]), ("delete", "carol", ids[1])]
    assert exported[3]["details"]["note"] == "Supervisor OK #12"
    assert SSN not in json.dumps(exported)
    assert cli(gateway, "audit", "export", "--since", "yesterday").returncode == 2


def test_a_release_the_downstream_refuses_stays_held_with_the_error(sink: Sink,
                                                                  start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port)
    code, text = data(gateway, held_message(uuid.uuid4().hex))
    held_id = text.split(" as ", 1)[1].split()[0]
    sink.handler.refuse["resident@example.com"] = "550 5.1.1 No such user"
    refused = cli(gateway, "quarantine", "release", held_id, "--by", "alice")
    assert refused.returncode == 1 and "550 5.1.1 No such user" in refused.stderr
    shown = json.loads(cli(gateway, "quarantine", "show", held_id, "--json").stdout)
    assert shown["status"] == "held" and "550 5.1.1" in shown["last_error"]
    sink.handler.refuse.clear()
    assert cli(gateway, "quarantine", "release", held_id, "--by", "alice").returncode == 0
    assert len(sink.wait_for(1)) == 1


def test_security_staff_are_notified_with_masked_values_only(sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port, {"notify": {"security": "soc@citrus.example",
                                                   "sender": "dlp@citrus.example"}})
    code, text = data(gateway, held_message(uuid.uuid4().hex))
    assert code == 250
    code, text = data(gateway, held_message(uuid.uuid4().hex, "clerk@lancaster.example"),
                      sender="clerk@lancaster.example")
    assert code == 550
    notices = sink.wait_for(2)
    assert sorted(n.rcpt_tos[0] for n in notices) == ["soc@citrus.example"] * 2
    bodies = b"\n".join(n.content for n in notices)
    assert b"***-**-6789" in bodies and SSN.encode() not in bodies
    assert b"Action: quarantine (quarantine id Q" in bodies and b"Action: block" in bodies
    assert gateway.metric('dlp_notices_total{outcome="sent"}') == 2


def test_monitor_mode_decides_records_and_delivers(sink: Sink, start_gateway: StartGateway,
                                                   tmp_path: Path) -> None:
    from gateway.policy.profiles import SHIPPED
    gateway = Gateway(tmp_path / "monitor", sink.port)
    text = SHIPPED.read_text().replace("  lancaster-lce:\n", "  lancaster-lce:\n    monitor: true\n")
    (gateway.config_dir / "policies.yaml").write_text(text)
    gateway.start()
    try:
        marker = uuid.uuid4().hex
        code, _ = data(gateway, held_message(marker, "clerk@lancaster.example"), sender="clerk@lancaster.example")
        assert code == 250
        [message] = sink.wait_for(1)
        assert b"X-DLP-Verdict: deliver; profile=lancaster-lce; monitor=block\r\n" in message.content
        store = store_of(gateway)
        try:
            [record] = decisions(store)
            assert record["event"] == "monitor" and record["details"]["monitor"] == "block"  # type: ignore[index]
        finally:
            store.close()
    finally:
        gateway.stop()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    url = os.environ.get("DLP_TEST_POSTGRES_URL")
    if not url:
        require_system("PostgreSQL (set DLP_TEST_POSTGRES_URL)")
    import psycopg
    schema = f"gw_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield f"{url}?schema={schema}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def test_two_gateways_share_a_postgresql_quarantine(sink: Sink, start_gateway: StartGateway,
                                                    postgres_url: str, tmp_path: Path) -> None:
    key_file = tmp_path / "shared.key"
    Key.load_or_create(key_file)
    settings = {"quarantine": {"url": postgres_url, "key_file": str(key_file)}}
    first, second = start_gateway(sink.port, settings), start_gateway(sink.port, settings)
    ids = []
    for gateway in (first, second):
        code, text = data(gateway, held_message(uuid.uuid4().hex))
        assert code == 250, text
        ids.append(text.split(" as ", 1)[1].split()[0])
    listed = json.loads(cli(first, "quarantine", "list", "--json").stdout)
    assert sorted(m["id"] for m in listed) == sorted(ids)
    assert cli(second, "quarantine", "release", ids[0], "--by", "alice").returncode == 0
    assert cli(first, "quarantine", "release", ids[0], "--by", "bob").returncode == 1
    assert len(sink.wait_for(1)) == 1


def test_redact_masks_the_bodies_and_quarantines_what_it_cannot_reach(sink: Sink, tmp_path: Path) -> None:
    from gateway.policy.profiles import SHIPPED
    gateway = Gateway(tmp_path / "redact", sink.port)
    text = SHIPPED.read_text().replace(
        "      - {rule: sensitive-data, action: block}\n      - {rule: always, action: deliver}\n\n  pomona-pce:",
        "      - {rule: sensitive-data, action: redact}\n      - {rule: always, action: deliver}\n\n  pomona-pce:")
    assert "action: redact" in text
    (gateway.config_dir / "policies.yaml").write_text(text)
    gateway.start()
    try:
        code, reply = data(gateway, held_message(uuid.uuid4().hex, "clerk@lancaster.example"),
                           sender="clerk@lancaster.example")
        assert code == 250, reply
        [message] = sink.wait_for(1)
        assert b"SSN ***-**-6789 as requested." in message.content and SSN.encode() not in message.content
        assert b"X-DLP-Verdict: redact; profile=lancaster-lce\r\n" in message.content
        attached = (b"From: clerk@lancaster.example\r\nSubject: list\r\nMIME-Version: 1.0\r\n"
                    b'Content-Type: multipart/mixed; boundary="m"\r\n\r\n--m\r\nContent-Type: text/plain\r\n\r\n'
                    b"SSN " + SSN.encode() + b"\r\n--m\r\nContent-Type: text/csv\r\n"
                    b"Content-Disposition: attachment; filename=ssns.csv\r\n\r\nname,ssn\r\nA,"
                    + SSN.encode() + b"\r\n--m--\r\n")
        code, reply = data(gateway, attached, sender="clerk@lancaster.example")
        assert code == 250 and " as Q" in reply and "redaction could not mask every US_SSN" in reply
        assert len(sink.messages) == 1
    finally:
        gateway.stop()


def test_scan_and_serve_agree_on_a_message_redaction_cannot_fully_mask(sink: Sink, tmp_path: Path) -> None:
    """Redaction is settled in the pipeline: ``scan`` reports the quarantine ``serve`` does
    (an SSN in an attachment cannot be masked), and ``redact`` where serve redacts."""
    from gateway.policy.profiles import SHIPPED
    gateway = Gateway(tmp_path / "agree", sink.port)
    text = SHIPPED.read_text().replace(
        "      - {rule: sensitive-data, action: block}\n      - {rule: always, action: deliver}\n\n  pomona-pce:",
        "      - {rule: sensitive-data, action: redact}\n      - {rule: always, action: deliver}\n\n  pomona-pce:")
    assert "action: redact" in text
    (gateway.config_dir / "policies.yaml").write_text(text)
    attached = (b"From: clerk@lancaster.example\r\nTo: resident@example.com\r\nSubject: list\r\n"
                b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="m"\r\n\r\n--m\r\n'
                b"Content-Type: text/plain\r\n\r\nSSN " + SSN.encode() + b"\r\n--m\r\nContent-Type: text/csv\r\n"
                b"Content-Disposition: attachment; filename=ssns.csv\r\n\r\nname,ssn\r\nA,"
                + SSN.encode() + b"\r\n--m--\r\n")
    inline = held_message(uuid.uuid4().hex, "clerk@lancaster.example")
    messages = tmp_path / "messages"
    messages.mkdir()
    (messages / "1-attached.eml").write_bytes(attached)
    (messages / "2-inline.eml").write_bytes(inline)
    gateway.write_config()
    scanned = cli(gateway, "scan", str(messages), "--sender", "clerk@lancaster.example",
                  "--recipient", "resident@example.com")
    assert scanned.returncode == 0, scanned.stderr
    actions = [json.loads(line)["verdict"]["action"] for line in scanned.stdout.splitlines()]
    assert actions == ["quarantine", "redact"]
    gateway.start()
    try:
        code, reply = data(gateway, attached, sender="clerk@lancaster.example")
        assert code == 250 and " as Q" in reply and "redaction could not mask every US_SSN" in reply
        code, reply = data(gateway, inline, sender="clerk@lancaster.example")
        assert code == 250, reply
        [message] = sink.wait_for(1)
        assert b"X-DLP-Verdict: redact; profile=lancaster-lce\r\n" in message.content
    finally:
        gateway.stop()


def test_a_released_copy_loses_the_purpose_and_gets_the_profile_statement(
        sink: Sink, start_gateway: StartGateway) -> None:
    from gateway.policy.profiles import defaults
    gateway = start_gateway(sink.port)
    content = (b"From: clerk@pvestates.example\r\nTo: resident@example.com\r\nSubject: Permit [purpose:bogus]\r\n"
               b"X-DLP-Exception: legal-compliance; ref=1\r\n\r\nSSN 219-45-6789 for the permit.\r\n")
    code, text = data(gateway, content, sender="clerk@pvestates.example")
    assert code == 250 and " as Q" in text
    held_id = text.split(" as ", 1)[1].split()[0]
    assert cli(gateway, "quarantine", "release", held_id, "--by", "clerk", "--note", "City Manager, memo 7").returncode == 0
    [message] = sink.wait_for(1)
    assert b"Subject: Permit\r\n" in message.content and b"X-DLP-Exception" not in message.content
    statement = " ".join(defaults().settings.statements["palos-verdes"].split())
    assert statement.encode() in b" ".join(message.content.split())


def test_the_cli_pointed_at_the_wrong_place_creates_nothing(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "gateway.cli", "quarantine", "list", "--data-dir",
                             str(tmp_path / "nowhere")], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 2 and "no quarantine in" in result.stderr
    assert not (tmp_path / "nowhere").exists()


def test_a_release_whose_outcome_is_unknown_is_not_sent_again_by_itself(
        sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port, {"relay": {"timeout": 1}})
    code, text = data(gateway, held_message(uuid.uuid4().hex))
    held_id = text.split(" as ", 1)[1].split()[0]
    sink.handler.reply_delay = 2.5   # the sink keeps the message but answers after our timeout
    first = cli(gateway, "quarantine", "release", held_id, "--by", "alice")
    assert first.returncode == 1 and "outcome unknown" in first.stderr
    assert len(sink.wait_for(1, timeout=5)) == 1   # it did arrive
    sink.handler.reply_delay = 0
    again = cli(gateway, "quarantine", "release", held_id, "--by", "bob")
    assert again.returncode == 1 and "force" in again.stderr
    assert cli(gateway, "quarantine", "delete", held_id, "--by", "bob", "--reason", "stuck").returncode == 1
    shown = json.loads(cli(gateway, "quarantine", "show", held_id, "--json").stdout)
    assert shown["status"] == "held" and "outcome unknown" in shown["last_error"]
    assert len(sink.messages) == 1
    # A person checked the downstream and decides it must go again:
    assert cli(gateway, "quarantine", "release", held_id, "--by", "bob", "--force").returncode == 0
    assert len(sink.wait_for(2)) == 2
    store = store_of(gateway)
    try:
        events = [(r["event"], r["actor"]) for r in store.audit_since(datetime(2026, 1, 1, tzinfo=UTC))
                  if r["message_id"] == held_id]
    finally:
        store.close()
    assert events == [("quarantine", "gateway"), ("release-uncertain", "alice"), ("release", "bob")]


def test_a_release_interrupted_while_sending_keeps_its_claim(sink: Sink, start_gateway: StartGateway) -> None:
    import time
    gateway = start_gateway(sink.port, {"relay": {"timeout": 30}})
    code, text = data(gateway, held_message(uuid.uuid4().hex))
    held_id = text.split(" as ", 1)[1].split()[0]
    sink.handler.reply_delay = 20   # the sink has the message; its answer is slow to come
    release = subprocess.Popen([sys.executable, "-m", "gateway.cli", "quarantine", "release", held_id,
                                "--by", "alice", "--config", str(gateway.config_dir)],
                               cwd=gateway.workdir, env={**os.environ, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert len(sink.wait_for(1, timeout=20)) == 1
    time.sleep(0.3)
    release.send_signal(signal.SIGINT)   # an operator's Ctrl-C while the reply is awaited
    release.wait(20)
    sink.handler.reply_delay = 0
    shown = json.loads(cli(gateway, "quarantine", "show", held_id, "--json").stdout)
    assert shown["status"] == "held" and "interrupted while sending" in shown["last_error"]
    again = cli(gateway, "quarantine", "release", held_id, "--by", "bob")
    assert again.returncode == 1 and len(sink.messages) == 1
    assert cli(gateway, "quarantine", "delete", held_id, "--by", "bob", "--force",
               "--reason", "it did go out").returncode == 0
