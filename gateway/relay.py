"""The downstream SMTP client: a small pool of reusable aiosmtplib connections.

A client transaction is relayed in lockstep: our MAIL and RCPT are answered
with the downstream's own answers, so a recipient the downstream refuses is
refused to the client too, and 250 after DATA means the downstream accepted
the message. A pooled connection the downstream closed is replaced, not an
error: the command is retried once on a fresh connection.

When the downstream cannot be reached at MAIL, the transaction goes on
detached: recipients are taken without asking it, the message is received and
judged (a hold or a block needs no downstream), and only a delivery fails, with
451 4.4.1.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiosmtplib
from aiosmtplib import errors
from aiosmtplib.email import quote_address

from gateway import replies, xforward
from gateway.bytescan import Occurs
from gateway.config import RelaySettings

log = logging.getLogger("dlp.relay")

_LOST = (errors.SMTPServerDisconnected, errors.SMTPTimeoutError, ConnectionError, ssl.SSLError)
_PASSED_MAIL_OPTIONS = {"SMTPUTF8": "smtputf8", "BODY=8BITMIME": "8bitmime", "BODY=7BIT": ""}


_LINE_ENDS = re.compile(rb"\r\n|\r|\n")
# The common address shape, dot-atom@domain (as gateway.smtp takes it without
# the email package): aiosmtplib's mail() and rcpt() parse every address with
# email.utils.parseaddr (about 10 µs each), which returns this shape unchanged.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                            r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*")


def _quoted(address: str) -> bytes:
    """``<address>`` as aiosmtplib's quote_address writes it, ASCII (the null sender: ``<>``).

    >>> _quoted("clerk@citrus.example"), _quoted(""), _quoted("Clerk <clerk@citrus.example>")
    (b'<clerk@citrus.example>', b'<>', b'<clerk@citrus.example>')
    """
    if not address or _PLAIN_ADDRESS.fullmatch(address):
        return f"<{address}>".encode("ascii")
    return quote_address(address).encode("ascii")


async def _mail(client: aiosmtplib.SMTP, sender: str, options: list[str], encoding: str) -> aiosmtplib.SMTPResponse:
    """aiosmtplib's ``mail``, the common address shape quoted without a parse."""
    if encoding != "ascii" or client.is_ehlo_or_helo_needed:   # SMTPUTF8, or no EHLO yet (never after _connect)
        return await client.mail(sender, options=options, encoding=encoding)
    response = await client.execute_command(b"MAIL", b"FROM:" + _quoted(sender), *[o.encode("ascii") for o in options])
    if response.code != 250:
        raise errors.SMTPSenderRefused(response.code, response.message, sender)
    return response


async def _rcpt(client: aiosmtplib.SMTP, recipient: str, encoding: str) -> aiosmtplib.SMTPResponse:
    """aiosmtplib's ``rcpt``, the common address shape quoted without a parse."""
    if encoding != "ascii" or client.is_ehlo_or_helo_needed:
        return await client.rcpt(recipient, encoding=encoding)
    response = await client.execute_command(b"RCPT", b"TO:" + _quoted(recipient))
    if response.code not in (250, 251):
        raise errors.SMTPRecipientRefused(response.code, response.message, recipient)
    return response
_SLICE = 1 << 20   # a larger message is written in slices of whole lines (see _send_body)


async def _data_command(client: aiosmtplib.SMTP) -> None:
    """DATA, answered 354 (else SMTPDataError)."""
    response = await client.execute_command(b"DATA")
    if response.code != 354:
        raise errors.SMTPDataError(response.code, response.message)


async def _send_body(client: aiosmtplib.SMTP, message: bytes, head: bytes = b"") -> aiosmtplib.SMTPResponse:
    """``head`` (whole lines: our trace headers) and the message after our
    DATA's 354, dot-stuffed, then the downstream's reply (SMTPDataError unless 250).

    aiosmtplib's ``data`` makes two regex passes (line ends, then dots) and
    a third copy for the end marker. The gateway's message has CRLF line ends
    already (the edge normalised them, gateway.headers writes CRLF), which
    three counts confirm; dot-stuffing is then one ``replace``, which copies
    nothing when no line begins with a dot. The head, the message and the end
    marker go to the transport as they are (one ``writelines``, not joined
    first: the message is not copied). A large message goes in slices of
    whole lines, the loop serving other sessions between them: each pass
    over 25 MB would hold it (and the GIL) for tens of milliseconds.
    """
    protocol = client.protocol
    if protocol is None:
        raise errors.SMTPServerDisconnected("Connection lost")
    if hasattr(protocol, "_response_pending"):   # aiosmtplib >= 4: a reply is now expected
        protocol._response_pending = True
    try:
        last = head = _wire(head) if head else b""
        if len(message) <= _SLICE:
            wire = _wire(message)
            last = wire or last
            _write(protocol, (head, wire, _end_marker(last)) if head else (wire, _end_marker(last)))
        else:
            if head:
                _write(protocol, (head,))
            start = 0
            while start < len(message):
                end = start + _SLICE
                if end < len(message):
                    cut = message.rfind(b"\r\n", start, end)
                    end = cut + 2 if cut > start else len(message)
                else:
                    end = len(message)
                last = _wire(message[start:end])
                _write(protocol, (last,))
                start = end
                await asyncio.sleep(0)
            _write(protocol, (_end_marker(last),))
        response = await protocol.read_response(timeout=client.timeout)
    except (errors.SMTPServerDisconnected, errors.SMTPTimeoutError):
        client.close()   # as aiosmtplib's data(): the protocol is out of step
        raise
    if response.code != 250:
        raise errors.SMTPDataError(response.code, response.message)
    return response


