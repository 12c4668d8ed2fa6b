"""CONTRACT.md's table of default profiles, end to end over SMTP, cell by cell.

For every profile: the reply code, what reached the downstream, what is in
quarantine and the audit record, with the purpose declared in the subject, in
the X-DLP-Purpose header, and as an unknown code.
"""

from __future__ import annotations

import email
import smtplib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from email.policy import default as default_policy
from pathlib import Path

import pytest

from gateway.disclaimer import CITRUS
from gateway.policy.profiles import defaults
from gateway.quarantine import Key, QuarantineStore, open_store
from tests.e2e.harness import Gateway, Received, Sink, shared_sink

SSN = "219-45-6789"
CARD = "4111 1111 1111 1111"
SENDERS = {"citrus-water": "citrus.example", "lancaster-lce": "lancaster.example",
           "pomona-pce": "pomona.example", "cerritos": "cerritos.example",
           "palos-verdes": "pvestates.example", "default": "elsewhere.example"}
PALOS_VERDES = defaults().settings.statements["palos-verdes"]
# profile -> (no valid purpose, valid purpose), for an SSN to an external recipient
TABLE = {
    "citrus-water": ("quarantine", "disclaimer"),
    "lancaster-lce": ("block", "disclaimer"),
    "pomona-pce": ("block", "disclaimer"),
    "cerritos": ("quarantine", "quarantine"),
    "palos-verdes": ("quarantine", "disclaimer"),
    "default": ("quarantine", "disclaimer"),
}
STATEMENT = {name: (PALOS_VERDES if name == "palos-verdes" else CITRUS) for name in TABLE}


@dataclass
class Sent:
    code: int
    text: str
    marker: str
    content: bytes


sink = shared_sink()


