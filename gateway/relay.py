"""The downstream SMTP client: a small pool of reusable connections.

A client transaction is relayed in lockstep: our RCPT is answered with the
downstream's own answer, so a recipient the downstream refuses is refused to
the client too, and 250 after DATA means the downstream accepted the message.
The downstream hears our MAIL with the first RCPT, both written at once where
it offers PIPELINING (gateway.downstream): a round trip fewer on every
message. So a sender the downstream refuses is refused at the first RCPT,
with the downstream's reply. A pooled connection the downstream closed is
replaced, not an error: MAIL and the first RCPT are sent once more on a
fresh connection.

aiosmtplib opens each connection (greeting, EHLO, STARTTLS); a
gateway.downstream.Link then takes its transport for the transactions.

When the downstream cannot be reached at the first RCPT, the transaction goes
on detached (gateway.smtp): recipients are taken without asking it, the
message is received and judged (a hold or a block needs no downstream), and
only a delivery fails, with 451 4.4.1.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import aiosmtplib
from aiosmtplib import errors
from aiosmtplib.email import quote_address

from gateway import replies, xforward
from gateway.bytescan import Occurs
from gateway.config import RelaySettings
from gateway.downstream import Link, Lost, Reply

log = logging.getLogger("dlp.relay")

_LOST = (Lost, ConnectionError, ssl.SSLError)
_PASSED_MAIL_OPTIONS = {"SMTPUTF8": "smtputf8", "BODY=8BITMIME": "8bitmime", "BODY=7BIT": ""}


_LINE_ENDS = re.compile(rb"\r\n|\r|\n")
# The common address shape, dot-atom@domain (as gateway.smtp takes it without
# the email package): aiosmtplib's quote_address parses every address with
# email.utils.parseaddr (about 10 µs each), which returns this shape unchanged.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                            r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*")
# What no command line may hold (as aiosmtplib refuses it): a control character could end the
# command early and smuggle another.
_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")   # never a byte of a UTF-8 character past ASCII


def _quoted(address: str, encoding: str = "ascii") -> bytes:
    """``<address>`` as aiosmtplib's quote_address writes it (the null sender: ``<>``).

    >>> _quoted("clerk@citrus.example"), _quoted(""), _quoted("Clerk <clerk@citrus.example>")
    (b'<clerk@citrus.example>', b'<>', b'<clerk@citrus.example>')
    """
    if not address or _PLAIN_ADDRESS.fullmatch(address):
        return f"<{address}>".encode(encoding)
    return quote_address(address).encode(encoding)


def _line(*words: str | bytes) -> bytes:
    """One command line (ValueError for a control character in it, as aiosmtplib).

    >>> _line("RCPT", b"TO:<b@x.example>")
    b'RCPT TO:<b@x.example>\\r\\n'
    """
    parts = [w if isinstance(w, bytes) else w.encode("ascii") for w in words]
    line = b" ".join(parts)
    if _CONTROL.search(line):
        raise ValueError("a command argument holds a control character")
    return line + b"\r\n"


_SLICE = 1 << 20   # a larger message is written in slices of whole lines (see _send_body)


class _Refused(Exception):
    """A reply that was not the one the command needs."""

    def __init__(self, reply: Reply, command: str = "") -> None:
        super().__init__(reply.code)
        self.code = reply.code
        self.message = reply.message
        self.command = command


class _Partial(Lost):
    """The connection was lost in a group of commands: the replies read before it."""

    def __init__(self, why: str, replies: list[Reply]) -> None:
        super().__init__(why)
        self.replies = replies
        self.mail_taken = False


def _expect(reply: Reply, *codes: int, command: str = "") -> Reply:
    if reply.code not in codes:
        raise _Refused(reply, command)
    return reply


async def _data_command(link: Link) -> None:
    """DATA, answered 354 (else _Refused)."""
    _expect((await link.command(b"DATA\r\n"))[0], 354)


async def _send_body(link: Link, message: bytes, head: bytes = b"") -> Reply:
    """``head`` (whole lines: our trace headers) and the message after our
    DATA's 354, dot-stuffed, then the downstream's reply (_Refused unless 250).

    aiosmtplib's ``data`` makes two regex passes (line ends, then dots) and
    a third copy for the end marker. The gateway's message has CRLF line ends
    already (the edge normalised them, gateway.headers writes CRLF), which
    one pass confirms; dot-stuffing is then one ``replace``, which copies
    nothing when no line begins with a dot. The head, the message and the end
    marker go to the transport as they are (one ``writelines``, not joined
    first: the message is not copied). A large message goes in slices of
    whole lines, the loop serving other sessions between them: each pass
    over 25 MB would hold it (and the GIL) for tens of milliseconds.
    """
    try:
        last = head = _wire(head) if head else b""
        if len(message) <= _SLICE:
            wire = _wire(message)
            last = wire or last
            link.write((head, wire, _end_marker(last)) if head else (wire, _end_marker(last)), 1)
        else:
            if head:
                link.write((head,), 0)
            start = 0
            while start < len(message):
                end = start + _SLICE
                if end < len(message):
                    cut = message.rfind(b"\r\n", start, end)
                    end = cut + 2 if cut > start else len(message)
                else:
                    end = len(message)
                last = _wire(message[start:end])
                link.write((last,), 0)
                start = end
                await asyncio.sleep(0)
            link.write((_end_marker(last),), 1)
        reply = (await link.read(1))[0]
    except Lost:
        link.close()   # the connection is out of step
        raise
    return _expect(reply, 250)


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
    ``stage`` is "MAIL" when the transaction could not be opened (the downstream
    unreachable, or our MAIL refused), else "".
    """

    def __init__(self, reply: str, reason: str, stage: str = "") -> None:
        super().__init__(reply)
        self.reply = reply
        self.reason = reason
        self.stage = stage