def _write(protocol: Any, parts: tuple[bytes, ...]) -> None:
    """``parts`` to the downstream in one write (as aiosmtplib's ``write``: a
    closed connection is SMTPServerDisconnected)."""
    transport = protocol.transport
    if transport is None or transport.is_closing():
        raise errors.SMTPServerDisconnected("Connection lost")
    transport.writelines(parts)


def _end_marker(last: bytes) -> bytes:
    return b".\r\n" if not last or last.endswith(b"\r\n") else b"\r\n.\r\n"


def _wire(lines: bytes) -> bytes:
    """Whole lines (or the message's last) with CRLF ends, dot-stuffed.

    >>> _wire(b"a\\r\\n.b\\r\\n"), _wire(b"a\\nb\\r"), _wire(b".a")
    (b'a\\r\\n..b\\r\\n', b'a\\r\\nb\\r\\n', b'..a')
    """
    found = _WIRE(lines)
    if _BARE_CR in found or _BARE_LF in found or lines[-1:] == b"\r" or lines[:1] == b"\n":
        lines = _LINE_ENDS.sub(b"\r\n", lines)   # not expected; as aiosmtplib would
        found.add(_DOT)
    stuffed = lines.replace(b"\r\n.", b"\r\n..") if _DOT in found else lines
    return b"." + stuffed if stuffed[:1] == b"." else stuffed


# What _wire looks for, in one pass: a CR not before a LF, a LF not after a CR (the first and
# last byte are looked at apart), a line that begins with a dot.
_WIRE = Occurs([rb"\r[^\n]", rb"[^\r]\n", rb"\r\n\."])
_BARE_CR, _BARE_LF, _DOT = range(3)


class RelayError(Exception):
    """The downstream could not take the transaction; ``reply`` is what we answer.

    ``reason`` is the metric label: unavailable, lost, deferred, refused or internal.
    """

    def __init__(self, reply: str, reason: str) -> None:
        super().__init__(reply)
        self.reply = reply
        self.reason = reason


def _unavailable() -> RelayError:
    return RelayError(replies.R451_RELAY_DOWN.format(), "unavailable")


def _lost() -> RelayError:
    return RelayError(replies.R451_RELAY_LOST.format(), "lost")


def _refused(exc: errors.SMTPResponseException) -> RelayError:
    reply = passthrough_reply(exc)
    return RelayError(reply, "refused" if reply[0] == "5" else "deferred")


def _one_line(text: str) -> str:
    return " ".join(text.split())[:400].encode("ascii", "replace").decode("ascii")


def passthrough_reply(exc: errors.SMTPResponseException) -> str:
    """Answer a downstream refusal: its 5xx as it is, any 4xx as our 451."""
    if 500 <= exc.code < 600:
        text = _one_line(exc.message) or "Refused"
        return f"{exc.code} {text}"
    return replies.R451_RELAY_DEFERRED.format(code=exc.code)


@dataclass(slots=True)
class _Connection:
    client: aiosmtplib.SMTP
    last_used: float
    messages: int = 0