@pytest.fixture(scope="module")
def gateway(sink: Sink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gw = Gateway(tmp_path_factory.mktemp("policy"), sink.port).start()
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def store(gateway: Gateway) -> Iterator[QuarantineStore]:
    data_dir = Path(gateway.settings["data_dir"])
    opened = open_store(None, data_dir, Key.load_or_create(data_dir / "quarantine.key"))
    yield opened
    opened.close()


def message(sender: str, to: list[str], subject: str, body: str, marker: str,
            extra: str = "") -> bytes:
    return (f"From: {sender}\r\nTo: {', '.join(to)}\r\nSubject: {subject}\r\n"
            f"Message-ID: <{marker}@test.invalid>\r\n{extra}"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()


def send(gateway: Gateway, sender: str, to: list[str], subject: str = "Account details",
         body: str = f"Customer SSN {SSN} as requested.", extra: str = "") -> Sent:
    marker = uuid.uuid4().hex
    content = message(sender, to, subject, body, marker, extra)
    with smtplib.SMTP("127.0.0.1", gateway.port, timeout=30) as client:
        client.ehlo("mta.test.invalid")
        client.mail(sender)
        for rcpt in to:
            assert client.rcpt(rcpt)[0] == 250
        code, text = client.data(content)
    return Sent(code, text.decode(), marker, content)


def delivered(sink: Sink, marker: str, timeout: float = 5.0) -> Received | None:
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for received in sink.messages:
            if marker.encode() in received.content:
                return received
        time.sleep(0.02)
    return None


def audit_for(store: QuarantineStore, marker: str, event: str) -> dict[str, object]:
    from datetime import UTC, datetime
    records = [r for r in store.audit_since(datetime(2026, 1, 1, tzinfo=UTC))
               if r["event"] == event and marker in str(r["details"].get("message_id"))]  # type: ignore[union-attr]
    assert len(records) == 1, (event, records)
    return records[0]


def text_parts(raw: bytes) -> list[str]:
    parsed = email.message_from_bytes(raw, policy=default_policy)
    return [part.get_content() for part in parsed.walk()
            if part.get_content_type() in ("text/plain", "text/html")]


def check(expected: str, sent: Sent, gateway: Gateway, sink: Sink, store: QuarantineStore,
          profile: str, purpose: str | None = None) -> Message | None:
    """Assert one cell: reply, downstream, quarantine, audit."""
    assert SSN not in sent.text and "6789" not in sent.text.replace("***-**-6789", "")
    if expected == "block":
        assert sent.code == 550, sent.text
        assert sent.text.startswith("5.7.1") and profile in sent.text and "US_SSN" in sent.text
        assert delivered(sink, sent.marker, timeout=0.3) is None
        record = audit_for(store, sent.marker, "block")
        assert record["details"]["profile"] == profile  # type: ignore[index]
        return None
    if expected == "quarantine":
        assert sent.code == 250, sent.text
        held_id = sent.text.split(" as ", 1)[1].split()[0]
        held = store.get(held_id)
        assert held is not None and held.status == "held" and held.profile == profile
        assert store.content(held_id) == sent.content
        assert [f["masked"] for f in held.findings] == ["***-**-6789"]
        assert SSN not in repr(held)
        assert delivered(sink, sent.marker, timeout=0.3) is None
        record = audit_for(store, sent.marker, "quarantine")
        assert record["message_id"] == held_id
        return None
    assert sent.code == 250, sent.text
    received = delivered(sink, sent.marker)
    assert received is not None
    parsed = email.message_from_bytes(received.content, policy=default_policy)
    assert "X-DLP-Purpose" not in parsed and "[purpose:" not in str(parsed["Subject"]).lower()
    assert parsed["X-DLP-Verdict"].startswith(f"{expected}; profile={profile}")
    for text in text_parts(received.content):
        assert text.count(STATEMENT[profile]) == (1 if expected == "disclaimer" else 0)
    if purpose is not None:
        record = audit_for(store, sent.marker, "exception")
        details = record["details"]
        assert details["purpose"] == purpose and details["profile"] == profile  # type: ignore[index]
        assert details["entities"] == {"US_SSN": 1}  # type: ignore[index]
        assert details["recipient_domains"] == ["example.com"]  # type: ignore[index]
        assert parsed["X-DLP-Exception"] == f"{purpose}; ref={record['seq']}"
    else:
        assert "X-DLP-Exception" not in parsed
    return parsed


@pytest.mark.parametrize("profile", list(TABLE))
def test_sensitive_to_an_external_recipient_without_purpose(
        profile: str, gateway: Gateway, sink: Sink, store: QuarantineStore) -> None:
    sent = send(gateway, f"clerk@{SENDERS[profile]}", ["resident@example.com"])
    check(TABLE[profile][0], sent, gateway, sink, store, profile)


@pytest.mark.parametrize("profile", list(TABLE))
def test_valid_purpose_in_the_subject_tag(
        profile: str, gateway: Gateway, sink: Sink, store: QuarantineStore) -> None:
    sent = send(gateway, f"clerk@{SENDERS[profile]}", ["resident@example.com"],
                subject="Your balance [Purpose:Collections] for March")
    parsed = check(TABLE[profile][1], sent, gateway, sink, store, profile,
                   purpose="collections" if TABLE[profile][1] != "quarantine" else None)
    if parsed is not None:
        assert parsed["Subject"] == "Your balance for March"


@pytest.mark.parametrize("profile", list(TABLE))
def test_valid_purpose_in_the_header(
        profile: str, gateway: Gateway, sink: Sink, store: QuarantineStore) -> None:
    sent = send(gateway, f"clerk@{SENDERS[profile]}", ["resident@example.com"],
                extra="X-DLP-Purpose: customer-service\r\n")
    check(TABLE[profile][1], sent, gateway, sink, store, profile,
          purpose="customer-service" if TABLE[profile][1] != "quarantine" else None)


@pytest.mark.parametrize("profile", list(TABLE))
def test_an_unknown_purpose_counts_as_none_and_the_reply_lists_the_codes(
        profile: str, gateway: Gateway, sink: Sink, store: QuarantineStore) -> None:
    sent = send(gateway, f"clerk@{SENDERS[profile]}", ["resident@example.com"],
                subject="Refund [purpose:because-i-said-so]")
    check(TABLE[profile][0], sent, gateway, sink, store, profile)
    if profile != "cerritos":  # cerritos accepts no purpose: nothing to list
        assert "accepted purposes: legal-compliance, customer-service, collections" in sent.text
        assert "the declared purpose code is not a known one" in sent.text
    assert "because-i-said-so" not in sent.text  # sender-written text is never echoed


@pytest.mark.parametrize("profile", list(TABLE))
def test_nothing_sensitive_or_internal_only_is_delivered(
        profile: str, gateway: Gateway, sink: Sink, store: QuarantineStore) -> None:
    expected = "disclaimer" if profile == "palos-verdes" else "deliver"
    clean = send(gateway, f"clerk@{SENDERS[profile]}", ["resident@example.com"],
                 body="Call us at (213) 555-2368 about the meeting.")
    check(expected, clean, gateway, sink, store, profile)
    internal = send(gateway, f"clerk@{SENDERS[profile]}",
                    [f"hr@{SENDERS[profile]}", f"payroll@billing.{SENDERS[profile]}"])
    check(expected, internal, gateway, sink, store, profile)


@pytest.mark.parametrize("profile", list(TABLE))
def test_internal_and_external_recipients_are_judged_by_the_external_one(
        profile: str, gateway: Gateway, sink: Sink, store: QuarantineStore) -> None:
    sent = send(gateway, f"clerk@{SENDERS[profile]}", [f"hr@{SENDERS[profile]}", "resident@example.com"])
    check(TABLE[profile][0], sent, gateway, sink, store, profile)


@pytest.mark.parametrize("purpose", [None, "[purpose:legal-compliance]"])
def test_cerritos_blocks_any_card(purpose: str | None, gateway: Gateway, sink: Sink) -> None:
    sent = send(gateway, "clerk@cerritos.example", ["resident@example.com"],
                subject=f"Payment {purpose or ''}", body=f"Card {CARD} exp 12/29.")
    assert sent.code == 550 and "CREDIT_CARD" in sent.text and "cerritos" in sent.text, sent.text
    assert "1111 1111" not in sent.text
    assert delivered(sink, sent.marker, timeout=0.3) is None


def test_metrics_count_each_action_by_profile(gateway: Gateway, store: QuarantineStore) -> None:
    send(gateway, "clerk@lancaster.example", ["resident@example.com"])
    send(gateway, "clerk@citrus.example", ["resident@example.com"])
    send(gateway, "clerk@pomona.example", ["resident@example.com"], subject="[purpose:collections]")
    assert gateway.metric('dlp_messages_total{action="block",profile="lancaster-lce"}') >= 1
    assert gateway.metric('dlp_messages_total{action="quarantine",profile="citrus-water"}') >= 1
    assert gateway.metric('dlp_messages_total{action="disclaimer",profile="pomona-pce"}') >= 1
    import time
    deadline = time.monotonic() + 5  # the gauge is set just after the reply
    while gateway.metric("dlp_quarantine_messages") != store.count() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gateway.metric("dlp_quarantine_messages") == store.count() > 0
    log = gateway.log_text()
    assert SSN not in log and "4111 1111 1111 1111" not in log


def _fixtures() -> dict[str, bytes]:
    from tests.unit import test_disclaimer as d
    signed = (d.HEAD + b'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; '
              b'micalg=sha-256; boundary="s"\r\n\r\n'
              b"--s\r\nContent-Type: text/plain\r\n\r\nSigned text\r\n"
              b"--s\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n"
              b"Content-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHAqCAMIACAQEx\r\n--s--\r\n")
    reply = d.PLAIN.replace(b"on its way.", b"on its way.\r\n\r\n" + PALOS_VERDES.encode())
    return {"plain": d.PLAIN, "html": d.HTML, "alternative": d.ALTERNATIVE, "latin-1": d.LATIN1,
            "quoted-printable": d.QP, "base64": d.B64, "reply-already-carrying-it": reply, "signed": signed}


@pytest.mark.parametrize("kind", list(_fixtures()))
def test_delivered_disclaimer_parses_and_shows_once_in_every_text_part(
        kind: str, gateway: Gateway, sink: Sink) -> None:
    marker = uuid.uuid4().hex
    content = _fixtures()[kind].replace(b"From: clerk@citrus.example\r\n",
                                        f"From: clerk@pvestates.example\r\nMessage-ID: <{marker}@t>\r\n".encode())
    with smtplib.SMTP("127.0.0.1", gateway.port, timeout=30) as client:
        client.sendmail("clerk@pvestates.example", ["resident@example.com"], content)
    received = delivered(sink, marker)
    assert received is not None
    parsed = email.message_from_bytes(received.content, policy=default_policy)
    assert not parsed.defects
    texts = [" ".join(t.split()) for t in text_parts(received.content)]
    statement = " ".join(PALOS_VERDES.split())
    assert texts and all(t.count(statement) == 1 for t in texts if "Signed text" not in t), texts
    if kind == "signed":  # wrapped: the signed entity is passed on byte for byte
        assert parsed.get_content_type() == "multipart/mixed"
        assert b"--s\r\nContent-Type: text/plain\r\n\r\nSigned text\r\n" in received.content


def test_an_exception_with_attachments_keeps_them(gateway: Gateway, sink: Sink, store: QuarantineStore) -> None:
    marker = uuid.uuid4().hex
    content = (f"From: clerk@citrus.example\r\nTo: r@example.com\r\nMessage-ID: <{marker}@t>\r\n"
               "Subject: =?utf-8?q?Caf=C3=A9_[purpose:credit-reporting]?=\r\nMIME-Version: 1.0\r\n"
               'Content-Type: multipart/mixed; boundary="m"\r\n\r\n'
               f"--m\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSSN {SSN} for the bureau.\r\n"
               "--m\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename=x.csv"
               "\r\nContent-Transfer-Encoding: base64\r\n\r\nYSxiCjEsMgo=\r\n--m--\r\n").encode()
    with smtplib.SMTP("127.0.0.1", gateway.port, timeout=30) as client:
        client.sendmail("clerk@citrus.example", ["r@example.com"], content)
    received = delivered(sink, marker)
    assert received is not None
    parsed = email.message_from_bytes(received.content, policy=default_policy)
    assert parsed["Subject"] == "Café"  # an encoded tag is removed too
    assert parsed["X-DLP-Exception"].startswith("credit-reporting; ref=")
    body, attachment = [p for p in parsed.walk() if not p.is_multipart()]
    assert body.get_content().count(CITRUS) == 1
    assert attachment.get_content() == "a,b\n1,2\n"  # the attachment is passed on untouched


def test_values_written_where_the_sender_controls_text_never_come_back(
        gateway: Gateway, sink: Sink, store: QuarantineStore) -> None:
    sent = send(gateway, "clerk@citrus.example", ["resident@example.com"], subject=f"SSN {SSN} for Bob",
                extra=f"X-DLP-Purpose: {SSN}\r\n")
    assert sent.code == 250 and SSN not in sent.text and "not a known one" in sent.text
    held = store.get(sent.text.split(" as ", 1)[1].split()[0])
    assert held is not None and held.subject == "SSN ***-**-6789 for Bob"
    record = audit_for(store, sent.marker, "quarantine")
    assert SSN not in str(record) and record["details"]["declared"] == "unknown"  # type: ignore[index]
    marker = uuid.uuid4().hex
    raw = message("clerk@citrus.example", ["resident@example.com"], "hi", f"SSN {SSN}", marker)
    raw = raw.replace(f"<{marker}@test.invalid>".encode(), f"<{marker}.x.{SSN}@test.invalid>".encode())
    with smtplib.SMTP("127.0.0.1", gateway.port, timeout=30) as client:
        client.sendmail("clerk@citrus.example", ["resident@example.com"], raw)   # a value in the Message-ID
    record = audit_for(store, marker, "quarantine")
    assert SSN not in str(record) and "***-**-6789@test.invalid" in str(record["details"])
    blocked = send(gateway, "clerk@lancaster.example", ["resident@example.com"], subject=f"[purpose:{SSN}]")
    assert blocked.code == 550 and SSN not in blocked.text
    assert SSN not in gateway.log_text()


def test_the_null_sender_is_relayed(gateway: Gateway, sink: Sink) -> None:
    marker = uuid.uuid4().hex
    with smtplib.SMTP("127.0.0.1", gateway.port, timeout=30) as client:
        client.ehlo("mta.test.invalid")
        assert client.mail("<>")[0] == 250
        assert client.rcpt("resident@example.com")[0] == 250
        code, _ = client.data(f"Subject: Delivery report\r\nMessage-ID: <{marker}@t>\r\n\r\nok\r\n".encode())
    assert code == 250
    received = delivered(sink, marker)
    assert received is not None and received.mail_from == "<>"
