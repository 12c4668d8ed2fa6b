"""The gateway's chunked DATA reader over real SMTP (gateway.smtpdata): the
body as the client meant it, the commands after it, and the refusals.
A real gateway process and a real sink."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.e2e.fuzz import edge
from tests.e2e.harness import Gateway, Sink, shared_sink

SENDER = "clerk@citrus.example"   # internal: delivered after the scan


sink = shared_sink()


@pytest.fixture(scope="module")
def gateway(sink: Sink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    server = edge.start(tmp_path_factory.mktemp("chunks"), sink.port,
                        {"workers": 1, "smtp": {"max_message_size": 20000, "max_line_length": 1001}})
    yield server
    server.stop()


class Raw:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""

    def reply(self) -> str:
        while True:
            end = self.buf.find(b"\r\n")
            if end >= 0:
                line, self.buf = self.buf[:end], self.buf[end + 2:]
                if line[3:4] != b"-":
                    return line.decode()
                continue
            chunk = self.sock.recv(65536)
            if not chunk:
                return "closed"
            self.buf += chunk

    def close(self) -> None:
        self.sock.close()


def open_transaction(gateway: Gateway, rcpt: str = "b@citrus.example") -> Raw:
    client = Raw(gateway.port)
    assert client.reply().startswith("220")
    for command in ("EHLO t", f"MAIL FROM:<{SENDER}>", f"RCPT TO:<{rcpt}>"):
        client.sock.sendall(command.encode() + b"\r\n")
        assert client.reply().startswith("250"), command
    return client


BODY = (b"From: clerk@citrus.example\r\nSubject: dots\r\n\r\n.leading dot\r\n..two dots\r\n"
        b"middle . dot\r\n. \r\nlast\r\n")


def test_dots_and_pipelined_commands(gateway: Gateway, sink: Sink) -> None:
    before = len(sink.messages)
    client = open_transaction(gateway)
    client.sock.sendall(b"DATA\r\n")
    assert client.reply().startswith("354")
    # The body, its end and the next transaction in one write, split mid-marker.
    stuffed = BODY.replace(b"\r\n.", b"\r\n..")
    wire = stuffed + b".\r\nRSET\r\nNOOP\r\n"
    client.sock.sendall(wire[:len(stuffed) + 1])
    client.sock.sendall(wire[len(stuffed) + 1:])
    assert client.reply().startswith("250 2.0.0"), "DATA"
    assert client.reply().startswith("250"), "RSET"
    assert client.reply().startswith("250"), "NOOP"
    client.close()
    [got] = sink.wait_for(before + 1)[before:]
    assert got.content.endswith(BODY)
    assert b"\r\n.leading dot\r\n..two dots\r\n" in got.content


def test_body_sent_before_the_354(gateway: Gateway, sink: Sink) -> None:
    before = len(sink.messages)
    client = open_transaction(gateway)
    client.sock.sendall(b"DATA\r\n" + BODY.replace(b"\r\n.", b"\r\n..") + b".\r\nQUIT\r\n")
    assert client.reply().startswith("354")
    assert client.reply().startswith("250 2.0.0")
    assert client.reply().startswith("221")
    client.close()
    [got] = sink.wait_for(before + 1)[before:]
    assert got.content.endswith(BODY)


@pytest.mark.parametrize("body, reply", [
    (b"Subject: long\r\n\r\n" + b"x" * 1200 + b"\r\n", "500"),
    (b"Subject: big\r\n\r\n" + b"y" * 900 * 30 + b"\r\n", "500"),
    (b"Subject: big\r\n\r\n" + (b"y" * 900 + b"\r\n") * 30, "552 5.3.4"),
])
def test_refusals_and_the_session_goes_on(gateway: Gateway, sink: Sink, body: bytes, reply: str) -> None:
    before = len(sink.messages)
    client = open_transaction(gateway)
    client.sock.sendall(b"DATA\r\n")
    assert client.reply().startswith("354")
    client.sock.sendall(body + b".\r\n")
    assert client.reply().startswith(reply)
    client.sock.sendall(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<b@citrus.example>\r\nDATA\r\n".encode())
    assert client.reply().startswith("250") and client.reply().startswith("250")
    assert client.reply().startswith("354")
    client.sock.sendall(b"Subject: ok\r\n\r\nsmall\r\n.\r\n")
    assert client.reply().startswith("250 2.0.0")
    client.close()
    assert len(sink.wait_for(before + 1)) == before + 1
