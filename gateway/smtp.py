"""The SMTP edge: an aiosmtpd server and handler that run every message through
the pipeline and answer only once its fate is settled.

MAIL and RCPT are relayed in lockstep to the downstream (gateway.relay), so the
client hears the downstream's answer for each recipient; after DATA the
message is parsed, judged and relayed, and 250 means the downstream took it.
Any failure answers 4xx: the client keeps the message and retries.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import random
import re
import socket
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

from aiosmtpd.smtp import MISSING, SMTP, Session
from aiosmtpd.smtp import Envelope as SmtpEnvelope

from detectors.extract.lines import crlf
from gateway import actions, failpoints, headers, masking, notify, pipeline, replies, scanproc, slots, xforward
from gateway.budget import Budget
from gateway.config import Settings
from gateway.daemon_threads import DaemonThreads
from gateway.metrics import Metrics
from gateway.offload import Offload
from gateway.pipeline import Action
from gateway.quarantine import AuditEntry, HeldMessage, QuarantineStore, new_id, open_from_settings
from gateway.quarantine.store import retry_key
from gateway.relay import RelayError, RelayPool, Transaction
from gateway.smtpdata import TOO_LONG, DataReader

_T = TypeVar("_T")
log = logging.getLogger("dlp.smtp")
message_log = logging.getLogger("dlp.message")

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
    draining: bool = False
    pid: int = field(default_factory=os.getpid)
    stages: pipeline.Pipeline | None = None
    config_dir: Path | None = None
    store: QuarantineStore | None = None
    budget: Budget = field(default_factory=lambda: Budget(0))
    offload: Offload | None = None   # where CPU work runs (gateway.offload)
    generation: int = 0   # of the settings in force: the scan process rebuilds its pipeline on a change
    _networks: tuple[Any, ...] = ()
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
        self.stages = pipeline.Pipeline.from_settings(settings, self.config_dir)
        self.settings = settings
        self.budget.limit = settings.smtp.inflight_bytes
        self.generation += 1
        d = settings.detection
        if self.offload is None:
            self.offload = Offload(d.inline_below, d.scan_threads, d.process_above, d.scan_processes)
        else:
            self.offload.configure(d.inline_below, d.scan_threads, d.process_above, d.scan_processes)
        self._networks = settings.smtp.networks()
        self.pool.settings = settings.relay

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

    async def redacted(self, verdict: pipeline.Verdict, content: bytes) -> pipeline.Verdict:
        """Redact the values in the text bodies; what redaction cannot reach (an
        attachment, a signed part) sends the original to quarantine instead."""
        stages = self.stages
        assert stages is not None and self.offload is not None
        return await self.offload.run(lambda: stages.redact(verdict, content), len(content), content)

    def message_id(self, content: bytes) -> str | None:
        """The Message-ID for logs and records, any value in it masked."""
        stages = self.stages
        found = actions.message_id(content)
        return stages.masked(found) if stages is not None else found

    def later(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        """Run ``coroutine`` after the reply (notices): kept referenced until done."""
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def judge(self, envelope: pipeline.Envelope, content: bytes, outcome: "_Outcome") -> pipeline.Verdict:
        """Run the pipeline where gateway.offload decides: in a CPU thread, so
        that other sessions are served meanwhile (issue 10), unless the message
        is small and cannot be costly to scan.

        The masked Message-ID goes into ``outcome`` (masking runs the
        detector too, so it is done in the same place as the scan)."""
        stages = self.stages
        assert stages is not None and self.offload is not None
        job = (scanproc.judge, (self.generation, self.settings, self.config_dir, envelope, content))
        verdict, outcome.message_id = await self.offload.run(
            lambda: scanproc.judged(stages, envelope, content), len(content), content, job)
        return verdict

    def trusted(self, ip: str) -> bool:
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


class GatewaySMTP(SMTP):
    """aiosmtpd's server with our limits, replies and downstream transaction."""

    _listed: list[str] | None = None

    def __dir__(self) -> list[str]:
        # aiosmtpd's __init__ looks up its command and AUTH methods through
        # dir() and inspect.getmembers() on every connection, which touched
        # every attribute of the instance and cost ~10% of the CPU per message.
        # Only those names are needed: list them once per class.
        cls = type(self)
        if cls._listed is None:
            cls._listed = [n for n in object.__dir__(self) if n.startswith(("smtp_", "auth_"))]
        return cls._listed

    def __init__(self, handler: GatewayHandler, state: GatewayState) -> None:
        smtp = state.settings.smtp
        # Read before super().__init__, which sizes its StreamReader with it.
        self.line_length_limit = smtp.max_line_length
        super().__init__(handler, data_size_limit=smtp.max_message_size, enable_SMTPUTF8=True,
                         decode_data=False, hostname=state.hostname, ident="dlp-gateway",
                         timeout=smtp.command_timeout)
        self.state = state
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
        await super()._handle_client()

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
        watch = asyncio.ensure_future(slots.watch_data_rate(self, smtp.min_data_rate, smtp.data_rate_grace))
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
            if len(status) > 3 and status[3] != "-":
                self.state.metrics.reply(status[0])
        await super().push(status)

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

    def __init__(self, state: GatewayState) -> None:
        self.state = state

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
        try:
            await server.transaction.mail(_path(address), mail_options, server.xforward)
        except RelayError as exc:
            self._relay_failed(exc, "MAIL")
            if exc.reason not in ("unavailable", "lost"):
                return exc.reply
            server.transaction.detach()   # holds and blocks need no downstream (gateway.relay)
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
            self._relay_failed(exc, "RCPT")
            return exc.reply
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
        started = time.perf_counter()
        queue_id = f"{random.getrandbits(48):012X}"  # unique enough; nothing secret about it
        content: bytes = smtp_env.original_content or b""
        envelope = pipeline.Envelope(_path(smtp_env.mail_from or ""), tuple(smtp_env.rcpt_tos),
                                     server.peer_ip, session.host_name or "")
        outcome = _Outcome(queue_id, client=server.xforward)
        try:
            content = await self._edge(content)
            outcome.verdict = verdict = await self.state.judge(envelope, content, outcome)
            if verdict.action is Action.REDACT:
                outcome.verdict = verdict = await self.state.redacted(verdict, content)
            if verdict.action is Action.BLOCK:
                await self._block(server, envelope, content, verdict, outcome)
            elif verdict.action is Action.QUARANTINE:
                await self._quarantine(server, envelope, content, verdict, outcome)
            else:
                await self._deliver(server, session, smtp_env, envelope, content, verdict, outcome)
        except RelayError as exc:
            self._relay_failed(exc, "DATA")
            outcome.downstream, outcome.reply = exc.reply, exc.reply
        except Exception as exc:
            if outcome.settled:   # delivered, held or blocked: the reply stands
                self._failed_after(queue_id, "processing", exc)
            else:
                log.error("processing failed", extra={"fields": {"queue_id": queue_id, "problem": _problem(exc)}})
                self.state.metrics.internal_errors.labels("processing").inc()
                outcome.reply = outcome.failure
                await server.transaction.reset()
        finally:
            try:
                self._record(content, envelope, outcome, started)
            except Exception as exc:   # the message's fate is settled: a log line must not change its reply
                self._failed_after(queue_id, "record", exc)
        return outcome.reply

    async def _edge(self, content: bytes) -> bytes:
        """The message as it is scanned and delivered alike: CRLF line ends, no
        X-DLP-* header of the sender's (one pass each; off the loop when large)."""
        def edge(data: bytes) -> bytes:
            return headers.from_sender(crlf(data))
        if len(content) > self.state.settings.detection.thread_above:
            return await asyncio.to_thread(edge, content)
        return edge(content)

    def _failed_after(self, queue_id: str, stage: str, exc: Exception) -> None:
        """A failure once the message's fate is settled: logged and counted, never
        turned into a 4xx (the client would retry a message already delivered or held)."""
        log.error("failure after the message was settled; the reply stands",
                  extra={"fields": {"queue_id": queue_id, "stage": stage, "problem": _problem(exc)}})
        self.state.metrics.internal_errors.labels(f"after-{stage}").inc()

    async def _block(self, server: GatewaySMTP, envelope: pipeline.Envelope, content: bytes,
                     verdict: pipeline.Verdict, outcome: _Outcome) -> None:
        await server.transaction.reset()
        outcome.failure = replies.R451_STORE.format()   # a block is not answered before it is audited
        entry = _audit_entry("block", masking.envelope(envelope), outcome.message_id, verdict,
                             outcome.queue_id)
        outcome.audit_ref = await self.state.stored(lambda s: s.audit(entry.event, entry.actor, None, entry.details))
        outcome.reply = replies.R550_BLOCKED.format(profile=verdict.profile, why=_why(verdict))
        outcome.settled = True
        self._notify(envelope, content, verdict, None, outcome.message_id)

    async def _quarantine(self, server: GatewaySMTP, envelope: pipeline.Envelope, content: bytes,
                          verdict: pipeline.Verdict, outcome: _Outcome) -> None:
        await server.transaction.reset()
        outcome.failure = replies.R451_STORE.format()
        held = HeldMessage(
            id=new_id(), received_at=_now(), mail_from=envelope.mail_from, rcpt_tos=envelope.rcpt_tos,
            subject=_masked_subject(content, verdict), profile=verdict.profile,
            action=verdict.action.value, reasons=verdict.reasons,
            findings=tuple(_masked(f) for f in verdict.findings), size=len(content), status="held",
            decided_by=None, decided_at=None, note=None)
        entry = _audit_entry("quarantine", masking.envelope(envelope), outcome.message_id,
                             verdict, outcome.queue_id)
        key = retry_key(actions.message_id(content), envelope.mail_from, envelope.rcpt_tos, content)
        since = held.received_at - timedelta(seconds=self.state.settings.quarantine.retry_window)
        held_as, outcome.audit_ref = await self.state.stored(lambda s: s.hold(held, content, entry, key, since))
        outcome.held_as = held_as
        outcome.reply = replies.R250_QUARANTINED.format(id=held_as, profile=verdict.profile, why=_why(verdict))
        outcome.settled = True
        failpoints.reached("quarantine-before-reply")
        self._notify(envelope, content, verdict, held_as, outcome.message_id)

    async def _deliver(self, server: GatewaySMTP, session: Session, smtp_env: SmtpEnvelope,
                       envelope: pipeline.Envelope, content: bytes, verdict: pipeline.Verdict,
                       outcome: _Outcome) -> None:
        ref = None
        if verdict.exception or verdict.monitored is not None:
            # Every use of an exception (and every monitored decision) is on record before delivery.
            outcome.failure = replies.R451_STORE.format()
            entry = _audit_entry("exception" if verdict.exception else "monitor", masking.envelope(envelope),
                                 outcome.message_id, verdict, outcome.queue_id)
            ref = outcome.audit_ref = await self.state.stored(
                lambda s: s.audit(entry.event, entry.actor, None, entry.details))
            outcome.failure = replies.R451_INTERNAL.format()
        trace = actions.Trace(outcome.queue_id, self.state.hostname, _protocol(session, smtp_env))
        if verdict.action is Action.REDACT and verdict.redacted is not None:
            content = verdict.redacted
        exception_ref = ref if verdict.exception else None
        if len(content) > self.state.settings.detection.thread_above:  # re-encoding a large body
            message = await asyncio.to_thread(actions.deliverable, content, verdict, exception_ref)
        else:
            message = actions.deliverable(content, verdict, exception_ref)
        outcome.downstream = await server.transaction.data(actions.outgoing(message, envelope, verdict, trace))
        outcome.reply = replies.R250_RELAYED.format(queue_id=outcome.queue_id)
        outcome.settled = True

    def _notify(self, envelope: pipeline.Envelope, content: bytes, verdict: pipeline.Verdict,
                held_as: str | None, message_id: str | None) -> None:
        """Queue the notices; a failure here never changes the reply already decided."""
        try:
            self._queue_notices(envelope, content, verdict, held_as, message_id)
        except Exception as exc:
            log.error("notices not queued", extra={"fields": {"problem": _problem(exc)}})
            self.state.metrics.notices.labels("failed").inc()

    def _queue_notices(self, envelope: pipeline.Envelope, content: bytes, verdict: pipeline.Verdict,
                       held_as: str | None, message_id: str | None) -> None:
        settings = self.state.settings.notify
        profile = self.state.stages.policy.settings.profiles[verdict.profile] if self.state.stages else None
        notices: list[tuple[str, bytes]] = []
        shown = masking.envelope(envelope)   # for the text; the sender's notice goes to the real address
        if settings.security:
            notices.append((settings.security, notify.security_notice(
                verdict, shown, held_as, message_id, settings.sender, settings.security)))
        if profile is not None and profile.notify_sender and envelope.mail_from:
            notices.append((envelope.mail_from, notify.sender_notice(
                verdict, shown, held_as, _masked_subject(content, verdict), settings.sender)))
        for to, message in notices:
            self.state.later(self._send_notice(to, message))

    async def _send_notice(self, to: str, message: bytes) -> None:
        sent = await notify.send(self.state.pool, self.state.settings.notify.sender, [to], message)
        self.state.metrics.notices.labels("sent" if sent else "failed").inc()

    def _record(self, content: bytes, envelope: pipeline.Envelope, outcome: _Outcome,
                started: float) -> None:
        failpoints.raised("record")
        elapsed = time.perf_counter() - started
        metrics = self.state.metrics
        metrics.processing.observe(elapsed)
        verdict = outcome.verdict
        counts = verdict.counts() if verdict else {}
        answered = outcome.reply[0] == "2" or (verdict is not None and verdict.action is Action.BLOCK
                                                and outcome.reply.startswith("550"))
        action = verdict.action.value if verdict and answered else "error"
        profile = verdict.profile if verdict else "unknown"
        metrics.message(action, profile)
        for entity, count in counts.items():
            metrics.findings.labels(entity).inc(count)
        fields: dict[str, Any] = {
            "queue_id": outcome.queue_id, "message_id": outcome.message_id,
            "pid": self.state.pid, "sender": masking.address(envelope.mail_from),
            "recipients": len(envelope.rcpt_tos),
            "size": len(content), "action": action, "profile": profile, "findings": counts,
            "unscannable": [u.reason for u in verdict.unscannable] if verdict else [],
            "latency_ms": round(elapsed * 1000, 2), "reply": outcome.reply[:3],
            "downstream": masking.address(outcome.downstream)}
        if verdict is not None:
            fields["rule"] = verdict.rule
            fields["reasons"] = list(verdict.reasons)
            if verdict.purpose:
                fields["purpose"] = verdict.purpose
            if verdict.monitored is not None:
                fields["monitor"] = verdict.monitored.value
        if outcome.client is not None:
            fields["client"] = outcome.client.fields()
        if outcome.held_as:
            fields["quarantine_id"] = outcome.held_as
        if outcome.audit_ref is not None:
            fields["audit_ref"] = outcome.audit_ref
        message_log.info("message", extra={"fields": fields})

    async def handle_exception(self, error: Exception) -> str:
        log.error("session error", exc_info=error)
        self.state.metrics.internal_errors.labels("session").inc()
        return replies.R451_INTERNAL.format()

    def _relay_failed(self, exc: RelayError, stage: str) -> None:
        if exc.reason != "refused":
            log.warning("downstream failure", extra={"fields": {
                "stage": stage, "reason": exc.reason, "reply": exc.reply}})
        self.state.metrics.relay_errors.labels(exc.reason).inc()


