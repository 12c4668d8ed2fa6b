"""Workers sharing one listening socket keep their sessions level (gateway.accept):
real sockets and uvloop's own server, one event loop standing in for each worker's,
the shared array a list."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import uvloop

from gateway import accept
from gateway.config import HostPort
from gateway.listen import listening_socket

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")
BACKLOG = 128


class Held(asyncio.Protocol):
    """A session: counted while its connection is open."""

    def __init__(self, sessions: set[Held], changed: list[accept.Acceptor]) -> None:
        self.sessions = sessions
        self.changed = changed

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.sessions.add(self)
        self.changed[0].changed()

    def connection_lost(self, exc: Exception | None) -> None:
        self.sessions.discard(self)
        self.changed[0].changed()


class Rig:
    """The shared socket, the workers' acceptors and the clients; ``close`` ends them all,
    so a failing test leaves no transport for the loop's teardown to warn about."""

    def __init__(self, counts: list[int]) -> None:
        self.sock = listening_socket(HostPort("127.0.0.1", 0), reuse_port=True, backlog=BACKLOG)
        self.port = self.sock.getsockname()[1]
        self.counts = counts
        self.acceptors: list[accept.Acceptor] = []
        self.sessions: list[set[Held]] = []
        self.clients: list[socket.socket] = []

    async def worker(self, index: int, failed: Callable[[], None] = lambda: None
                     ) -> tuple[accept.Acceptor, set[Held]]:
        """One worker's acceptor, on its own descriptor of the shared socket."""
        sessions: set[Held] = set()
        box: list[accept.Acceptor] = []
        acceptor = accept.Acceptor(asyncio.get_running_loop(), self.sock.dup(), lambda: Held(sessions, box),
                                   lambda: len(sessions), accept.Balance(self.counts, index), BACKLOG, failed)
        box.append(acceptor)
        self.acceptors.append(acceptor)
        self.sessions.append(sessions)
        await acceptor.start()
        return acceptor, sessions

    def connect(self) -> socket.socket:
        client = socket.create_connection(("127.0.0.1", self.port))
        self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.close()
        for sessions in self.sessions:
            for session in list(sessions):
                session.transport.close()
        for acceptor in self.acceptors:
            acceptor.close()
        self.sock.close()


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.001)


def run(main: Callable[[Rig], Coroutine[Any, Any, T]], counts: list[int]) -> T:
    """``main`` on a rig in a uvloop event loop; the rig closed however it ends."""
    async def wrapper() -> T:
        rig = Rig(counts)
        try:
            return await main(rig)
        finally:
            rig.close()

    return uvloop.run(wrapper())


def test_connections_opened_together_are_shared() -> None:
    """20 connections opened within milliseconds: whichever worker is awake would
    take them all (here always the same one: each is taken before the next arrives)."""
    async def main(rig: Rig) -> tuple[int, int]:
        first, held_first = await rig.worker(0)
        second, held_second = await rig.worker(1)
        for _ in range(20):
            rig.connect()
            await asyncio.sleep(0.0005)
        await until(lambda: len(held_first) + len(held_second) == 20)
        split = len(held_first), len(held_second)
        assert rig.counts == list(split)
        for client in rig.clients:
            client.close()
        await until(lambda: not held_first and not held_second)
        assert rig.counts == [0, 0]
        first.close()
        second.close()
        assert rig.counts == [accept.ABSENT, accept.ABSENT]
        return split

    first, second = run(main, [accept.ABSENT, accept.ABSENT])
    assert min(first, second) >= 6, (first, second)   # neither more than twice the other, plus one


def test_a_worker_ahead_takes_a_connection_the_others_leave_waiting() -> None:
    """The other worker holds fewer but takes nothing (busy, stopped): the connection
    waits about the patience, then the worker ahead takes it."""
    async def main(rig: Rig) -> float:
        acceptor, held = await rig.worker(0)   # slot 1: a worker that accepts, holds none, never wakes
        for _ in range(2):   # 2 > 2 * 0 + 1: ahead from the second on
            rig.connect()
            await until(lambda: len(held) == len(rig.clients))
        assert acceptor.server is None and acceptor.pauses == 1
        started = time.monotonic()
        rig.connect()
        await until(lambda: len(held) == 3)
        waited = time.monotonic() - started
        rig.connect()   # the other is stuck: this one keeps accepting a while, not a pause a connection
        await until(lambda: len(held) == 4)
        assert acceptor.pauses == 1 and acceptor.server is not None
        return waited

    assert run(main, [accept.ABSENT, 0]) >= accept._PATIENCE


def test_a_worker_no_longer_ahead_accepts_again() -> None:
    async def main(rig: Rig) -> None:
        acceptor, held = await rig.worker(0)
        for _ in range(2):
            rig.connect()
            await until(lambda: len(held) == len(rig.clients))
        assert acceptor.server is None
        rig.clients.pop().close()   # a session ends: 1 is not more than 2 * 0 + 1
        await until(lambda: acceptor.server is not None)
        rig.counts[1] = 5           # the other took connections meanwhile
        rig.connect()
        await until(lambda: len(held) == 2)

    run(main, [accept.ABSENT, 0])


def test_closing_withdraws_and_stops_accepting() -> None:
    async def main(rig: Rig) -> None:
        acceptor, held = await rig.worker(0)   # rig.sock, as another worker's, keeps the socket listening
        assert rig.counts[0] == 0
        acceptor.close()
        assert rig.counts[0] == accept.ABSENT and acceptor.sock.fileno() == -1
        rig.connect()
        await asyncio.sleep(0.05)
        assert not held          # queued for the others, not taken by the closed one
        queued, _ = rig.sock.accept()
        queued.close()

    run(main, [accept.ABSENT, accept.ABSENT])


_OUT_OF_DESCRIPTORS = """
import json, os, resource, sys
sys.path.insert(0, sys.argv[1])
from tests.unit.test_accept import run, until
from gateway import accept

async def main(rig):
    failures = []
    acceptor, held = await rig.worker(0, lambda: failures.append(1))
    for count in (1, 2):
        rig.connect()
        await until(lambda: len(held) == count)
    assert acceptor.server is None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 20, hard))
    taken = []   # every free descriptor: the copy to listen on cannot be made
    try:
        while True:
            taken.append(os.open("/dev/null", os.O_RDONLY))
    except OSError:
        pass
    rig.counts[1] = 5   # no longer ahead: it tries to listen again
    await until(lambda: failures)
    paused = acceptor.server is None
    for fd in taken:
        os.close(fd)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    await until(lambda: acceptor.server is not None)   # a second later
    rig.connect()
    await until(lambda: len(held) == 3)
    print(json.dumps({"paused": paused, "failures": len(failures)}), flush=True)

run(main, [accept.ABSENT, 0])
"""


def test_out_of_descriptors_to_listen_again_is_logged_and_retried() -> None:
    done = subprocess.run([sys.executable, "-c", _OUT_OF_DESCRIPTORS, str(ROOT)], capture_output=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"paused": True, "failures": 1}
    assert b"accepting connections paused" in done.stderr
