"""STARTTLS to the downstream, verified against a CA file, with a real TLS sink."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Gateway, Sink

StartGateway = Callable[..., Gateway]
BODY = b"Subject: tls\r\n\r\nover TLS\r\n"



@pytest.fixture
def tls_sink(certificate: tuple[Path, Path]) -> Iterator[Sink]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    server = Sink(tls_context=context).start()
    yield server
    server.stop()


def send(gateway: Gateway) -> dict[str, tuple[int, bytes]]:
    with smtplib.SMTP("127.0.0.1", gateway.port) as client:
        return client.sendmail("a@citrus.example", ["b@example.com"], BODY)


def test_required_starttls_with_verified_certificate(tls_sink: Sink, certificate: tuple[Path, Path],
                                                     start_gateway: StartGateway) -> None:
    gateway = start_gateway(tls_sink.port, {"relay": {"starttls": "required",
                                                      "ca_file": str(certificate[0])}})
    assert send(gateway) == {}
    [message] = tls_sink.wait_for(1)
    assert message.tls


def test_unverifiable_certificate_is_refused_451(tls_sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(tls_sink.port, {"relay": {"starttls": "required"}})  # system CAs only
    with pytest.raises(smtplib.SMTPDataError) as refused:   # detached: 451 at the end of DATA
        send(gateway)
    assert refused.value.smtp_code == 451
    assert tls_sink.messages == []


def test_required_starttls_without_offer_is_451(sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port, {"relay": {"starttls": "required"}})
    with pytest.raises(smtplib.SMTPDataError) as refused:   # detached: 451 at the end of DATA
        send(gateway)
    assert refused.value.smtp_code == 451
    assert sink.messages == []


def test_opportunistic_uses_tls_when_offered(tls_sink: Sink, certificate: tuple[Path, Path],
                                             start_gateway: StartGateway) -> None:
    gateway = start_gateway(tls_sink.port, {"relay": {"starttls": "opportunistic",
                                                      "ca_file": str(certificate[0])}})
    assert send(gateway) == {}
    assert tls_sink.wait_for(1)[0].tls


def test_opportunistic_sends_in_clear_when_not_offered(sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port, {"relay": {"starttls": "opportunistic"}})
    assert send(gateway) == {}
    assert not sink.wait_for(1)[0].tls
