"""The SMTP edge: an aiosmtpd server and handler; SMTP in, the envelope and the
bytes to gateway.actions, its outcome back as the reply.

RCPT is relayed in lockstep to the downstream (gateway.relay; MAIL goes with
the first RCPT), so the client hears the downstream's answer for each
recipient; after DATA the
actions read, judge and carry out the message, and 250 means the downstream
took it (or the quarantine holds it). Any failure answers 4xx: the client
keeps the message and retries.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import ipaddress
import logging
import os
import re
import socket
import types
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from aiosmtpd.smtp import BOGUS_LIMIT, MISSING, SMTP, Session, syntax
from aiosmtpd.smtp import Envelope as SmtpEnvelope

from gateway import failpoints, notify, pipeline, replies, scanproc, slots, xforward
from gateway.actions import Actions, Prepared, prepare, relay_failed
from gateway.budget import Budget
from gateway.config import Settings
from gateway.daemon_threads import DaemonThreads
from gateway.metrics import Metrics
from gateway.offload import Offload
from gateway.quarantine import QuarantineStore, open_from_settings
from gateway.relay import RelayError, RelayPool, Transaction
from gateway.smtpdata import TOO_LONG, DataReader
from gateway.verdict import Envelope

_T = TypeVar("_T")
_TRUST_REMEMBERED = 4096   # client addresses whose trust GatewayState remembers
log = logging.getLogger("dlp.smtp")

# aiosmtpd's own size replies carry no enhanced status code (RFC 3463): ours do.
_SIZE_REPLIES = ("552 Error: message size exceeds", "552 Error: Too much mail data")
# The common MAIL/RCPT argument: <dot-atom@domain> and parameters. aiosmtpd
# parses every address with the email package's header parser (and defines a
# class per call); this shape needs none of that. Anything else goes to it.
_SIMPLE_PATH = re.compile(r"<([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                          r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                          r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)>")


@dataclass(slots=True)
class GatewayState:
    """What every session of one worker shares: settings, pool, metrics, sessions."""

    settings: Settings
    pool: RelayPool
    metrics: Metrics
    hostname: str
    sessions: set[GatewaySMTP] = field(default_factory=set)
    sessions_changed: Callable[[], None] | None = None   # told when a session begins or ends
    draining: bool = False
    pid: int = field(default_factory=os.getpid)
    stages: pipeline.Pipeline | None = None
    actions: Actions | None = None   # carries out verdicts with the settings in force
    config_dir: Path | None = None
    store: QuarantineStore | None = None
    budget: Budget = field(default_factory=lambda: Budget(0))
    offload: Offload | None = None   # where CPU work runs (gateway.offload)
    generation: int = 0   # of the settings in force: the scan process rebuilds its pipeline on a change
    _networks: tuple[Any, ...] = ()
    _trust: dict[str, bool] = field(default_factory=dict)   # trusted(), by client address
    # What aiosmtpd's __init__ makes of these settings, once (GatewaySMTP.__init__)
    session_template: dict[str, Any] | None = None
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    # Store calls run in threads of their own: a frozen database must not take
    # the threads that scan large messages with it.
    _store_threads: DaemonThreads = field(default_factory=lambda: DaemonThreads(4, "dlp-store"))

    def __post_init__(self) -> None:
        self.apply(self.settings)
        try:
            self.open_store()
        except Exception as exc:  # served with 451 until it opens (see open_store)
            log.error("quarantine store unavailable", extra={"fields": {"problem": _problem(exc)}})

    def apply(self, settings: Settings) -> None:
        """Put new settings in force (start and SIGHUP)."""
        self.stages = stages = pipeline.Pipeline.from_settings(settings, self.config_dir)
        self.settings = settings
        self.budget.limit = settings.smtp.inflight_bytes
        self.generation += 1
        d = settings.detection
        if self.offload is None:
            self.offload = Offload(d.inline_below, d.scan_threads, d.process_above, d.scan_processes)
        else:
            self.offload.configure(d.inline_below, d.scan_threads, d.process_above, d.scan_processes)
        self._networks = settings.smtp.networks()
        self._trust = {}
        self.session_template = None
        self.pool.settings = settings.relay
        notifier = notify.Notifier(self.pool, settings.notify, self.metrics, self.later)
        self.actions = Actions(settings, stages, self.metrics, self.hostname, self.pid,
                               self.prepare, self.stored, notifier)

    def open_store(self) -> QuarantineStore:
        """The quarantine store, opened (and migrated) on first need."""
        if self.store is None:
            self.store = open_from_settings(self.settings)
        return self.store

    async def stored(self, work: Callable[[QuarantineStore], _T]) -> _T:
        """Run ``work`` on the store in a thread (its writes fsync), within the
        store deadline; past it, TimeoutError (a call not yet started never runs)."""
        def run() -> _T:
            return work(self.open_store())
        try:
            return await asyncio.wait_for(asyncio.wrap_future(self._store_threads.submit(run)),
                                          self.settings.quarantine.timeout)
        except TimeoutError:
            self.metrics.store_errors.labels("timeout").inc()
            log.error("quarantine store past its deadline",
                      extra={"fields": {"timeout": self.settings.quarantine.timeout}})
            raise
        except Exception:
            self.metrics.store_errors.labels("error").inc()
            raise

    async def prepare(self, envelope: Envelope, data: bytes) -> Prepared:
        """The one place a message's CPU work leaves the event loop: reading,
        scanning, deciding and editing it (gateway.actions.prepare), once per
        message, where gateway.offload decides: on the loop when the message is
        small and cannot be costly to scan, in the worker's scan process when it
        is large, otherwise in a CPU thread, so that other sessions are served
        meanwhile (even a small message can be costly to scan, issue 10)."""
        stages = self.stages
        assert stages is not None and self.offload is not None
        job = (scanproc.prepare, (self.generation, self.settings, self.config_dir, envelope, data))
        return await self.offload.run(lambda: prepare(stages, envelope, data), len(data), data, job)

    def later(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        """Run ``coroutine`` after the reply (notices): kept referenced until done."""
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def trusted(self, ip: str) -> bool:
        """Whether ``ip`` is in the trusted networks (smtp.networks), remembered
        per address until the settings change."""
        known = self._trust.get(ip)
        if known is None:
            if len(self._trust) >= _TRUST_REMEMBERED:
                self._trust.clear()
            known = self._trust[ip] = self._trusted(ip)
        return known

    def _trusted(self, ip: str) -> bool:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in net for net in self._networks)


def simple_path(arg: str) -> tuple[str, str] | None:
    """Return (address, parameters) for the common shape of MAIL/RCPT, else None."""
    text = arg.lstrip()
    match = _SIMPLE_PATH.match(text)
    if match is None:
        return None
    rest = text[match.end():]
    if "(" in rest or rest[:1] not in ("", " "):
        return None
    return match.group(1), rest.lstrip()


def _listed(obj: GatewaySMTP | GatewayHandler, prefixes: tuple[str, ...]) -> list[str]:
    """The names of ``obj`` that begin with ``prefixes``, listed once per class (a subclass lists its own)."""
    cls = type(obj)
    listed: list[str] | None = cls.__dict__.get("_listed")
    if listed is None:
        listed = cls._listed = [n for n in object.__dir__(obj) if n.startswith(prefixes)]
    return listed


class GatewaySMTP(SMTP):
    """aiosmtpd's server with our limits, replies and downstream transaction."""

    _listed: list[str] | None = None

    def __dir__(self) -> list[str]:
        # aiosmtpd's __init__ looks up its command and AUTH methods through
        # dir() and inspect.getmembers() on every connection, which touched
        # every attribute of the instance and cost ~10% of the CPU per message.
        # Only those names are needed: list them once per class.
        return _listed(self, ("smtp_", "auth_"))

    def __init__(self, handler: GatewayHandler, state: GatewayState) -> None:
        # aiosmtpd sizes MAIL's limit by what EHLO announces, in a dict of its
        # class that every session shares and every new one clears: each
        # session has its own here.
        self.command_size_limits = collections.defaultdict(_command_size_limit)
        loop = _running_loop()
        template = state.session_template
        if template is not None and template["event_handler"] is handler and template["loop"] is loop:
            self._from_template(template)
        else:
            smtp = state.settings.smtp
            # Read before super().__init__, which sizes its StreamReader with it.
            self.line_length_limit = smtp.max_line_length
            super().__init__(handler, data_size_limit=smtp.max_message_size, enable_SMTPUTF8=True,
                             decode_data=False, hostname=state.hostname, ident="dlp-gateway",
                             timeout=smtp.command_timeout, loop=loop)
            if loop is not None:
                state.session_template = self._template()
        self.state = state
        self._deadline = 0.0   # of the session's timer (_reset_timeout)
        self._quit = False   # QUIT answered: the command loop ends
        self.transaction = Transaction(state.pool)
        self.peer_ip = ""
        self.peer_trusted = False
        self.busy = False
        self._counted = False
        self.idle_since: float | None = None   # gateway.slots: waiting for MAIL since
        self.idle_timer: asyncio.TimerHandle | None = None
        self.received = 0
        self.xforward: xforward.XForward | None = None   # until the transaction ends
        self.declared = 0   # bytes of the in-flight budget taken for the message being received
        self._body: DataReader | None = None   # the DATA body being received (data_received feeds it)
        self._body_read: asyncio.Future[None] | None = None
        self._lines: list[str] = []   # the lines of a multi-line reply so far (push)

    def _template(self) -> dict[str, Any]:
        """What aiosmtpd's __init__ set on this session that the next ones can
        share: its settings and the handler's hooks. Not the stream state
        (asyncio's StreamReaderProtocol) nor the methods bound to this session.

        aiosmtpd's __init__ lists the session's commands and AUTH mechanisms
        and the handler's hooks, reads the EHLO hook's signature and builds a
        log line: about 0.2 M instructions a connection, a tenth of a message's
        CPU with new connections and detection off."""
        loop = self.loop
        probe = asyncio.StreamReaderProtocol(asyncio.StreamReader(loop=loop),
                                             client_connected_cb=self._cb_client_connected, loop=loop)
        own = {*probe.__dict__, "_smtp_methods", "command_size_limits"}
        template = {name: value for name, value in self.__dict__.items() if name not in own}
        # The server's own AUTH mechanisms (aiosmtpd's LOGIN and PLAIN) are methods bound to this
        # session: the template keeps their functions, or it would keep this session (and the
        # last message it read) for as long as the worker runs.
        template["_auth_methods"] = {mechanism: impl._replace(method=impl.method.__func__)  # type: ignore[attr-defined]
                                     if impl.is_builtin
                                     else impl for mechanism, impl in self._auth_methods.items()}
        return template

    def _from_template(self, template: dict[str, Any]) -> None:
        """Be what aiosmtpd's __init__ would have made, from the template."""
        self.__dict__.update(template)
        loop = self.loop
        asyncio.StreamReaderProtocol.__init__(
            self, asyncio.StreamReader(loop=loop, limit=self.line_length_limit),
            client_connected_cb=self._cb_client_connected, loop=loop)
        self._smtp_methods = {name[5:]: getattr(self, name)
                              for name in _listed(self, ("smtp_", "auth_")) if name.startswith("smtp_")}
        self._auth_methods = {mechanism: impl._replace(method=types.MethodType(impl.method, self))
                              if impl.is_builtin else impl
                              for mechanism, impl in template["_auth_methods"].items()}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self.transport is None
        super().connection_made(transport)
        if first:
            peer = transport.get_extra_info("peername")
            self.peer_ip = peer[0] if isinstance(peer, tuple) else ""
            self.peer_trusted = self.state.trusted(self.peer_ip)
            self.state.sessions.add(self)
            self._counted = True
            self.state.metrics.sessions.inc()
            if self.state.sessions_changed is not None:
                self.state.sessions_changed()

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        body = self._body
        if body is None:
            super().data_received(data)
            return
        rest = body.feed(data)   # DATA: taken here, not through the line reader
        if rest is None:
            return
        self._body = None
        if rest:   # what the client sent after the body: its next commands
            super().data_received(rest)
        if self._body_read is not None and not self._body_read.done():
            self._body_read.set_result(None)

    def close_with(self, reply: str) -> None:
        """Say ``reply`` and close the session (gateway.slots)."""
        if self.transport is not None and not self.transport.is_closing():
            self.state.metrics.reply(reply[0])
            cast(asyncio.WriteTransport, self.transport).write(reply.encode("ascii") + b"\r\n")
            self.transport.close()

    def connection_lost(self, error: Exception | None) -> None:
        slots.disarm(self)
        if self._counted:
            self._counted = False
            self.state.sessions.discard(self)
            self.state.metrics.sessions.dec()
            if self.state.sessions_changed is not None:
                self.state.sessions_changed()
        self.transaction.abort()
        super().connection_lost(error)

    def eof_received(self) -> bool | None:
        # aiosmtpd cancels the session on EOF but keeps the transport half-open;
        # when EOF beats the session task's first step (a port probe), nothing
        # would ever close it. Returning False lets asyncio close it.
        super().eof_received()
        return False

    async def _handle_client(self) -> None:
        # Refuse at connect, before the greeting: never an open relay, and a
        # bounded number of sessions.
        refusal = None
        if not self.peer_trusted:
            refusal = replies.R554_NOT_TRUSTED.format(ip=self.peer_ip or "unknown")
            log.warning("untrusted client refused", extra={"fields": {"client": self.peer_ip}})
        elif slots.too_many_from(self.peer_ip, self.state.sessions, self.state.settings.smtp.max_sessions_per_client):
            refusal = replies.R421_TOO_MANY_FROM_CLIENT.format()
        elif (len(self.state.sessions) > self.state.settings.smtp.max_sessions
              and not slots.evict_idle(self.state.sessions, self)):
            refusal = replies.R421_TOO_MANY_SESSIONS.format()
        elif self.state.draining:
            refusal = replies.R421_SHUTTING_DOWN.format()
        if refusal is not None:
            await self.push(refusal)
            if self.transport is not None:
                self.transport.close()
            return
        self.idle()
        await self._commands()

    async def _commands(self) -> None:
        """The session's command loop: aiosmtpd's (SMTP._handle_client) for
        what this server uses, which is no STARTTLS, PROXY or call limits, and
        with no log record built for every command. The same replies: a line
        over the limit, a blank or undecodable command, one over its size, an
        unknown one (the fifth ends the session); the handler's reply to an
        exception."""
        await self.push(f"220 {self.hostname} {self.__ident__}")
        bogus = BOGUS_LIMIT
        reader = self._reader
        while self.transport is not None and not self._quit:
            try:
                try:
                    line = await reader.readuntil()
                except asyncio.LimitOverrunError as error:
                    await self._skip_line(error.consumed)
                    await self.push("500 Command line too long")
                    continue
                line = line.rstrip(b"\r\n")
                if not line:
                    await self.push("500 Error: bad syntax")
                    continue
                verb, _, rest = line.partition(b" ")
                try:
                    command = verb.upper().decode("ascii")
                except UnicodeDecodeError:
                    await self.push("500 Error: bad syntax")
                    continue
                # SMTPUTF8 is on: arguments are UTF-8, undecodable bytes kept (surrogateescape).
                arg = str(rest.strip(), "utf-8", "surrogateescape") if rest else None
                limit = (self.command_size_limits[command] if self.session is not None
                         and self.session.extended_smtp else self.command_size_limit)
                if len(line) > limit:
                    await self.push("500 Command line too long")
                    continue
                method = self._smtp_methods.get(command)
                if method is None:
                    bogus -= 1
                    if bogus < 1:
                        # Never the command itself in the log: a client can send anything as one.
                        log.warning("too many unrecognised SMTP commands", extra={"fields": {"client": self.peer_ip}})
                        await self.push("502 5.5.1 Too many unrecognized commands, goodbye.")
                        self.transport.close()
                        continue
                    log.warning("unrecognised SMTP command", extra={"fields": {"client": self.peer_ip}})
                    # Not quoted back either (aiosmtpd did): no reply holds what a client sent.
                    await self.push("500 5.5.2 Error: command not recognized")
                    continue
                self._reset_timeout()
                await method(arg)
            except (asyncio.CancelledError, ConnectionResetError):
                self._writer.close()   # the connection is gone (or the session cancelled)
                raise
            except Exception as error:
                try:
                    status = await self.handle_exception(error)
                except Exception as inner:   # the handler's own failure: still an answer
                    log.error("session error", exc_info=inner)
                    status = replies.R451_INTERNAL.format()
                await self.push(status)

    async def _skip_line(self, consumed: int) -> None:
        """Read past the rest of a line longer than the reader's limit."""
        reader = self._reader
        await reader.read(consumed)
        while True:
            try:
                await reader.readuntil()
                return
            except asyncio.LimitOverrunError as error:
                await reader.read(error.consumed)

    def _reset_timeout(self, duration: float | None = None) -> None:
        # aiosmtpd cancels its timer and starts another for every command. One
        # timer here: it moves only when the deadline comes sooner, and when it
        # fires before the deadline (the client was active), it waits again.
        at = self.loop.time() + (duration or self._timeout_duration)
        self._deadline = at
        handle = self._timeout_handle
        if handle is None or handle.cancelled() or handle.when() > at:
            if handle is not None:
                handle.cancel()
            self._timeout_handle = self.loop.call_at(at, self._timer)

    def _timer(self) -> None:
        if self.loop.time() < self._deadline:
            self._timeout_handle = self.loop.call_at(self._deadline, self._timer)
            return
        self._timeout_cb()  # type: ignore[no-untyped-call]

    @syntax("QUIT")
    async def smtp_QUIT(self, arg: str) -> None:
        # aiosmtpd's QUIT cancels the session's own task to end it; the loop ends here instead.
        if arg:
            await self.push("501 Syntax: QUIT")
            return
        status = await self._call_handler_hook("QUIT")
        await self.push("221 Bye" if status is MISSING else status)
        self._quit = True
        if self.transport is not None:
            self.transport.close()

    def idle(self) -> None:
        """Start waiting for MAIL: the pre-MAIL clock runs (gateway.slots)."""
        slots.disarm(self)
        slots.arm(self.loop, self, self.state.settings.smtp.pre_mail_timeout)

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        simple = None if self.local_part_limit else simple_path(arg)
        return simple or super()._getaddr(arg)

    async def smtp_XFORWARD(self, arg: str) -> None:
        await self.push(self._xforwarded(arg or ""))

    def _xforwarded(self, arg: str) -> str:
        """Take XFORWARD attributes (gateway.xforward); return the reply."""
        if not self.peer_trusted:
            return replies.R554_NOT_TRUSTED.format(ip=self.peer_ip or "unknown")
        if self.envelope is not None and self.envelope.mail_from:
            return xforward.IN_TRANSACTION
        try:
            attrs = xforward.parse(arg)
        except xforward.XForwardError as exc:
            return str(exc)
        self.xforward = (self.xforward or xforward.XForward()).merged(attrs)
        return xforward.OK

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        smtp = self.state.settings.smtp
        self._reset_timeout(smtp.data_timeout)
        if self.envelope is not None and self.envelope.rcpt_tos:
            declared = _declared_size(self.envelope.mail_options)
            if not self.state.budget.admit(declared, 0):
                self.state.metrics.budget_refusals.inc()
                self._set_post_data_state()  # type: ignore[no-untyped-call]  # the client retries later
                await self.transaction.reset()
                await self.push(replies.R452_BUSY.format())
                self.idle()
                return
            self.declared = declared
        watch = slots.DataRate(self.loop, self, smtp.min_data_rate, smtp.data_rate_grace)
        try:
            await self._data(arg)
        except Exception:
            # aiosmtpd answers with handle_exception but keeps the envelope:
            # the next MAIL would get "503 nested MAIL command".
            self._set_post_data_state()  # type: ignore[no-untyped-call]
            await self.transaction.reset()
            raise
        finally:
            watch.cancel()
            self.state.budget.release(self.declared)
            self.declared = 0
            if self.transport is not None and not (self.envelope and self.envelope.mail_from):
                self.idle()   # the transaction is over: wait for the next MAIL

    async def _data(self, arg: str) -> None:
        """aiosmtpd's DATA, with the body read in chunks (gateway.smtpdata): the
        same checks, replies, envelope and handler call."""
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        body = await self._read_body()
        if body.state != "ok":
            await self.push("500 Line too long (see RFC5321 4.5.3.1.6)" if body.state == TOO_LONG
                            else "552 Error: Too much mail data")
            self._set_post_data_state()  # type: ignore[no-untyped-call]
            return
        content = body.content()
        self.envelope.content = self.envelope.original_content = content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()  # type: ignore[no-untyped-call]
        await self.push("250 OK" if status is MISSING else status)

    async def _read_body(self) -> DataReader:
        """Read the DATA body as it arrives, starting with what the client sent
        before our 354 (still in the line reader's buffer: aiosmtpd reads it there too)."""
        reader = DataReader(self.data_size_limit, self.line_length_limit)
        early = len(self._reader._buffer)  # type: ignore[attr-defined]
        if early:
            rest = reader.feed(await self._reader.read(early))
            if rest is not None:
                if rest:
                    self._reader.feed_data(rest)   # the buffer is empty: rest goes first
                return reader
        self._body_read = self.loop.create_future()
        self._body = reader
        try:
            await self._body_read
        except asyncio.CancelledError:
            log.info("connection lost during DATA")
            self._writer.close()
            raise
        finally:
            self._body = self._body_read = None
        return reader

    async def push(self, status: Any) -> None:
        if isinstance(status, str):
            if status.startswith(_SIZE_REPLIES):
                status = replies.R552_TOO_BIG.format(limit=self.data_size_limit)
            if len(status) > 3 and status[3] == "-":
                if "\n" not in status:
                    # A line of a multi-line reply (EHLO's) goes out with its last: one write, not
                    # a socket write a line (and one read a line for the client).
                    self._lines.append(status)
                    return
            elif len(status) > 3:
                self.state.metrics.reply(status[0])
            if self._lines:
                status = "\r\n".join((*self._lines, status))
                self._lines.clear()
            status = status.encode()   # SMTPUTF8 is on: UTF-8, as aiosmtpd encodes it
        self._writer.write(status + b"\r\n")
        transport = self.transport
        # Waiting for the write buffer to drain is needed only when the client
        # reads slower than we write, or the connection is going: then drain()
        # waits, or raises ConnectionResetError for the command loop.
        if (self._paused or self._connection_lost  # type: ignore[attr-defined]  # asyncio.FlowControlMixin
                or transport is None or transport.is_closing()):
            await self._writer.drain()

    def close_if_idle(self, reply: str) -> None:
        """Close the session now when no transaction is under way (for shutdown)."""
        if self.transport is None or self.busy or self.transaction.active:
            return
        if self.envelope is not None and self.envelope.mail_from:
            return
        transport = cast(asyncio.WriteTransport, self.transport)
        transport.write(reply.encode("ascii") + b"\r\n")
        self.transport.close()


