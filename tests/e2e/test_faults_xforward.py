"""XFORWARD: advertised to trusted clients, validated, logged, and passed to a
downstream that offers it, so a real Postfix's re-injection log names the
user's client rather than the gateway."""

from __future__ import annotations

import re
import shutil
import smtplib
import tempfile
from collections.abc import Callable
from pathlib import Path

from tests.conftest import require_system
from tests.e2e.harness import Gateway, Sink
from tests.e2e.postfix import PostfixInstance, free_port, postfix_available

StartGateway = Callable[..., Gateway]
MESSAGE = (b"From: clerk@citrus.example\r\nTo: resident@example.com\r\nSubject: xforward\r\n"
           b"Message-ID: <xf-1@citrus.example>\r\n\r\nhello\r\n")


def test_xforward_is_validated_logged_and_kept_for_one_transaction(sink: Sink,
                                                                     start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port)
    with smtplib.SMTP("127.0.0.1", gateway.port, timeout=30) as smtp:
        smtp.ehlo("mta.test.invalid")
        assert smtp.has_extn("xforward")
        assert smtp.esmtp_features["xforward"].split() == ["NAME", "ADDR", "PROTO", "HELO", "SOURCE"]
        assert smtp.docmd("XFORWARD", "ADDR=not-an-ip")[0] == 501
        assert smtp.docmd("XFORWARD", "PORT=25")[0] == 501
        assert smtp.docmd("XFORWARD", "HELO=bad\x01helo")[0] == 501
        assert smtp.docmd("XFORWARD", "NAME=pc7.example.org ADDR=192.0.2.7 PROTO=ESMTP")[0] == 250
        assert smtp.docmd("XFORWARD", "HELO=[192.0.2.7] SOURCE=REMOTE")[0] == 250
        smtp.mail("clerk@citrus.example")
        assert smtp.docmd("XFORWARD", "ADDR=192.0.2.8")[0] == 503     # not inside a transaction
        smtp.rcpt("resident@example.com")
        assert smtp.data(MESSAGE)[0] == 250
        smtp.mail("clerk@citrus.example")
        smtp.rcpt("resident@example.com")
        assert smtp.data(MESSAGE)[0] == 250
    first, second = [e for e in gateway.log_entries() if e.get("msg") == "message"]
    assert first["client"] == {"name": "pc7.example.org", "addr": "192.0.2.7", "proto": "ESMTP",
                               "helo": "[192.0.2.7]", "source": "REMOTE"}
    assert "client" not in second       # XFORWARD holds for one transaction


def test_postfix_reinjection_log_names_the_users_client(sink: Sink,
                                                        start_gateway: StartGateway) -> None:
    require_system(postfix_available())
    reinject = free_port()
    gateway = start_gateway(reinject)
    # Outside pytest's own 0700 directory, which a concurrent pytest run may
    # chmod back while the postfix user needs to reach this one.
    base = Path(tempfile.mkdtemp(prefix="dlp-postfix-"))
    postfix = PostfixInstance(base / "postfix", smtpd_port=free_port(), filter_port=gateway.port,
                              reinject_port=reinject, sink_port=sink.port)
    try:
        postfix.start()
        # The user's client on 127.0.0.2; the gateway connects from 127.0.0.1.
        with smtplib.SMTP("127.0.0.1", postfix.ports["smtpd_port"], timeout=30,
                          source_address=("127.0.0.2", 0)) as client:
            assert client.sendmail("clerk@citrus.example", ["resident@example.com"], MESSAGE) == {}
        assert sink.wait_for(1, timeout=60), f"{postfix.log()}\n{gateway.log_text()}"
        log = postfix.log(tail=500)
    finally:
        postfix.stop()
        shutil.rmtree(base, ignore_errors=True)
    # Received from the user, then re-injected by the gateway: Postfix names
    # the connecting gateway as client and the forwarded one as orig_client.
    received = re.findall(r"smtpd\[\d+\]: [0-9A-F]+: (client=.*)", log)
    assert received[0] == "client=unknown[127.0.0.2]", log
    assert received[1] == "client=unknown[127.0.0.1], orig_client=unknown[127.0.0.2]", log
    entry = gateway.wait_log("message")
    assert entry["client"]["addr"] == "127.0.0.2"
