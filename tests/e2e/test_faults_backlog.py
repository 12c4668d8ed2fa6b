"""The listen backlog is the configured one (1024 by default), not asyncio's
100: a burst of connections to a busy worker waits in the kernel's queue and
every client gets its greeting (or a 421) once the worker catches up."""

from __future__ import annotations

import selectors
import signal
import socket
import time
from collections.abc import Callable

from tests.e2e.harness import Gateway, Sink

StartGateway = Callable[..., Gateway]
BURST = 400


def test_a_burst_beyond_100_connections_is_queued_and_answered(sink: Sink, start_gateway: StartGateway) -> None:
    gateway = start_gateway(sink.port, {"smtp": {"max_sessions": 1000}})
    assert gateway.process is not None
    gateway.process.send_signal(signal.SIGSTOP)    # a worker too busy to accept
    socks: list[socket.socket] = []
    try:
        for _ in range(BURST):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", gateway.port))
            socks.append(sock)
        # A handshake completes only while the accept queue has room.
        selector = selectors.DefaultSelector()
        for sock in socks:
            selector.register(sock, selectors.EVENT_WRITE)
        connected: set[socket.socket] = set()
        deadline = time.monotonic() + 5
        while len(connected) < BURST and time.monotonic() < deadline:
            for key, _ in selector.select(0.2):
                connected.add(key.fileobj)  # type: ignore[arg-type]
                selector.unregister(key.fileobj)
        selector.close()
        assert len(connected) == BURST, f"only {len(connected)} of {BURST} were queued"
    finally:
        gateway.process.send_signal(signal.SIGCONT)
    answered = 0
    selector = selectors.DefaultSelector()
    for sock in socks:
        selector.register(sock, selectors.EVENT_READ)
    deadline = time.monotonic() + 60
    while answered < BURST and time.monotonic() < deadline:
        for key, _ in selector.select(0.5):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            data = sock.recv(512)
            assert data[:3] in (b"220", b"421"), data
            answered += 1
            selector.unregister(sock)
            sock.close()
    selector.close()
    for sock in socks:
        sock.close()
    assert answered == BURST