class GatewayHandler:
    """aiosmtpd handler hooks: MAIL, RCPT, RSET, DATA and exceptions."""

    _listed: list[str] | None = None

    def __init__(self, state: GatewayState) -> None:
        self.state = state

    def __dir__(self) -> list[str]:
        # As GatewaySMTP.__dir__: aiosmtpd's __init__ lists the handler's
        # members (inspect.getmembers, for auth_ methods, then dir() for its
        # handle_ hooks) on every connection, about 15 µs; only the hooks count.
        return _listed(self, ("handle_", "auth_"))

    async def handle_EHLO(self, server: GatewaySMTP, session: Session, envelope: SmtpEnvelope,
                          hostname: str, responses: list[str]) -> list[str]:
        session.host_name = hostname
        if server.peer_trusted:
            responses.insert(len(responses) - 1, "250-" + xforward.EXTENSION)
        return responses

    async def handle_MAIL(self, server: GatewaySMTP, session: Session, envelope: SmtpEnvelope,
                          address: str, mail_options: list[str]) -> str:
        if not server.peer_trusted:
            return replies.R554_NOT_TRUSTED.format(ip=server.peer_ip or "unknown")
        if self.state.draining:
            return replies.R421_SHUTTING_DOWN.format()
        if server.transaction.active:  # left over from a refused DATA or a new EHLO
            await server.transaction.reset()
        server.transaction.mail(_path(address), mail_options, server.xforward)   # sent with the first RCPT
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        slots.disarm(server)
        return replies.R250_SENDER_OK.format()

    async def handle_RCPT(self, server: GatewaySMTP, session: Session, envelope: SmtpEnvelope,
                          address: str, rcpt_options: list[str]) -> str:
        if len(envelope.rcpt_tos) >= self.state.settings.smtp.max_recipients:
            return replies.R452_TOO_MANY_RECIPIENTS.format()
        try:
            await server.transaction.rcpt(address)
        except RelayError as exc:
            relay_failed(self.state.metrics, exc, exc.stage or "RCPT")
            if exc.stage != "MAIL" or exc.reason not in ("unavailable", "lost"):
                return exc.reply
            server.transaction.detach()   # holds and blocks need no downstream (gateway.relay)
            await server.transaction.rcpt(address)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return replies.R250_RECIPIENT_OK.format()

    async def handle_RSET(self, server: GatewaySMTP, session: Session, envelope: SmtpEnvelope) -> str:
        await server.transaction.reset()
        server.idle()
        server.xforward = None
        return replies.R250_OK.format()

    async def handle_DATA(self, server: GatewaySMTP, session: Session, envelope: SmtpEnvelope) -> str:
        server.busy = True
        extra = max(0, len(envelope.original_content or b"") - server.declared)
        if not self.state.budget.admit(extra, server.declared):
            server.busy = False
            server.xforward = None
            self.state.metrics.budget_refusals.inc()
            await server.transaction.reset()
            return replies.R452_BUSY.format()
        try:
            failpoints.raised("data-handler")
            return await self._process(server, session, envelope)
        finally:
            self.state.budget.release(extra)
            server.busy = False
            server.xforward = None   # XFORWARD holds for one transaction

    async def _process(self, server: GatewaySMTP, session: Session, smtp_env: SmtpEnvelope) -> str:
        """Envelope and bytes to the actions; their outcome's reply to the client."""
        envelope = Envelope(_path(smtp_env.mail_from or ""), tuple(smtp_env.rcpt_tos),
                            server.peer_ip, session.host_name or "")
        carry = self.state.actions
        assert carry is not None
        outcome = await carry.process(envelope, smtp_env.original_content or b"", server.transaction,
                                      _protocol(session, smtp_env), server.xforward)
        return outcome.reply

    async def handle_exception(self, error: Exception) -> str:
        log.error("session error", exc_info=error)
        self.state.metrics.internal_errors.labels("session").inc()
        return replies.R451_INTERNAL.format()


