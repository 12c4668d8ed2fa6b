"""Prometheus metrics. The contract's names are stable; labels never hold
addresses or matched values.

With several workers, prometheus-client's multiprocess mode aggregates the
workers' values; the supervisor serves them (see gateway.server). Each
worker keys its values by a process id read once (``cached_pid_values``).
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import platform
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, values
from prometheus_client.core import GaugeMetricFamily

from gateway import __version__
from gateway.quarantine import open_from_settings

log = logging.getLogger("dlp.metrics")

ACTIONS = ("deliver", "disclaimer", "quarantine", "block", "redact")
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


_pid = os.getpid()
_IMPORTED_BY = _pid   # the process that imported this module (a forked child may hold its values)


def _refresh_pid() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_refresh_pid)


def _process_id() -> int:
    return _pid


def cached_pid_values() -> bool:
    """Key this process's multiprocess values by a pid read once, and again after a fork.

    prometheus-client's default asks the kernel (``os.getpid``, a system
    call) on every update, to notice a fork: about 18 times a message in a
    worker (benchmarks/relay/PROFILE.md). Its ``process_identifier`` takes any function that
    tells running processes apart; this one is refreshed in a forked child,
    so a fork is still noticed. Only in multiprocess mode, and only before
    this process made any value: a second value class would open the same
    files again. So not in a process that has files of its own already, nor
    in a forked child, which may hold its parent's values (the workers are
    started with spawn and call this first). Returns whether it was installed.
    """
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory or not getattr(values.ValueClass, "_multiprocess", False):
        return False
    if os.getpid() != _IMPORTED_BY or any(Path(directory).glob(f"*_{os.getpid()}.db")):
        return False
    values.ValueClass = values.MultiProcessValue(process_identifier=_process_id)  # type: ignore[no-untyped-call]
    return True


class Metrics:
    """The gateway's metrics, registered in ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created series only add noise to every scrape
        r = registry
        self.messages = Counter("dlp_messages_total", "Messages processed, by action and policy profile",
                                ["action", "profile"], registry=r)
        self.findings = Counter("dlp_findings_total", "Sensitive findings, by entity", ["entity"], registry=r)
        self.processing = Histogram("dlp_message_processing_seconds",
                                    "Time from end of DATA to the final reply",
                                    buckets=_LATENCY_BUCKETS, registry=r)
        self.relay_errors = Counter("dlp_relay_errors_total", "Downstream failures, by reason",
                                    ["reason"], registry=r)
        self.notices = Counter("dlp_notices_total", "Notices to security staff and senders, by outcome",
                               ["outcome"], registry=r)
        self.internal_errors = Counter("dlp_internal_errors_total",
                                       "Unexpected failures, by stage (after-*: once the reply was settled)",
                                       ["stage"], registry=r)
        self.store_errors = Counter("dlp_store_errors_total",
                                    "Quarantine store calls that failed, by reason (timeout, error)",
                                    ["reason"], registry=r)
        self.budget_refusals = Counter("dlp_budget_refusals_total",
                                       "Messages refused 452 4.3.1 over the worker's in-flight byte budget",
                                       registry=r)
        self.replies = Counter("dlp_smtp_replies_total", "SMTP replies sent, by code class",
                               ["class"], registry=r)
        self.sessions = Gauge("dlp_smtp_sessions_in_flight", "Open SMTP client sessions",
                              registry=r, multiprocess_mode="livesum")
        self.pool = Gauge("dlp_relay_pool_connections", "Downstream connections, by state",
                          ["state"], registry=r, multiprocess_mode="livesum")
        self.build = Gauge("dlp_build_info", "Build information", ["version", "python"],
                           registry=r, multiprocess_mode="max")
        self.build.labels(__version__, platform.python_version()).set(1)
        for action in ACTIONS:
            self.messages.labels(action, "default")
        # Bound children for the per-reply and per-message hot paths.
        self._replies = {digit: self.replies.labels(f"{digit}xx") for digit in "2345"}
        self._messages: dict[tuple[str, str], Any] = {}
        self._findings: dict[str, Any] = {}
        for outcome in ("sent", "failed"):
            self.notices.labels(outcome)
        for reason in ("unavailable", "lost", "deferred", "refused"):
            self.relay_errors.labels(reason)
        self._busy, self._idle = self.pool.labels("busy"), self.pool.labels("idle")   # set twice a message

    def reply(self, first_digit: str) -> None:
        """Count one SMTP reply by its class."""
        child = self._replies.get(first_digit)
        if child is not None:
            child.inc()

    def message(self, action: str, profile: str) -> None:
        """Count one message by its outcome and profile."""
        child = self._messages.get((action, profile))
        if child is None:
            child = self._messages[(action, profile)] = self.messages.labels(action, profile)
        child.inc()

    def found(self, entity: str, count: int) -> None:
        """Count ``count`` findings of ``entity``."""
        child = self._findings.get(entity)
        if child is None:
            child = self._findings[entity] = self.findings.labels(entity)
        child.inc(count)

    def pool_changed(self, open_count: int, idle_count: int) -> None:
        self._busy.set(open_count - idle_count)
        self._idle.set(idle_count)


class HeldCollector:
    """``dlp_quarantine_messages`` counted in the store when scraped (cached for
    ``every`` seconds), so it is true across workers, gateways, the review app
    and the CLI. The count runs in a thread of its own within ``timeout``: a
    stuck database leaves the last known value, never a stuck scrape."""

    def __init__(self, open_store: Callable[[], Any], every: float, timeout: float) -> None:
        self._open = open_store
        self._store: Any = None
        self._every = every
        self._timeout = timeout
        self._value: int | None = None
        self._at = float("-inf")
        self._running: concurrent.futures.Future[int] | None = None
        self._threads = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="dlp-held-count")
        self._lock = threading.Lock()

    def _count(self) -> int:
        if self._store is None:
            self._store = self._open()
        return int(self._store.count())

    def _refresh(self) -> None:
        with self._lock:
            if time.monotonic() - self._at < self._every:
                return
            if self._running is None or self._running.done():
                self._running = self._threads.submit(self._count)
            running = self._running
        try:
            value = running.result(self._timeout)
        except Exception as exc:   # the store is down or stuck: keep the last value
            log.warning("cannot count held messages", extra={"fields": {"problem": type(exc).__name__}})
            return
        with self._lock:
            self._value, self._at = value, time.monotonic()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        self._refresh()
        if self._value is not None:
            yield GaugeMetricFamily("dlp_quarantine_messages", "Messages held in quarantine",
                                    value=self._value)

    def describe(self) -> list[GaugeMetricFamily]:
        return []   # collected on scrape only, never at registration


def register_held(registry: CollectorRegistry, settings: Any) -> HeldCollector:
    """Serve dlp_quarantine_messages from the store named by ``settings``."""
    q = settings.quarantine
    collector = HeldCollector(lambda: open_from_settings(settings), q.recount_seconds, min(q.timeout, 5.0))
    registry.register(collector)
    return collector
