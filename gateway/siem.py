"""Audit events to a SIEM over syslog: RFC 5424 messages over UDP (RFC 5426),
TCP (RFC 6587 octet counting) or TLS (RFC 5425), optionally carrying ArcSight
CEF in the message part.

Every audit record the store commits (block, quarantine, exception, release,
delete, reveal, login, ...) is queued for a sender thread. The queue is
bounded (``siem.buffer``): when the collector is down the queue fills, further
events are dropped and counted in ``dlp_siem_events_dropped_total``, and mail
is never delayed. The store hook taps its own ``INSERT INTO audit_log``
statements and publishes them only once their transaction committed, so the
SIEM never hears of a decision the database rolled back.

Details are the audit record's, already masked; free text (a delete reason, a
note) is masked again here, so a number typed by a reviewer leaves as ``*``.

>>> mask_text("call 555-12-3456 re acct 12345678901")
'call ***-**-3456 re acct *******8901'
>>> frame_octets(b"<110>1 - - - - - - x")
b'20 <110>1 - - - - - - x'
>>> sd_escape('a"b]c')
'a\\\\"b\\\\]c'
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from gateway import __version__
from gateway.config import SiemSettings

log = logging.getLogger("dlp.siem")
_T = TypeVar("_T")

# RFC 5612's documentation enterprise number; a site with its own PEN may change it.
SD_ID = "dlp@32473"
UDP_MAX = 8192
_RETRY_SECONDS = (0.5, 1, 2, 5, 10)
_WARNING_EVENTS = frozenset({"block", "login-failed", "login-throttled", "release-refused", "release-uncertain"})
_ID_KEYS = frozenset({"queue_id", "message_id", "seq", "id"})
# Runs of 6+ digits, possibly split by spaces, dots or dashes: the shape of every value we protect.
_DIGIT_RUN = re.compile(r"\d(?:[ .\-]?\d){5,}")


def mask_text(text: str) -> str:
    """Every long digit run with all but its last four digits starred."""
    def star(match: re.Match[str]) -> str:
        run = match.group(0)
        keep = len(run)
        digits = 0
        while keep > 0 and digits < 4:
            keep -= 1
            digits += run[keep].isdigit()
        return re.sub(r"\d", "*", run[:keep]) + run[keep:]
    return _DIGIT_RUN.sub(star, text)


def _masked(value: object, key: str = "") -> object:
    if isinstance(value, str):
        return value if key in _ID_KEYS else mask_text(value)
    if isinstance(value, dict):
        return {str(k): _masked(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_masked(v, key) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class AuditEvent:
    at: str
    event: str
    actor: str
    message_id: str | None
    details: dict[str, object]


def sd_escape(value: str) -> str:
    """RFC 5424 §6.3.3: escape ``"``, ``\\`` and ``]`` in a PARAM-VALUE."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def _cef_header(value: str) -> str:
    return value.replace("\\", "\\\\").replace("|", "\\|")


def _cef_ext(value: str) -> str:
    return value.replace("\\", "\\\\").replace("=", "\\=").replace("\r", "\\r").replace("\n", "\\n")


def _token(value: str, limit: int) -> str:
    """A header field: printable US-ASCII without spaces, or the nil value."""
    cleaned = "".join(c for c in value if "!" <= c <= "~")[:limit]
    return cleaned or "-"


def format_event(event: AuditEvent, settings: SiemSettings, hostname: str, pid: int) -> bytes:
    """One syslog message (RFC 5424), its MSG plain JSON or CEF."""
    severity = 4 if event.event in _WARNING_EVENTS else 5
    details = json.dumps(_masked(event.details), sort_keys=True, ensure_ascii=False, default=str)
    params = {"event": event.event, "actor": mask_text(event.actor), "message_id": event.message_id or ""}
    sd = "[" + SD_ID + "".join(f' {k}="{sd_escape(v)}"' for k, v in params.items() if v) + "]"
    if settings.format == "cef":
        cef_severity = 7 if severity == 4 else 3
        ext = (f"rt={_cef_ext(event.at)} act={_cef_ext(event.event)} suser={_cef_ext(params['actor'])} "
               f"cs1Label=messageId cs1={_cef_ext(params['message_id'])} msg={_cef_ext(details)}")
        text = (f"CEF:0|dlp-gateway|dlp-gateway|{_cef_header(__version__)}|{_cef_header(event.event)}|"
                f"{_cef_header('audit ' + event.event)}|{cef_severity}|{ext}")
        message = text.encode()
    else:
        message = b"\xef\xbb\xbf" + details.encode()   # RFC 5424 §6.4: BOM marks UTF-8
    head = (f"<{settings.facility * 8 + severity}>1 {event.at} {_token(hostname, 255)} "
            f"{_token(settings.app_name, 48)} {pid} {_token(event.event, 32)} {sd} ")
    return head.encode() + message


def frame_octets(message: bytes) -> bytes:
    """RFC 6587 §3.4.1 octet-counting frame (required by RFC 5425 for TLS)."""
    return str(len(message)).encode() + b" " + message