# aiosmtpd's __init__ also reads the EHLO hook's signature on every connection
# (inspect.signature, about 25 µs); made once here, inspect returns it as it is.
GatewayHandler.handle_EHLO.__signature__ = inspect.signature(GatewayHandler.handle_EHLO)  # type: ignore[attr-defined]


def _command_size_limit() -> int:
    return SMTP.command_size_limit


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """The loop the session runs on (a protocol is made on it); else None, and
    aiosmtpd finds one itself, under a warnings filter that costs ~10 µs a session."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _declared_size(options: list[str]) -> int:
    """The SIZE= the client declared at MAIL (RFC 1870), else 0."""
    for option in options:
        name, _, value = option.partition("=")
        if name.upper() == "SIZE" and value.isdigit() and len(value) < 12:
            return int(value)
    return 0


def _path(address: str) -> str:
    """The reverse-path as an address: the null sender ``<>`` (bounces, receipts) is ""."""
    return "" if address == "<>" else address


def _problem(exc: BaseException) -> str:
    """An exception's class only: driver and parser texts can quote message data."""
    return type(exc).__name__


def _protocol(session: Session, envelope: SmtpEnvelope) -> str:
    if envelope.smtp_utf8:
        return "UTF8SMTP"
    return "ESMTP" if session.extended_smtp else "SMTP"


def default_hostname() -> str:
    return socket.getfqdn() or "localhost"
