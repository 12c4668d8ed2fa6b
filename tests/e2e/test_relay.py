"""The relay over real sockets: smtplib -> gateway (subprocess) -> aiosmtpd sink."""

from __future__ import annotations

import smtplib
import socket
import time
from collections.abc import Callable

import pytest

from tests.e2e.harness import Gateway, Sink, free_port

StartGateway = Callable[..., Gateway]

# 8-bit UTF-8 and Latin-1 bytes, a 5,000-byte line, lines starting with dots
# (dot-stuffing), a bare "." inside a line, trailing spaces, and CRLF throughout.
BODY = (b"Subject: =?utf-8?q?caf=C3=A9?=\r\nFrom: a@citrus.example\r\nTo: b@example.com\r\n"
        b"Message-ID: <id-1@citrus.example>\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        b"Caf\xc3\xa9 cr\xc3\xa8me br\xc3\xbbl\xc3\xa9e \xe9 latin-1 byte   \r\n"
        b".leading dot\r\n..two dots\r\n.\r\n" + b"x" * 5000 + b"\r\n"
        b"last line without anything special\r\n")


def send(gateway: Gateway, sender: str, recipients: list[str], body: bytes = BODY,
         **options: object) -> dict[str, tuple[int, bytes]]:
    with smtplib.SMTP("127.0.0.1", gateway.port, timeout=10) as client:
        return client.sendmail(sender, recipients, body, **options)  # type: ignore[arg-type]


def split_added(content: bytes) -> tuple[list[bytes], bytes]:
    """Return the header lines the gateway prepended and the untouched rest."""
    lines = content.split(b"\r\n")
    added: list[bytes] = []
    index = 0
    while lines[index].startswith((b"Received:", b"X-DLP-Verdict:", b"\t")):
        added.append(lines[index])
        index += 1
    return added, b"\r\n".join(lines[index:])


def test_delivers_every_byte_unchanged_with_trace_headers(sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port)
    refused = send(gateway, "a@citrus.example", ["b@example.com"])
    assert refused == {}
    [message] = sink.wait_for(1)
    added, rest = split_added(message.content)
    assert rest == BODY
    assert added[0].startswith(b"Received: from ")
    assert b"by gw.test.invalid (dlp-gateway) with ESMTP id " in b"\n".join(added)
    assert b"X-DLP-Verdict: deliver; profile=citrus-water" in added
    assert message.mail_from == "a@citrus.example"
    assert message.rcpt_tos == ["b@example.com"]
    entry = gateway.wait_log("message")
    assert entry["action"] == "deliver" and entry["reply"] == "250"
    assert entry["message_id"] == "<id-1@citrus.example>" and entry["recipients"] == 1
    assert entry["downstream"].startswith("250 2.0.0 Ok: queued by sink")


def test_reply_carries_queue_id_of_the_log_line(sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port)
    with smtplib.SMTP("127.0.0.1", gateway.port) as client:
        client.ehlo()
        client.mail("a@citrus.example")
        client.rcpt("b@example.com")
        code, text = client.data(BODY)
    assert code == 250
    queue_id = gateway.wait_log("message")["queue_id"]
    assert text.decode().endswith(f"queued as {queue_id}")


def test_multiple_recipients_one_delivery(sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port)
    recipients = [f"user{i}@example.com" for i in range(5)]
    assert send(gateway, "a@citrus.example", recipients) == {}
    [message] = sink.wait_for(1)
    assert message.rcpt_tos == recipients
    assert b"\tfor <" not in message.content.split(b"X-DLP-Verdict")[0]


def test_reuses_downstream_connections(sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port)
    for _ in range(5):
        send(gateway, "a@citrus.example", ["b@example.com"])
    assert len(sink.wait_for(5)) == 5
    assert sink.handler.connections == 1


def test_downstream_down_answers_451_and_delivers_nothing(start_gateway: StartGateway) -> None:
    gateway = start_gateway(free_port())
    # The session goes on detached (a hold or block would be carried out); a
    # delivery is refused at the end of DATA.
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(gateway, "a@citrus.example", ["b@example.com"])
    assert refused.value.smtp_code == 451
    assert refused.value.smtp_error.startswith(b"4.4.1")
    assert gateway.metric('dlp_relay_errors_total{reason="unavailable"}') >= 1
    assert "downstream failure" in gateway.log_text()