class Forwarder:
    """A bounded queue and one sender thread; ``publish`` never blocks."""

    def __init__(self, settings: SiemSettings, registry: Any = None) -> None:
        # Here, not at the top: prometheus_client reads PROMETHEUS_MULTIPROC_DIR once, when first
        # imported, and the supervisor sets it after importing this module (gateway.server).
        from prometheus_client import Counter  # noqa: PLC0415
        assert settings.address is not None
        self.settings = settings
        self.address = settings.address
        self.queue: queue.Queue[AuditEvent] = queue.Queue(maxsize=settings.buffer)
        self.hostname = socket.gethostname()
        self.dropped = Counter("dlp_siem_events_dropped_total",
                               "Audit events not sent to the SIEM: buffer full", registry=registry)
        self.sent = Counter("dlp_siem_events_sent_total", "Audit events sent to the SIEM", registry=registry)
        self._sock: socket.socket | None = None
        self._down_since: float | None = None
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="dlp-siem", daemon=True)
        self.thread.start()

    def publish(self, event: AuditEvent) -> None:
        try:
            self.queue.put_nowait(event)
        except queue.Full:
            self.dropped.inc()

    def close(self, timeout: float = 2.0) -> None:
        """Give the thread ``timeout`` to send what is queued, then stop it."""
        deadline = time.monotonic() + timeout
        while not self.queue.empty() and time.monotonic() < deadline and self._down_since is None:
            time.sleep(0.02)
        self._stop.set()
        self.thread.join(timeout=max(0.1, deadline - time.monotonic()))
        self._disconnect()

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                event = self.queue.get(timeout=0.2)
            except queue.Empty:
                continue
            data = format_event(event, self.settings, self.hostname, os.getpid())
            while not self._stop.is_set():
                try:
                    self._send(data)
                except OSError as exc:
                    self._failed(exc)
                    self._stop.wait(_RETRY_SECONDS[min(attempt, len(_RETRY_SECONDS) - 1)])
                    attempt += 1
                    continue
                self.sent.inc()
                attempt = 0
                if self._down_since is not None:
                    log.info("SIEM collector reachable again", extra={"fields": {"siem": str(self.address)}})
                    self._down_since = None
                break

    def _failed(self, exc: OSError) -> None:
        self._disconnect()
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning("SIEM collector unreachable; audit events wait in the buffer", extra={"fields": {
                "siem": str(self.address), "problem": exc.strerror or type(exc).__name__,
                "buffer": self.settings.buffer}})

    def _send(self, data: bytes) -> None:
        if self.settings.transport == "udp":
            if self._sock is None:
                self._sock = socket.socket(_family(self.address.host), socket.SOCK_DGRAM)
            self._sock.sendto(data[:UDP_MAX], (self.address.host, self.address.port))
            return
        if self._sock is not None and _peer_closed(self._sock):
            self._disconnect()   # a write would vanish into a closed connection's buffer
        if self._sock is None:
            self._sock = self._connect()
        self._sock.sendall(frame_octets(data))

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.address.host, self.address.port), timeout=5)
        if self.settings.transport == "tls":
            context = ssl.create_default_context(
                cafile=str(self.settings.ca_file) if self.settings.ca_file else None)
            if not self.settings.tls_verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            try:
                sock = context.wrap_socket(sock, server_hostname=self.address.host)
            except BaseException:
                sock.close()
                raise
        sock.settimeout(10)
        return sock

    def _disconnect(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None


def _peer_closed(sock: socket.socket) -> bool:
    """True when the collector closed (or reset) the connection; it never sends us data."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        sock.setblocking(False)
        return not sock.recv(1)
    except (ssl.SSLWantReadError, BlockingIOError):
        return False
    except OSError:
        return True
    finally:
        sock.settimeout(10)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


_forwarder: Forwarder | None = None


def install(settings: SiemSettings, registry: Any = None) -> Forwarder | None:
    """Start forwarding this process's audit events (once; None when not configured)."""
    global _forwarder
    if _forwarder is None and settings.address is not None:
        from prometheus_client import values  # noqa: PLC0415 - as in Forwarder: after the multiprocess setting
        if values.ValueClass is not values.MutexValue:
            registry = None   # multiprocess mode: the served registry reads this process's files
        _forwarder = Forwarder(settings, registry)
        log.info("audit events forwarded to SIEM", extra={"fields": {
            "siem": str(settings.address), "transport": settings.transport, "format": settings.format}})
    return _forwarder


def shutdown(timeout: float = 2.0) -> None:
    """Send what is queued (within ``timeout``) and stop; for commands about to exit."""
    global _forwarder
    if _forwarder is not None:
        _forwarder.close(timeout)
        _forwarder = None


def publish(event: AuditEvent) -> None:
    if _forwarder is not None:
        _forwarder.publish(event)


Execute = Callable[[str, Sequence[object]], Any]
_AUDIT_INSERT = "INSERT INTO audit_log"


def audited(transaction: Callable[[Callable[[Execute], _T]], _T]) -> Callable[[Callable[[Execute], _T]], _T]:
    """Wrap a store's ``_transaction``: audit rows it inserts are published after it commits."""
    def run(work: Callable[[Execute], _T]) -> _T:
        rows: list[Sequence[object]] = []

        def tapped(execute: Execute) -> _T:
            rows.clear()   # a retried transaction starts over

            def tap(sql: str, params: Sequence[object]) -> Any:
                result = execute(sql, params)
                if sql.startswith(_AUDIT_INSERT):
                    rows.append(params)
                return result
            return work(tap)

        result = transaction(tapped)
        if _forwarder is not None:
            for row in rows:
                try:
                    _publish_row(row)
                except Exception as exc:   # committed: forwarding must never change what the store says
                    log.error("audit event not forwarded", extra={"fields": {"problem": type(exc).__name__}})
                    if _forwarder is not None:
                        _forwarder.dropped.inc()
        return result
    return run


def _publish_row(row: Sequence[object]) -> None:
    at, event, actor, message_id, details = row
    stamp = at.isoformat() if isinstance(at, datetime) else str(at)
    try:
        parsed = json.loads(str(details))
    except ValueError:
        parsed = {}
    publish(AuditEvent(stamp.replace("+00:00", "Z"), str(event), str(actor),
                       None if message_id is None else str(message_id),
                       parsed if isinstance(parsed, dict) else {}))