@dataclass(slots=True)
class _Outcome:
    """What happened to one message, for the reply, the log line and the metrics."""

    queue_id: str
    verdict: pipeline.Verdict | None = None
    reply: str = replies.R451_INTERNAL.format()
    failure: str = replies.R451_INTERNAL.format()   # the reply if the next step fails
    downstream: str = ""
    held_as: str | None = None
    audit_ref: int | None = None
    settled: bool = False   # delivered, held or blocked: nothing after this changes the reply
    client: xforward.XForward | None = None   # what the MTA in front said of its client
    message_id: str | None = None   # masked; set by GatewayState.judge


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


def _why(verdict: pipeline.Verdict) -> str:
    """The reasons, and the purpose codes the profile accepts (never a value)."""
    why = "; ".join(verdict.reasons)
    if verdict.accepted:
        why += f"; accepted purposes: {', '.join(verdict.accepted)} (tag the subject [purpose:CODE])"
    return why


def _masked_subject(content: bytes, verdict: pipeline.Verdict) -> str:
    """The decoded subject with every value found in it masked (it is kept in clear)."""
    subject = (headers.value(content, "subject") or "")[:998]
    for finding in verdict.findings:
        if finding.segment == "subject":
            subject = subject.replace(finding.value, finding.masked)
    return subject


