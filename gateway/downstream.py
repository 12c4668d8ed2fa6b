"""A downstream connection once it is open: commands written, several at once
where the server offers PIPELINING (RFC 2920), and their replies read in order.

aiosmtplib opens the connection (greeting, EHLO, STARTTLS: gateway.relay);
then a ``Link`` takes its transport. aiosmtplib waits for one reply per
command and drops data that arrives while no reply is awaited, so it cannot
pipeline. Written together, MAIL and the first RCPT cost one round trip
instead of two on every message: a write and a read fewer for the gateway, a
read, a write and a wake-up fewer for the downstream.

A reply nobody asked for (a 421 before the server closes an idle
connection) makes the link unusable: it is never taken as the answer to a
later command.

>>> Link.parse_line(b"250-smtp.example\\r\\n"), Link.parse_line(b"354 End data with <CR><LF>.<CR><LF>\\r\\n")
((250, False, b'smtp.example'), (354, True, b'End data with <CR><LF>.<CR><LF>'))
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from typing import NamedTuple

MAX_LINE = 8192             # as aiosmtplib: a longer reply line is no SMTP server's
MAX_REPLY = MAX_LINE * 4    # one reply, continuation lines included


class Reply(NamedTuple):
    code: int
    message: str


class Lost(Exception):
    """The connection closed, timed out, or sent what is no reply to what was asked:
    nothing more can be read from it in step."""


class Link(asyncio.Protocol):
    """The protocol of one open downstream connection (see the module doc)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout   # seconds for the replies to one write
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._lines: list[bytes] = []   # the reply being read: its lines so far
        self._size = 0
        self._replies: deque[Reply] = deque()
        self._expected = 0   # replies owed for what was written
        self._wanted = 0     # replies the reader waits for
        self._waiter: asyncio.Future[None] | None = None
        self._error: Lost | None = None
        # The loop the link is read on, asked once: before 3.12, asyncio.get_running_loop()
        # makes a getpid() system call each time (to notice a fork), three times a message here.
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def take(cls, transport: asyncio.Transport, timeout: float) -> Link:
        """The link for an open connection's transport (its protocol from now on)."""
        link = cls(timeout)
        link.transport = transport
        transport.set_protocol(link)
        return link

    @property
    def is_connected(self) -> bool:
        return self._error is None and self.transport is not None and not self.transport.is_closing()

    def close(self) -> None:
        self._fail(Lost("closed"))

    # --- the transport's side -------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._error is not None:
            return
        buffer = self._buffer
        buffer += data
        start = 0
        while (end := buffer.find(b"\n", start)) >= 0:
            line = bytes(buffer[start:end + 1])
            start = end + 1
            if not self._line(line):
                return
        del buffer[:start]
        if len(buffer) > MAX_LINE:
            self._fail(Lost("reply line too long"))
            return
        if buffer and self._expected <= 0:   # the start of a reply nobody asked for
            self._fail(Lost("unexpected reply"))
            return
        waiter = self._waiter
        if waiter is not None and len(self._replies) >= self._wanted and not waiter.done():
            waiter.set_result(None)

    def eof_received(self) -> bool:
        return False   # the transport closes; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(Lost("connection lost"))
        self.transport = None

    @staticmethod
    def parse_line(line: bytes) -> tuple[int, bool, bytes] | None:
        """A reply line's code, whether it is the reply's last, and its text (None: no reply line)."""
        code = line[:3]
        if len(code) != 3 or not code.isdigit() or line[3:4] not in (b" ", b"-", b"\r", b"\n", b""):
            return None
        return int(code), line[3:4] != b"-", line[4:].strip(b" \t\r\n")

    def _line(self, line: bytes) -> bool:
        parsed = self.parse_line(line) if len(line) <= MAX_LINE else None
        self._size += len(line)
        if parsed is None or self._size > MAX_REPLY:
            self._fail(Lost("not an SMTP reply"))
            return False
        if self._expected <= 0:   # nobody asked: a 421 before closing, say (its first line is enough)
            self._fail(Lost("unexpected reply"))
            return False
        code, last, text = parsed
        self._lines.append(text)
        if not last:
            return True
        self._expected -= 1
        self._replies.append(Reply(code, b"\n".join(self._lines).decode("utf-8", "surrogateescape")))
        self._lines = []
        self._size = 0
        return True

    def _fail(self, error: Lost) -> None:
        if self._error is None:
            self._error = error
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            if len(self._replies) >= self._wanted:   # its replies came before the failure: they stand
                waiter.set_result(None)
            else:
                waiter.set_exception(self._error)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def _timed_out(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():   # not when the replies came in the same pass
            self._fail(Lost("timed out"))

    # --- the client's side ----------------------------------------------------------

    def write(self, parts: Iterable[bytes], replies: int) -> None:
        """Write ``parts`` (one write) that ``replies`` replies will answer."""
        transport = self.transport
        if self._error is not None or transport is None or transport.is_closing():
            raise Lost(str(self._error or "connection lost"))
        self._expected += replies
        transport.writelines(parts)

    async def read(self, count: int) -> list[Reply]:
        """The next ``count`` replies, within ``timeout`` seconds (else Lost, and the link closes)."""
        replies = self._replies
        if len(replies) < count:
            if self._error is not None:
                raise Lost(str(self._error))
            loop = self._loop
            if loop is None:
                loop = self._loop = asyncio.get_running_loop()
            self._waiter = waiter = loop.create_future()
            self._wanted = count
            timer = loop.call_later(self.timeout, self._timed_out)
            try:
                await waiter
            except asyncio.CancelledError:   # its replies would answer the next command: never reused
                self._fail(Lost("interrupted"))
                raise
            finally:
                timer.cancel()
                self._waiter = None
        return [replies.popleft() for _ in range(count)]

    async def command(self, line: bytes, replies: int = 1) -> list[Reply]:
        """Write ``line`` (one command, or several pipelined) and read its ``replies``."""
        self.write((line,), replies)
        return await self.read(replies)