def test_downstream_refusing_one_recipient_refuses_only_that_one(sink: Sink, start_gateway: StartGateway) -> None:
    sink.handler.refuse["nobody@example.com"] = "550 5.1.1 <nobody@example.com>: User unknown"
    gateway = start_gateway(sink.port)
    refused = send(gateway, "a@citrus.example", ["b@example.com", "nobody@example.com"])
    assert refused == {"nobody@example.com": (550, b"5.1.1 <nobody@example.com>: User unknown")}
    [message] = sink.wait_for(1)
    assert message.rcpt_tos == ["b@example.com"]


def test_downstream_refusing_every_recipient_delivers_nothing(sink: Sink, start_gateway: StartGateway) -> None:
    sink.handler.refuse["nobody@example.com"] = "550 5.1.1 User unknown"
    gateway = start_gateway(sink.port)
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(gateway, "a@citrus.example", ["nobody@example.com"])
    time.sleep(0.2)
    assert sink.messages == []


def test_downstream_temporary_recipient_failure_is_451(sink: Sink, start_gateway: StartGateway) -> None:
    sink.handler.refuse["later@example.com"] = "452 4.2.2 Mailbox full"
    gateway = start_gateway(sink.port)
    refused = send(gateway, "a@citrus.example", ["b@example.com", "later@example.com"])
    assert refused["later@example.com"][0] == 451
    assert sink.wait_for(1)[0].rcpt_tos == ["b@example.com"]


@pytest.mark.parametrize(("downstream", "code"), [("451 4.3.0 try later", 451), ("554 5.6.0 rejected", 554)])
def test_downstream_data_refusal_is_passed_on(sink: Sink, start_gateway: StartGateway,
                                              downstream: str, code: int) -> None:
    sink.handler.data_reply = downstream
    gateway = start_gateway(sink.port)
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(gateway, "a@citrus.example", ["b@example.com"])
    assert refused.value.smtp_code == code
    # The connection stays usable: the next message goes through.
    sink.handler.data_reply = None
    assert send(gateway, "a@citrus.example", ["b@example.com"]) == {}


def test_downstream_timeout_answers_451(sink: Sink, start_gateway: StartGateway) -> None:
    sink.handler.data_delay = 3
    gateway = start_gateway(sink.port, {"relay": {"timeout": 1}})
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(gateway, "a@citrus.example", ["b@example.com"])
    assert refused.value.smtp_code == 451 and refused.value.smtp_error.startswith(b"4.4.2")
    assert gateway.metric('dlp_relay_errors_total{reason="lost"}') == 1


def test_downstream_closing_pooled_connections_is_not_an_error(sink: Sink, start_gateway: StartGateway) -> None:
    sink.handler.close_after_data = True
    gateway = start_gateway(sink.port)
    for i in range(6):
        assert send(gateway, "a@citrus.example", [f"r{i}@example.com"]) == {}
        if i % 2:
            time.sleep(0.1)  # half the time the close has arrived before the next MAIL
    assert len(sink.wait_for(6)) == 6
    assert gateway.metric('dlp_relay_errors_total{reason="lost"}') == 0


def test_downstream_idle_timeout_closing_pool_is_not_an_error(start_gateway: StartGateway) -> None:
    sink = Sink(timeout=0.5).start()
    try:
        gateway = start_gateway(sink.port)
        send(gateway, "a@citrus.example", ["b@example.com"])
        time.sleep(1.0)  # the sink drops the idle pooled connection
        assert send(gateway, "a@citrus.example", ["c@example.com"]) == {}
        assert len(sink.wait_for(2)) == 2
    finally:
        sink.stop()