def _masked(finding: Any) -> dict[str, object]:
    return {"entity": finding.entity, "segment": finding.segment, "start": finding.start,
            "end": finding.end, "score": round(finding.score, 2), "masked": finding.masked}


def _audit_entry(event: str, envelope: pipeline.Envelope, message_id: str | None, verdict: pipeline.Verdict,
                 queue_id: str) -> AuditEntry:
    """The audit record of a decision: who, to which domains, why, what was found (counts only)."""
    return AuditEntry(event, "gateway", {
        "queue_id": queue_id, "message_id": message_id, "sender": envelope.mail_from,
        "recipient_domains": sorted({r.rpartition("@")[2].lower() for r in envelope.rcpt_tos}),
        "profile": verdict.profile, "action": verdict.action.value, "rule": verdict.rule,
        "reasons": list(verdict.reasons), "purpose": verdict.purpose, "declared": verdict.declared,
        "entities": verdict.counts(),
        "monitor": verdict.monitored.value if verdict.monitored is not None else None})


def _now() -> Any:
    return datetime.now(UTC)


def _problem(exc: BaseException) -> str:
    """An exception's class only: driver and parser texts can quote message data."""
    return type(exc).__name__


def _protocol(session: Session, envelope: SmtpEnvelope) -> str:
    if envelope.smtp_utf8:
        return "UTF8SMTP"
    return "ESMTP" if session.extended_smtp else "SMTP"


def default_hostname() -> str:
    return socket.getfqdn() or "localhost"
