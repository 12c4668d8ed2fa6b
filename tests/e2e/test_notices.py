"""Notices are built and sent by one module (gateway.notify): the review app's notice
of a deletion goes out like the gateway's, with SMTPUTF8 when an address needs it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default

from gateway import notify
from gateway.config import RelaySettings
from gateway.quarantine.records import HeldMessage
from tests.e2e.harness import Sink

SENDER = "józef.nowak@citrus.example"


def held(mail_from: str) -> HeldMessage:
    return HeldMessage(id="Q0123456789ABCDEF", received_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
                       mail_from=mail_from, rcpt_tos=("a@outside.example", "b@outside.example"),
                       subject="SSN ***-**-6789", profile="citrus-water", action="quarantine",
                       reasons=("sensitive data",), findings=(), size=100, status="held",
                       decided_by=None, decided_at=None, note=None)


def test_a_deletion_notice_to_a_non_ascii_sender_goes_out_with_smtputf8(sink: Sink) -> None:
    relay = RelaySettings.model_validate({"address": f"127.0.0.1:{sink.port}", "starttls": "off"})
    notice = notify.deleted_notice("dlp@citrus.example", held(SENDER), "not a business need")
    asyncio.run(notify.relay_once(relay, "dlp@citrus.example", [SENDER], notice))
    [received] = sink.wait_for(1)
    assert received.rcpt_tos == [SENDER] and "SMTPUTF8" in received.mail_options
    parsed = message_from_bytes(received.content, policy=default)
    assert parsed["Subject"] == "Your message was not delivered (Q0123456789ABCDEF)"
    assert parsed["Auto-Submitted"] == "auto-generated"
    text = parsed.get_content()
    assert "Reason: not a business need" in text and "2 recipient(s)" in text and "citrus-water" in text


def test_an_ascii_notice_goes_out_without_smtputf8(sink: Sink) -> None:
    relay = RelaySettings.model_validate({"address": f"127.0.0.1:{sink.port}", "starttls": "off"})
    notice = notify.deleted_notice("dlp@citrus.example", held("clerk@citrus.example"), "duplicate")
    asyncio.run(notify.relay_once(relay, "dlp@citrus.example", ["clerk@citrus.example"], notice))
    [received] = sink.wait_for(1)
    assert received.rcpt_tos == ["clerk@citrus.example"] and "SMTPUTF8" not in received.mail_options