def test_oversize_message_is_refused_552(sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port, {"smtp": {"max_message_size": 4096}})
    with smtplib.SMTP("127.0.0.1", gateway.port) as client:
        client.ehlo()
        assert client.esmtp_features["size"] == "4096"
        code, text = client.mail("a@citrus.example", ["SIZE=10000"])
        assert (code, text[:5]) == (552, b"5.3.4")
        assert client.mail("a@citrus.example")[0] == 250
        assert client.rcpt("b@example.com")[0] == 250
        code, text = client.data(b"Subject: big\r\n\r\n" + b"y" * 8000 + b"\r\n")
        assert (code, text[:5]) == (552, b"5.3.4")
        # The session goes on: a message within the limit is delivered.
        assert send(gateway, "a@citrus.example", ["b@example.com"], b"Subject: ok\r\n\r\nsmall\r\n") == {}
    assert len(sink.wait_for(1)) == 1
    time.sleep(0.2)
    assert len(sink.messages) == 1


def test_recipient_limit(sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port, {"smtp": {"max_recipients": 2}})
    refused = send(gateway, "a@citrus.example", ["a@example.com", "b@example.com", "c@example.com"])
    assert refused == {"c@example.com": (452, b"4.5.3 Too many recipients")}
    assert sink.wait_for(1)[0].rcpt_tos == ["a@example.com", "b@example.com"]


def test_untrusted_client_is_refused_554_at_connect(sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port, {"smtp": {"trusted_networks": ["192.0.2.0/24"]}})
    with pytest.raises(smtplib.SMTPConnectError) as refused:
        smtplib.SMTP("127.0.0.1", gateway.port, timeout=5)
    assert refused.value.smtp_code == 554
    assert refused.value.smtp_error.startswith(b"5.7.1")
    assert sink.handler.connections == 0


def test_session_cap_answers_421(sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port, {"smtp": {"max_sessions": 2}})
    first = smtplib.SMTP("127.0.0.1", gateway.port)
    second = smtplib.SMTP("127.0.0.1", gateway.port)
    with pytest.raises(smtplib.SMTPConnectError) as refused:
        smtplib.SMTP("127.0.0.1", gateway.port, timeout=5)
    assert refused.value.smtp_code == 421
    first.quit()
    second.quit()