class RelayPool:
    """Keeps up to ``pool_size`` idle downstream connections for reuse."""

    def __init__(self, settings: RelaySettings,
                 on_change: Callable[[int, int], None] | None = None) -> None:
        self.settings = settings
        self._idle: list[_Connection] = []
        self._open = 0
        self._observer = on_change
        self._tls = self._tls_context(settings)
        self._closed = False

    @staticmethod
    def _tls_context(settings: RelaySettings) -> ssl.SSLContext | None:
        if settings.starttls == "off":
            return None
        context = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
        if not settings.tls_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    @property
    def open_connections(self) -> int:
        return self._open

    @property
    def idle_connections(self) -> int:
        return len(self._idle)

    async def acquire(self) -> tuple[_Connection, bool]:
        """Return a live connection and whether it was reused from the pool."""
        while self._idle:
            conn = self._idle.pop()
            if conn.client.is_connected and self._fresh_enough(conn):
                self._notify()
                return conn, True
            self._discard(conn)
        return await self._connect(), False

    def _fresh_enough(self, conn: _Connection) -> bool:
        return time.monotonic() - conn.last_used < self.settings.max_idle

    async def _connect(self) -> _Connection:
        s = self.settings
        start_tls: bool | None = {"off": False, "opportunistic": None, "required": True}[s.starttls]
        client = aiosmtplib.SMTP(
            hostname=s.address.host, port=s.address.port, timeout=s.timeout,
            local_hostname=s.helo_name, start_tls=start_tls, tls_context=self._tls,
            validate_certs=s.tls_verify)
        try:
            await client.connect(timeout=s.connect_timeout)
            await client.ehlo()
        except (TimeoutError, errors.SMTPException, OSError) as exc:
            client.close()
            log.warning("downstream %s unavailable: %s", s.address, _one_line(str(exc)))
            raise _unavailable() from None
        self._open += 1
        self._notify()
        return _Connection(client, time.monotonic())

    def release(self, conn: _Connection, reusable: bool) -> None:
        """Give ``conn`` back: kept when it is clean and the pool has room."""
        if reusable and not self._closed and conn.client.is_connected \
                and len(self._idle) < self.settings.pool_size:
            conn.last_used = time.monotonic()
            self._idle.append(conn)
            self._notify()
        else:
            self._discard(conn)

    def _discard(self, conn: _Connection) -> None:
        conn.client.close()
        self._open -= 1
        self._notify()

    def reap(self) -> None:
        """Close idle connections unused for longer than ``max_idle``."""
        stale = [c for c in self._idle if not (c.client.is_connected and self._fresh_enough(c))]
        for conn in stale:
            self._idle.remove(conn)
            self._discard(conn)

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            try:
                await asyncio.wait_for(conn.client.quit(), 2)
            except (TimeoutError, errors.SMTPException, OSError):
                pass
            self._discard(conn)

    def _notify(self) -> None:
        if self._observer is not None:
            self._observer(self._open, len(self._idle))


