"""Audit events to a SIEM: a real syslog receiver (UDP, TCP or TLS socket
server run by the test) gets RFC 5424 (or CEF) records of blocks, holds and
releases, masked; with the receiver down, mail keeps flowing and the dropped
counter rises; when it comes back, the buffered events arrive."""

from __future__ import annotations

import re
import smtplib
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Gateway, Sink, free_port
from tests.e2e.ops_helpers import start_gateway  # noqa: F401  (fixture)
from tests.e2e.test_quarantine import SSN, cli, data, held_message

# Starts gateways (each worker loads the detectors) on a shared, loaded machine.
pytestmark = pytest.mark.timeout(300)

# RFC 5424 §6: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG
RFC5424 = re.compile(rb'^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z) (\S+) dlp-gateway (\d+) '
                     rb'(\S+) (\[dlp@32473 [^\]]*\]) (.*)$', re.S)


class Receiver:
    """A syslog collector: UDP datagrams, or TCP/TLS with octet-counted frames."""

    def __init__(self, transport: str, port: int | None = None,
                 context: ssl.SSLContext | None = None) -> None:
        self.messages: list[bytes] = []
        self.port = port or free_port()
        self.connections: list[socket.socket] = []
        messages, connections = self.messages, self.connections

        class Datagram(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                messages.append(self.request[0])

        class Stream(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                connections.append(self.connection)
                if context is None:
                    self.read_frames()
                    return
                with context.wrap_socket(self.connection, server_side=True) as tls:
                    with tls.makefile("rb") as self.rfile:
                        self.read_frames()

            def read_frames(self) -> None:
                while True:
                    length = b""
                    while (char := self.rfile.read(1)) not in (b" ", b""):
                        length += char
                    if not length:
                        return
                    messages.append(self.rfile.read(int(length)))

        server_class: Any
        if transport == "udp":
            server_class, handler = socketserver.ThreadingUDPServer, Datagram
        else:
            server_class, handler = socketserver.ThreadingTCPServer, Stream
        server_class.allow_reuse_address = True
        server_class.daemon_threads = True
        self.server = server_class(("127.0.0.1", self.port), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop listening and drop every connection, as a collector going down does."""
        self.server.shutdown()
        self.server.server_close()
        for connection in self.connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def wait_for(self, count: int, timeout: float = 20.0) -> list[bytes]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.messages) >= count, self.messages
        return list(self.messages)


def events(messages: list[bytes]) -> list[str]:
    found = []
    for message in messages:
        match = RFC5424.match(message)
        assert match, message
        found.append(match.group(5).decode())
    return found



@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    started: list[Receiver] = []
    yield started
    for receiver in started:
        receiver.stop()


def blocked(marker: str) -> bytes:
    return held_message(marker, sender="clerk@pomona.example")


@pytest.mark.parametrize("transport,fmt", [("tcp", "rfc5424"), ("udp", "cef"), ("tls", "rfc5424")])
def test_audit_events_reach_the_siem_masked(
        transport: str, fmt: str, sink: Sink, start_gateway: Callable[..., Gateway],
        receivers: list[Receiver], certificate: tuple[Path, Path]) -> None:
    context = None
    if transport == "tls":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*certificate)
    receiver = Receiver(transport, context=context)
    receivers.append(receiver)
    siem: dict[str, object] = {"address": f"127.0.0.1:{receiver.port}", "transport": transport, "format": fmt}
    if transport == "tls":
        siem["ca_file"] = str(certificate[0])
    # Two workers over TCP: each worker process forwards its own decisions.
    gateway = start_gateway(sink.port, {"siem": siem}, workers=2 if transport == "tcp" else 1)
    code, reply = data(gateway, held_message("siem-hold"))
    assert code == 250, reply
    held_id = re.search(r"as (Q[\w-]+)", reply)
    assert held_id, reply
    code, reply = data(gateway, blocked("siem-block"), sender="clerk@pomona.example")
    assert code == 550, reply
    released = cli(gateway, "quarantine", "release", held_id.group(1))
    assert released.returncode == 0, released.stderr
    messages = receiver.wait_for(3)
    assert sorted(events(messages)) == ["block", "quarantine", "release"]
    everything = b"\n".join(messages)
    assert SSN.encode() not in everything and SSN.replace("-", "").encode() not in everything
    assert b"US_SSN" in everything and b"pomona-pce" in everything
    hold = next(m for m in messages if b" quarantine [" in m)
    assert f'message_id="{held_id.group(1)}"'.encode() in hold
    if fmt == "cef":
        assert all(RFC5424.match(m).group(7).startswith(b"CEF:0|dlp-gateway|dlp-gateway|")  # type: ignore[union-attr]
                   for m in messages)
    else:
        assert all(RFC5424.match(m).group(7).startswith(b"\xef\xbb\xbf{") for m in messages)  # type: ignore[union-attr]


def test_collector_down_mail_flows_events_dropped_then_delivered(
        sink: Sink, start_gateway: Callable[..., Gateway], receivers: list[Receiver]) -> None:
    port = free_port()   # nothing listens here yet
    gateway = start_gateway(sink.port, {"siem": {"address": f"127.0.0.1:{port}", "transport": "tcp",
                                                 "buffer": 2}}, workers=1)
    assert gateway.metric("dlp_siem_events_dropped_total") == 0
    for i in range(6):
        code, reply = data(gateway, blocked(f"down-{i}"), sender="clerk@pomona.example")
        assert code == 550, reply
    # One event is with the sender thread, two wait in the buffer, the rest are dropped.
    assert gateway.metric("dlp_siem_events_dropped_total") >= 3
    with smtplib.SMTP("127.0.0.1", gateway.port, timeout=30) as client:
        assert client.sendmail("a@pomona.example", ["b@pomona.example"], b"Subject: hi\r\n\r\nhello\r\n") == {}
    receiver = Receiver("tcp", port=port)
    receivers.append(receiver)
    arrived = receiver.wait_for(3, timeout=30)
    assert set(events(arrived)) == {"block"}
    assert gateway.metric("dlp_siem_events_sent_total") >= 3
    assert any(e.get("msg") == "SIEM collector unreachable; audit events wait in the buffer"
               for e in gateway.log_entries())
    socket.create_connection(("127.0.0.1", gateway.port), timeout=5).close()


def test_collector_restart_loses_no_event_that_fit_in_the_buffer(
        sink: Sink, start_gateway: Callable[..., Gateway], receivers: list[Receiver]) -> None:
    first = Receiver("tcp")
    gateway = start_gateway(sink.port, {"siem": {"address": f"127.0.0.1:{first.port}", "transport": "tcp"}})
    assert data(gateway, blocked("up-0"), sender="clerk@pomona.example")[0] == 550
    assert events(first.wait_for(1)) == ["block"]
    first.stop()
    for i in range(1, 4):   # the collector is down: mail flows, events wait
        assert data(gateway, blocked(f"restart-{i}"), sender="clerk@pomona.example")[0] == 550
    second = Receiver("tcp", port=first.port)
    receivers.append(second)
    assert events(second.wait_for(3, timeout=60)) == ["block"] * 3
    assert gateway.metric("dlp_siem_events_dropped_total") == 0
    assert gateway.metric("dlp_siem_events_sent_total") == 4