def test_smtputf8_and_8bitmime_are_passed_on(sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port)
    body = "Subject: ünïcödé\r\n\r\nCafé\r\n".encode()
    with smtplib.SMTP("127.0.0.1", gateway.port) as client:
        client.ehlo()
        assert client.has_extn("smtputf8") and client.has_extn("8bitmime")
        client.sendmail("josé@citrus.example", ["müller@example.com"], body,
                        mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    [message] = sink.wait_for(1)
    assert message.mail_from == "josé@citrus.example"
    assert message.rcpt_tos == ["müller@example.com"]
    assert {"SMTPUTF8", "BODY=8BITMIME"} <= set(message.mail_options)
    assert split_added(message.content)[1] == body
    assert b"with UTF8SMTP id" in message.content


def _data_segments_in(sock: socket.socket) -> int:
    """The kernel's count of segments with data that ``sock`` received (TCP_INFO
    tcpi_data_segs_in, Linux 4.6 and later)."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 160)
    return int.from_bytes(info[152:156], "little")


@pytest.mark.skipif(not hasattr(socket, "TCP_INFO"), reason="TCP_INFO is Linux's")
def test_ehlo_reply_is_one_write(sink: Sink, start_gateway: StartGateway) -> None:
    # Each line of a multi-line reply in a write of its own (aiosmtpd's way) costs the
    # gateway a socket write a line, and the client a read a line, on every connection.
    gateway = start_gateway(sink.port)
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as raw:
        reader = raw.makefile("rb")
        assert reader.readline().startswith(b"220")
        before = _data_segments_in(raw)
        assert before >= 1   # the greeting (a kernel before 4.6 has no such counter: reads 0)
        raw.sendall(b"EHLO client.test\r\n")
        lines = [reader.readline()]
        while lines[-1][3:4] == b"-":
            lines.append(reader.readline())
        assert len(lines) >= 5 and lines[-1].startswith(b"250 ")
        assert {b"8BITMIME", b"SMTPUTF8", b"XFORWARD"} <= {line[4:].split()[0] for line in lines}
        assert _data_segments_in(raw) - before == 1
        raw.sendall(b"QUIT\r\n")
        assert reader.readline().startswith(b"221")
        reader.close()
    # 220, EHLO's 250 and 221 at least (the harness's own probe at start may add a greeting)
    assert gateway.metric('dlp_smtp_replies_total{class="2xx"}') >= 3


def test_metrics_endpoint(sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port)
    send(gateway, "a@citrus.example", ["b@example.com"])
    text = gateway.metrics()
    assert gateway.metric('dlp_messages_total{action="deliver",profile="citrus-water"}') == 1
    assert gateway.metric("dlp_message_processing_seconds_count") == 1
    assert gateway.metric('dlp_smtp_replies_total{class="2xx"}') >= 4
    for name in ("dlp_findings_total", "dlp_relay_errors_total", "dlp_quarantine_messages",
                 "dlp_smtp_sessions_in_flight", "dlp_relay_pool_connections", "dlp_build_info"):
        assert f"# TYPE {name.removesuffix('_total')}" in text, name
    assert gateway.metric('dlp_relay_pool_connections{state="idle"}') == 1


def test_client_vanishing_mid_transaction_loses_nothing_and_leaks_no_connection(
        sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port)
    raw = socket.create_connection(("127.0.0.1", gateway.port))
    for command in (b"EHLO me\r\n", b"MAIL FROM:<a@citrus.example>\r\n", b"RCPT TO:<b@example.com>\r\n",
                    b"DATA\r\n", b"Subject: cut\r\n\r\nhalf a mess"):
        raw.sendall(command)
        time.sleep(0.05)
    raw.close()
    time.sleep(0.3)
    assert sink.messages == []
    assert send(gateway, "a@citrus.example", ["b@example.com"]) == {}
    assert len(sink.wait_for(1)) == 1


def test_findings_are_counted_and_never_logged(sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port)
    body = (b"Subject: payroll\r\n\r\nSSN 219-45-6789, card 4111 1111 1111 1111, "
            b"routing number 021000021.\r\n")
    assert send(gateway, "a@citrus.example", ["b@example.com"], body) == {}  # 250: quarantined
    assert sink.messages == []
    entry = gateway.wait_log("message")
    assert entry["action"] == "quarantine" and entry["quarantine_id"].startswith("Q")
    assert entry["findings"] == {"US_SSN": 1, "CREDIT_CARD": 1, "US_BANK_ROUTING": 1}
    assert gateway.metric('dlp_findings_total{entity="US_SSN"}') == 1
    assert gateway.metric('dlp_findings_total{entity="CREDIT_CARD"}') == 1
    exposed = gateway.log_text() + gateway.metrics()
    for value in ("219-45-6789", "219456789", "4111 1111 1111 1111", "021000021"):
        assert value not in exposed


def test_large_message_is_scanned_off_the_event_loop(sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port, {"detection": {"thread_above": 1000}})
    body = b"Subject: big\r\n\r\n" + b"filler line of text\r\n" * 2000 + b"SSN 219-45-6789\r\n"
    assert send(gateway, "a@citrus.example", ["b@example.com"], body) == {}
    assert gateway.wait_log("message")["findings"] == {"US_SSN": 1}


def test_hostile_attachments_are_noted_and_nothing_breaks(sink: Sink, start_gateway: StartGateway) -> None:
    import base64
    import io
    import zipfile
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.txt", b"0" * 60_000_000)  # ~60 KB compressed, 60 MB inflated
    encoded = base64.encodebytes(bomb.getvalue()).replace(b"\n", b"\r\n")
    message = (b"Subject: attachments\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
               b"--B\r\nContent-Type: text/plain; charset=no-such-charset\r\n\r\nSSN 219-45-6789\r\n"
               b"--B\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n"
               b"Content-Disposition: attachment; filename=bomb.zip\r\n\r\n" + encoded +
               b"--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=x.pdf\r\n"
               b"\r\n%PDF-1.4 this is not a pdf\r\n"
               b"--B\r\nContent-Type: text/html\r\n\r\n<p>unterminated <b>boundary\r\n")
    assert send(gateway := start_gateway(sink.port), "a@citrus.example", ["b@example.com"], message) == {}
    entry = gateway.wait_log("message")
    assert entry["action"] == "quarantine"  # held whole: its parts could not all be read
    assert sink.messages == []
    assert entry["findings"] == {"US_SSN": 1}
    assert "compression-ratio" in entry["unscannable"] and "corrupt" in entry["unscannable"]