class Transaction:
    """One client transaction relayed in lockstep on one downstream connection."""

    def __init__(self, pool: RelayPool) -> None:
        self._pool = pool
        self._conn: _Connection | None = None
        self._smtputf8 = False
        self.accepted: list[str] = []
        self.detached = False
        self._client: xforward.XForward | None = None
        self._mail: tuple[str, tuple[str, ...]] = ("", ())
        self._pooled = False

    @property
    def active(self) -> bool:
        return self._conn is not None or self.detached

    def detach(self) -> None:
        """Go on without the downstream (unreachable at MAIL): see the module doc."""
        self._drop()
        self.detached = True

    async def mail(self, sender: str, options: Sequence[str], client: xforward.XForward | None = None) -> str:
        """Open the downstream transaction; return the reply for our client.

        ``client`` (what our client said with XFORWARD) goes to a downstream that offers XFORWARD.
        """
        conn, reused = await self._pool.acquire()
        self._smtputf8 = "SMTPUTF8" in options
        self._client = client
        self._mail = (sender, tuple(options))
        self._pooled = reused
        try:
            response = await self._mail_on(conn, sender, options)
        except _LOST:
            self._pool.release(conn, reusable=False)
            if not reused:
                raise _lost() from None
            conn, self._pooled = await self._pool.acquire()  # the pooled one was stale: once more
            try:
                response = await self._mail_on(conn, sender, options)
            except _LOST:
                self._pool.release(conn, reusable=False)
                raise _lost() from None
            except errors.SMTPResponseException as exc:
                self._pool.release(conn, reusable=True)
                raise _refused(exc) from None
        except errors.SMTPResponseException as exc:
            await self._pool_back(conn, rset=True)
            raise _refused(exc) from None
        self._conn = conn
        return f"{response.code} {_one_line(response.message)}"

    async def _mail_on(self, conn: _Connection, sender: str, options: Sequence[str]) -> aiosmtplib.SMTPResponse:
        client = conn.client
        if self._client is not None and client.supports_extension("xforward"):
            await self._xforward(client)
        passed = [o for o in options if self._passes(client, o)]
        return await _mail(client, sender, passed, self._encoding)

    async def _xforward(self, client: aiosmtplib.SMTP) -> None:
        assert self._client is not None
        args = xforward.command(self._client, client.esmtp_extensions.get("xforward", ""))
        if args is None:
            return
        response = await client.execute_command(b"XFORWARD", *args.encode("ascii").split())
        if response.code != 250:   # the message still goes; only the MTA's log loses the client
            log.warning("downstream refused XFORWARD: %s %s", response.code, _one_line(response.message))

    @staticmethod
    def _passes(client: aiosmtplib.SMTP, option: str) -> bool:
        upper = option.upper()
        if upper.startswith("SIZE="):
            return client.supports_extension("size")
        extension = _PASSED_MAIL_OPTIONS.get(upper)
        if extension is None:
            return False
        return not extension or client.supports_extension(extension)

    @property
    def _encoding(self) -> str:
        return "utf-8" if self._smtputf8 else "ascii"

    async def rcpt(self, recipient: str, again: bool = True) -> str:
        """Ask the downstream about one recipient; return its answer for our client.

        A refusal comes back as a RelayError whose reply is for this recipient only.
        A pooled connection the downstream closed just after our MAIL is replaced
        (MAIL again on another) before the first recipient, not an error.
        """
        if self.detached:
            self.accepted.append(recipient)
            return replies.R250_RECIPIENT_OK.format()
        conn = self._require()
        try:
            response = await _rcpt(conn.client, recipient, self._encoding)
        except errors.SMTPResponseException as exc:
            raise _refused(exc) from None
        except _LOST:
            self._drop()
            if not (again and self._pooled and not self.accepted):
                raise _lost() from None
            await self._reopen()
            return await self.rcpt(recipient, again=False)
        self.accepted.append(recipient)
        return f"{response.code} {_one_line(response.message)}"

    async def _reopen(self) -> None:
        """MAIL again on another connection (the pooled one closed under us)."""
        conn, self._pooled = await self._pool.acquire()
        try:
            await self._mail_on(conn, *self._mail)
        except _LOST:
            self._pool.release(conn, reusable=False)
            raise _lost() from None
        except errors.SMTPResponseException:
            await self._pool_back(conn, rset=True)
            raise _lost() from None
        self._conn = conn

    async def data(self, message: bytes, head: bytes = b"") -> str:
        """Send the message, after ``head`` (whole lines: our trace headers, not
        joined to it, so that the message is not copied); return the
        downstream's reply. The transaction ends.

        A pooled connection the downstream closed before it answered our DATA
        command (it never saw the message) is replaced: the transaction is
        replayed on another connection, and goes on only when the downstream
        takes every recipient again. Once the message is on its way, a lost
        connection is a 451 (the client retries), never a second attempt here.
        """
        if self.detached:
            self.detached = False
            self.accepted = []
            raise _unavailable()
        conn = self._require()
        try:
            try:
                await _data_command(conn.client)
            except _LOST:
                conn = await self._replay()
            response = await _send_body(conn.client, message, head)
        except errors.SMTPResponseException as exc:
            await self.reset()
            raise _refused(exc) from None
        except _LOST:
            self._drop()
            raise _lost() from None
        except BaseException:  # cancelled mid-DATA: the connection is in an unknown state
            self._drop()
            raise
        self._conn = None
        conn.messages += 1
        self._pool.release(conn, reusable=True)
        self.accepted = []
        return f"{response.code} {_one_line(response.message)}"

    async def _replay(self) -> _Connection:
        """MAIL, every accepted RCPT and DATA again on another connection (see data)."""
        recipients, pooled = list(self.accepted), self._pooled
        self._drop()
        if not pooled:
            raise _lost()
        conn, self._pooled = await self._pool.acquire()
        self._conn, self.accepted = conn, recipients
        try:
            await self._mail_on(conn, *self._mail)
            for recipient in recipients:
                await _rcpt(conn.client, recipient, self._encoding)
            await _data_command(conn.client)
        except errors.SMTPResponseException:   # the downstream changed its mind: the client retries
            raise _lost() from None
        return conn

    async def reset(self) -> None:
        """Abandon the downstream transaction (RSET) and give the connection back."""
        conn, self._conn = self._conn, None
        self.accepted = []
        self.detached = False
        if conn is not None:
            await self._pool_back(conn, rset=True)

    def abort(self) -> None:
        """Drop the connection without a word (the client went away mid-command)."""
        self._drop()

    async def _pool_back(self, conn: _Connection, rset: bool) -> None:
        ok = True
        if rset:
            try:
                await conn.client.rset()
            except (TimeoutError, errors.SMTPException, OSError):
                ok = False
        self._pool.release(conn, reusable=ok)

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self.accepted = []
        self.detached = False
        if conn is not None:
            self._pool.release(conn, reusable=False)

    def _require(self) -> _Connection:
        if self._conn is None:
            raise RelayError(replies.R451_INTERNAL.format(), "internal")
        return self._conn