def _unavailable(stage: str = "") -> RelayError:
    return RelayError(replies.R451_RELAY_DOWN.format(), "unavailable", stage)


def _lost(stage: str = "") -> RelayError:
    return RelayError(replies.R451_RELAY_LOST.format(), "lost", stage)


def _refused(exc: _Refused, stage: str = "") -> RelayError:
    reply = passthrough_reply(exc.code, exc.message)
    return RelayError(reply, "refused" if reply[0] == "5" else "deferred", stage)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:400].encode("ascii", "replace").decode("ascii")


def passthrough_reply(code: int, message: str) -> str:
    """Answer a downstream refusal: its 5xx as it is, any 4xx as our 451."""
    if 500 <= code < 600:
        text = _one_line(message) or "Refused"
        return f"{code} {text}"
    return replies.R451_RELAY_DEFERRED.format(code=code)


@dataclass(slots=True)
class _Connection:
    link: Link
    extensions: dict[str, str]   # the EHLO keywords (lower case) and their parameters
    last_used: float
    messages: int = 0

    def supports(self, extension: str) -> bool:
        return extension in self.extensions


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
            if conn.link.is_connected and self._fresh_enough(conn):
                self._notify()
                return conn, True
            self._discard(conn)
        return await self._connect(), False

    def _fresh_enough(self, conn: _Connection) -> bool:
        return time.monotonic() - conn.last_used < self.settings.max_idle

    async def _connect(self) -> _Connection:
        """A new connection: aiosmtplib says EHLO (and STARTTLS as configured), then a Link takes it."""
        s = self.settings
        start_tls: bool | None = {"off": False, "opportunistic": None, "required": True}[s.starttls]
        client = aiosmtplib.SMTP(
            hostname=s.address.host, port=s.address.port, timeout=s.timeout,
            local_hostname=s.helo_name, start_tls=start_tls, tls_context=self._tls,
            validate_certs=s.tls_verify)
        try:
            await client.connect(timeout=s.connect_timeout)
            await client.ehlo()
            transport = client.transport
            if transport is None or transport.is_closing():
                raise errors.SMTPServerDisconnected("Connection lost")
        except (TimeoutError, errors.SMTPException, OSError) as exc:
            client.close()
            log.warning("downstream %s unavailable: %s", s.address, _one_line(str(exc)))
            raise _unavailable("MAIL") from None
        link = Link.take(transport, s.timeout)  # type: ignore[arg-type]
        self._open += 1
        self._notify()
        return _Connection(link, dict(client.esmtp_extensions), time.monotonic())

    def release(self, conn: _Connection, reusable: bool) -> None:
        """Give ``conn`` back: kept when it is clean and the pool has room."""
        if reusable and not self._closed and conn.link.is_connected \
                and len(self._idle) < self.settings.pool_size:
            conn.last_used = time.monotonic()
            self._idle.append(conn)
            self._notify()
        else:
            self._discard(conn)

    def _discard(self, conn: _Connection) -> None:
        conn.link.close()
        self._open -= 1
        self._notify()

    def reap(self) -> None:
        """Close idle connections unused for longer than ``max_idle``."""
        stale = [c for c in self._idle if not (c.link.is_connected and self._fresh_enough(c))]
        for conn in stale:
            self._idle.remove(conn)
            self._discard(conn)

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            try:
                await asyncio.wait_for(conn.link.command(b"QUIT\r\n"), 2)
            except (TimeoutError, Lost, OSError):
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
        self._begun = False
        self._broken = False   # lost after recipients were taken: this transaction can only fail
        self._pooled = False

    @property
    def active(self) -> bool:
        return self._begun or self._conn is not None or self.detached

    def detach(self) -> None:
        """Go on without the downstream (unreachable at the first RCPT): see the module doc."""
        self._drop()
        self.detached = True

    def mail(self, sender: str, options: Sequence[str], client: xforward.XForward | None = None) -> None:
        """Begin the transaction. The downstream hears it with the first recipient (``rcpt``).

        ``client`` (what our client said with XFORWARD) goes to a downstream that offers XFORWARD.
        """
        self._smtputf8 = "SMTPUTF8" in options
        self._client = client
        self._mail = (sender, tuple(options))
        self._begun = True
        self._broken = False

    @property
    def _encoding(self) -> str:
        return "utf-8" if self._smtputf8 else "ascii"

    def _rcpt_line(self, recipient: str) -> bytes:
        return _line(b"RCPT", b"TO:" + _quoted(recipient, self._encoding))

    def _xforward_line(self, conn: _Connection) -> bytes | None:
        if self._client is None or not conn.supports("xforward"):
            return None
        args = xforward.command(self._client, conn.extensions.get("xforward", ""))
        return None if args is None else _line("XFORWARD", args)

    @staticmethod
    def _passes(conn: _Connection, option: str) -> bool:
        upper = option.upper()
        if upper.startswith("SIZE="):
            return conn.supports("size")
        extension = _PASSED_MAIL_OPTIONS.get(upper)
        if extension is None:
            return False
        return not extension or conn.supports(extension)

    async def _exchange(self, conn: _Connection, lines: list[bytes], needed: list[tuple[int, ...] | None]
                        ) -> list[Reply]:
        """``lines`` in one write where the downstream offers PIPELINING, and their replies;
        else one at a time, stopping after the first reply not in its ``needed`` codes (None:
        any reply goes on). A lost connection is _Partial, with the replies read before it."""
        link = conn.link
        got: list[Reply] = []
        try:
            if len(lines) > 1 and conn.supports("pipelining"):
                link.write((b"".join(lines),), len(lines))
                for _ in lines:   # one at a time: what was answered before a loss is known
                    got.extend(await link.read(1))
                return got
            for line, codes in zip(lines, needed, strict=True):
                got.extend(await link.command(line))
                if codes is not None and got[-1].code not in codes:
                    break
        except Lost as exc:
            raise _Partial(str(exc), got) from None
        return got

    async def _open_on(self, conn: _Connection, sender: bytes, rcpts: list[bytes], data: bool = False) -> None:
        """[XFORWARD,] MAIL FROM ``sender`` (quoted, made by ``_opening``), the RCPT lines
        ``rcpts`` [and DATA] on ``conn``: _Refused for the first refusal but XFORWARD's (the
        MAIL's own, whatever the RCPTs heard); _Partial when the connection is lost, its
        ``mail_taken`` set when the MAIL had been answered 250."""
        forward = self._xforward_line(conn)
        commands = ["MAIL", *["RCPT"] * len(rcpts)] + (["DATA"] if data else [])
        needed: list[tuple[int, ...] | None] = [(250,), *[(250, 251)] * len(rcpts)]
        if data:
            needed.append((354,))
        options = [o for o in self._mail[1] if self._passes(conn, o)]
        lines = [_line(b"MAIL", b"FROM:" + sender, *options), *rcpts] + ([b"DATA\r\n"] if data else [])
        if forward is not None:   # refused or not, the message goes: only the MTA's log loses the client
            lines, needed = [forward, *lines], [None, *needed]
        try:
            got = await self._exchange(conn, lines, needed)
        except _Partial as exc:
            answered = exc.replies[1:] if forward is not None else exc.replies
            exc.mail_taken = bool(answered) and answered[0].code == 250
            raise
        if forward is not None:
            if got[0].code != 250:
                log.warning("downstream refused XFORWARD: %s %s", got[0].code, _one_line(got[0].message))
            got, needed = got[1:], needed[1:]
        for reply, codes, command in zip(got, needed, commands, strict=False):
            if codes is not None:
                _expect(reply, *codes, command=command)
        if len(got) != len(commands):   # stopped early without a refusal: never goes on unanswered
            raise _Partial("a command went unanswered", got)

    def _opening(self, recipients: Sequence[str]) -> tuple[bytes, list[bytes]]:
        """The quoted sender and the RCPT lines, made before a connection is taken: an address
        no command line may hold costs none (MAIL's options depend on the connection)."""
        sender = _quoted(self._mail[0], self._encoding)
        _line(b"MAIL", b"FROM:" + sender)
        return sender, [self._rcpt_line(r) for r in recipients]

    async def rcpt(self, recipient: str) -> str:
        """Ask the downstream about one recipient; return its answer for our client.

        The first one opens the downstream transaction (MAIL with it). A
        refusal comes back as a RelayError whose reply is for this recipient
        only; one whose ``stage`` is "MAIL" says the transaction could not be
        opened (unreachable, lost before our MAIL was answered, or our MAIL
        refused), for every recipient.
        """
        if self.detached:
            self.accepted.append(recipient)
            return replies.R250_RECIPIENT_OK.format()
        if self._broken:
            raise _lost()
        if self._conn is None:
            return await self._open(recipient)
        conn = self._conn
        line = self._rcpt_line(recipient)
        try:
            reply = _expect((await conn.link.command(line))[0], 250, 251)
        except _Refused as exc:
            raise _refused(exc) from None
        except _LOST:
            again = self._pooled and not self.accepted
            self._drop()
            if not again:   # recipients taken on it would not get the message: no more for this one
                self._broken = True
                raise _lost() from None
            return await self._open(recipient)   # nothing taken on it yet: open again on another
        self.accepted.append(recipient)
        return f"{reply.code} {_one_line(reply.message)}"

    async def _open(self, recipient: str) -> str:
        """MAIL and the first RCPT on a connection of the pool; a pooled one the downstream
        closed is replaced once."""
        if not self._begun:
            raise RelayError(replies.R451_INTERNAL.format(), "internal")
        sender, rcpts = self._opening((recipient,))
        for retry in (False, True):
            conn, reused = await self._pool.acquire()   # RelayError unavailable, stage MAIL
            try:
                await self._open_on(conn, sender, rcpts)
            except _LOST as exc:
                self._pool.release(conn, reusable=False)
                if reused and not retry:
                    continue
                raise _lost("" if isinstance(exc, _Partial) and exc.mail_taken else "MAIL") from None
            except _Refused as exc:
                if exc.command == "MAIL":
                    await self._pool_back(conn, rset=True)
                    raise _refused(exc, "MAIL") from None
                self._conn, self._pooled = conn, reused   # MAIL taken, this recipient refused
                raise _refused(exc) from None
            except BaseException:
                self._pool.release(conn, reusable=False)
                raise
            break
        self._conn, self._pooled = conn, reused
        self.accepted.append(recipient)
        return replies.R250_RECIPIENT_OK.format()

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
            self._end()
            raise _unavailable()
        if self._broken:
            self._end()
            raise _lost()
        conn = self._require()
        try:
            try:
                await _data_command(conn.link)
            except _LOST:
                conn = await self._replay()
            reply = await _send_body(conn.link, message, head)
        except _Refused as exc:
            await self.reset()
            raise _refused(exc) from None
        except _LOST:
            self._end()
            raise _lost() from None
        except BaseException:  # cancelled mid-DATA: the connection is in an unknown state
            self._end()
            raise
        self._conn = None
        self._begun = False
        conn.messages += 1
        self._pool.release(conn, reusable=True)
        self.accepted = []
        return f"{reply.code} {_one_line(reply.message)}"

    async def _replay(self) -> _Connection:
        """MAIL, every accepted RCPT and DATA again on another connection (see data)."""
        recipients, pooled = list(self.accepted), self._pooled
        self._drop()
        if not pooled:
            raise _lost()
        sender, rcpts = self._opening(recipients)
        conn, self._pooled = await self._pool.acquire()
        self._conn, self.accepted = conn, recipients
        try:
            await self._open_on(conn, sender, rcpts, data=True)
        except _Refused:   # the downstream changed its mind: the client retries
            raise _lost() from None
        return conn

    async def reset(self) -> None:
        """Abandon the downstream transaction (RSET) and give the connection back."""
        conn, self._conn = self._conn, None
        self._end()
        if conn is not None:
            await self._pool_back(conn, rset=True)

    def abort(self) -> None:
        """Drop the connection without a word (the client went away mid-command)."""
        self._end()

    def _end(self) -> None:
        """The transaction is over: its connection (if any) dropped, nothing of it kept."""
        self._drop()
        self._begun = self._broken = False

    async def _pool_back(self, conn: _Connection, rset: bool) -> None:
        ok = False
        try:
            ok = not rset or (await conn.link.command(b"RSET\r\n"))[0].code == 250
        except (Lost, OSError):
            ok = False
        finally:   # cancelled in the RSET too: the link is closed (Link.read), and counted out
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
