"""Running the gateway: one worker process (event loop, SMTP server, pool), or a
supervisor with N workers sharing one listening socket.

The supervisor binds the SMTP port and hands the socket to every worker it
starts: the workers take connections from one accept queue, so a new
connection goes to whichever worker asks first, an idle one rather than one
busy with a batch of scans (with a socket each, SO_REUSEPORT dealt
connections by a hash of their addresses: with 20 clients opening a
connection per message, one worker waited while the other had a queue, and
the cores were idle 8% of the time). Connections queued when a worker dies
are taken by the others. A worker holding more than twice the sessions of
another stops accepting until it no longer does (gateway.accept), so
long-lived connections opened in a burst are shared. The socket still has
SO_REUSEPORT, so a gateway starting while an earlier one drains can bind
the port (gateway.lifecycle).

Signals: SIGTERM/SIGINT stop accepting, let sessions in flight finish (up to
``shutdown_grace``) and exit 0; SIGHUP reloads the configuration, and an
invalid new configuration is logged while the old one stays in force. The
supervisor passes both signals on to every worker. Workers die with the
supervisor, a crashed worker is restarted with backoff, and only a crash loop
of every worker stops the service (gateway.lifecycle).

prometheus_client reads PROMETHEUS_MULTIPROC_DIR once, when it is first
imported, and the supervisor sets it in ``Supervisor.run``: so the metrics
modules, and the SMTP edge that loads them, are imported inside the
functions that run after that, never at the top of this module.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, Protocol

import detectors
from gateway import accept, config, failpoints, health, lifecycle, logs, replies, siem, systemd
from gateway.listen import listening_socket
from gateway.relay import RelayPool
from gateway.review import serve as review

log = logging.getLogger("dlp.server")

_REAP_INTERVAL = 5.0
_HEALTHY_SECONDS = 5.0     # a worker that ran this long was not crash-looping
_CRASH_LOOP_RESTARTS = 5   # early deaths in a row, in every slot, that stop the service
_MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@dataclass(frozen=True, slots=True)
class Launch:
    """How to (re)load the settings: the config dir and the command-line flags."""

    config_dir: Path | None
    overrides: config.Overrides

    def load(self) -> config.Settings:
        return config.load(self.config_dir, self.overrides)


def run(launch: Launch, settings: config.Settings) -> int:
    """Serve until told to stop; return the exit status."""
    # Never beside the workers of an earlier gateway (a supervisor killed with
    # SIGKILL: its workers are draining): they would split the traffic.
    lifecycle.wait_for_old_workers(settings.data_dir, settings.shutdown_grace + 10)
    # The review app: once per gateway, in this process (a thread of its own).
    app = review.start(settings, launch.config_dir)
    try:
        return _run(launch, settings)
    finally:
        if app is not None:
            app.stop()
        siem.shutdown()


def _run(launch: Launch, settings: config.Settings) -> int:
    count = settings.worker_count()
    if count == 1:
        from gateway import metrics, metrics_http  # noqa: PLC0415 - see the docstring
        http = metrics_http.serve_registry(settings.metrics.listen, settings)
        metrics.register_held(http.registry, settings)
        siem.install(settings.siem, http.registry)
        lock = lifecycle.hold_worker_lock(settings.data_dir)
        try:
            return run_worker(launch, settings, http.registry, reuse_port=False)
        finally:
            http.shutdown()
            lock.close()
    return Supervisor(launch, settings, count).run()


_GC_YOUNG = 10_000


def run_worker(launch: Launch, settings: config.Settings, registry: Any, reuse_port: bool,
               listener: socket.socket | None = None, balance: accept.Balance | None = None) -> int:
    """One worker: the event loop (uvloop where available) until SIGTERM."""
    runner: Callable[[Coroutine[Any, Any, int]], int]
    try:
        import uvloop  # noqa: PLC0415 - optional: not on every platform
        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        runner = asyncio.run
    return runner(_serve(launch, settings, registry, reuse_port, listener, balance))


async def _serve(launch: Launch, settings: config.Settings, registry: Any, reuse_port: bool,
                 listener: socket.socket | None = None, balance: accept.Balance | None = None) -> int:
    from gateway.metrics import Metrics  # noqa: PLC0415 - see the docstring
    from gateway.smtp import GatewayHandler, GatewaySMTP, GatewayState, default_hostname  # noqa: PLC0415 - loads the metrics

    metrics = Metrics(registry)
    pool = RelayPool(settings.relay, metrics.pool_changed)
    hostname = settings.smtp.hostname or default_hostname()
    state = GatewayState(settings, pool, metrics, hostname, config_dir=launch.config_dir)
    handler = GatewayHandler(state)
    from gateway import scanproc  # noqa: PLC0415 - loads the pipeline, after the metrics like gateway.smtp
    assert state.offload is not None
    state.offload.warm((scanproc.warm, (state.generation, settings, launch.config_dir)))
    loop = asyncio.get_running_loop()
    backlog = settings.smtp.backlog
    # the supervisor's socket (shared by every worker), else one of its own
    sock = listener if listener is not None else listening_socket(settings.smtp.listen, reuse_port, backlog=backlog)
    server: _Listening
    if listener is not None and balance is not None:   # workers: each takes its share (gateway.accept)
        acceptor = accept.Acceptor(loop, listener, lambda: GatewaySMTP(handler, state),
                                   lambda: len(state.sessions), balance, backlog,
                                   metrics.internal_errors.labels("accept").inc)
        await acceptor.start()
        state.sessions_changed = acceptor.changed
        server = acceptor
    else:
        # create_server listens again on the socket it is given: with its default
        # backlog (100) unless told.
        server = await loop.create_server(lambda: GatewaySMTP(handler, state), sock=sock, backlog=backlog)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: _reload(launch, state))
    log.info("listening", extra={"fields": {"listen": str(settings.smtp.listen),
                                            "relay": str(settings.relay.address), "pid": os.getpid(),
                                            "native": detectors.NATIVE_STATE}})
    # What was built to serve (the detector's tables, the settings, the modules) lives as long as
    # the worker: the cyclic collector need not walk it again. It runs once 10,000 objects more
    # than were freed are alive, not 700: at 700 it ran every 20 messages or so (10 KB each),
    # walking the start-up's objects too, about 20 µs of CPU a message (gc.callbacks).
    gc.freeze()
    gc.set_threshold(_GC_YOUNG, *gc.get_threshold()[1:])
    systemd.ready()
    pinger = asyncio.create_task(systemd.keep_alive())
    reaper = asyncio.create_task(_reap(pool))
    await stop.wait()
    systemd.stopping()
    pinger.cancel()
    reaper.cancel()
    await _drain(server, state)
    await pool.close()
    state.offload.close()
    log.info("stopped", extra={"fields": {"pid": os.getpid()}})
    return 0


def _reload(launch: Launch, state: Any) -> None:
    try:
        new = launch.load()
    except config.ConfigError as exc:
        log.error("configuration reload failed; keeping the running configuration",
                  extra={"fields": {"problem": str(exc)}})
        return
    if new.smtp.listen != state.settings.smtp.listen or new.metrics != state.settings.metrics:
        log.warning("listen and metrics addresses change only on restart")
    state.apply(new)
    health.reloaded(new)   # /readyz checks the new downstream and store (single worker)
    logging.getLogger().setLevel(new.log_level.upper())
    log.info("configuration reloaded")


async def _reap(pool: Any) -> None:
    while True:
        await asyncio.sleep(_REAP_INTERVAL)
        pool.reap()


class _Listening(Protocol):
    def close(self) -> None: ...


async def _drain(server: _Listening, state: Any) -> None:
    """Stop accepting, wait for sessions in flight, close what is left."""
    state.draining = True
    server.close()
    shutting = replies.R421_SHUTTING_DOWN.format()
    deadline = time.monotonic() + state.settings.shutdown_grace
    log.info("draining", extra={"fields": {"sessions": len(state.sessions)}})
    while state.sessions and time.monotonic() < deadline:
        for session in list(state.sessions):
            session.close_if_idle(shutting)
        await asyncio.sleep(0.05)
    for session in list(state.sessions):
        if session.transport is not None:
            session.transport.close()
    await asyncio.sleep(0)


class Supervisor:
    """Starts N workers, passes signals on, restarts a worker that dies."""

    def __init__(self, launch: Launch, settings: config.Settings, count: int) -> None:
        self.launch = launch
        self.settings = settings
        self.count = count
        self.context = multiprocessing.get_context("spawn")
        self.workers: list[Any] = []
        self.started: dict[int, float] = {}
        self.stopping = False
        self.signals: list[int] = []
        self.slots = lifecycle.Slots(count, _HEALTHY_SECONDS, _CRASH_LOOP_RESTARTS)
        self.crash_loop = False
        self.listener: socket.socket | None = None   # the SMTP socket every worker gets
        # each worker's count of connections, shared with them all (gateway.accept)
        self.counts = self.context.RawArray("i", [accept.ABSENT] * count)

    def run(self) -> int:
        metrics_dir = Path(tempfile.mkdtemp(prefix="dlp-gateway-metrics-"))
        os.environ[_MULTIPROC_ENV] = str(metrics_dir)
        from gateway import metrics_http  # noqa: PLC0415 - see the docstring
        http = metrics_http.serve_multiprocess(self.settings.metrics.listen, self.settings,
                                               lambda: [p.pid for p in self.workers])
        from gateway import metrics  # noqa: PLC0415 - see the docstring
        metrics.register_held(http.registry, self.settings)   # one count for every worker
        self.hub = systemd.WorkerHub()
        siem.install(self.settings.siem, http.registry)
        try:
            # Bound here, so a port in use fails the start with a clear error.
            self.listener = listening_socket(self.settings.smtp.listen, reuse_port=True,
                                             backlog=self.settings.smtp.backlog)
            for index in range(self.count):
                self.workers.append(self._spawn(index))
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(sig, lambda number, _frame: self.signals.append(number))
            return self._watch()
        finally:
            self._close_listener()
            self.hub.close()
            http.shutdown()
            shutil.rmtree(metrics_dir, ignore_errors=True)

    def _close_listener(self) -> None:
        """Our copy of the SMTP socket: once the workers close theirs, new connections are refused."""
        if self.listener is not None:
            self.listener.close()
            self.listener = None

    def _spawn(self, index: int) -> Any:
        # The socket goes with the worker's arguments: multiprocessing passes its descriptor.
        self.counts[index] = accept.ABSENT
        process = self.context.Process(target=_worker_main, name="dlp-gateway-worker",
                                       args=(self.launch, self.settings.log_level, os.getpid(), self.listener,
                                             self.counts, index),
                                       daemon=False)
        process.start()
        self.started[process.pid or 0] = time.monotonic()
        return process

    def _watch(self) -> int:
        while True:
            while self.signals:
                self._forward(self.signals.pop(0))
            if not self.stopping:
                self._restart_dead()
            sentinels = [p.sentinel for p in self.workers if p.is_alive()]
            # A worker that died since _restart_dead looked is not "nothing left to do".
            unseen = any(not p.is_alive() and (p.pid or 0) in self.started for p in self.workers)
            if not sentinels and (self.stopping or (not unseen and self.slots.next_due() is None)):
                break
            if sentinels:
                wait(sentinels, timeout=0.2)
            else:
                time.sleep(0.1)   # every worker waits for its restart
            self.hub.poll([p.pid for p in self.workers if p.is_alive() and p.pid is not None])
        return 1 if self.crash_loop else 0

    def _forward(self, number: int) -> None:
        if number in (signal.SIGTERM, signal.SIGINT):
            self.stopping = True
            self.hub.stopping()
            self._close_listener()   # no worker is started from now on
            number = signal.SIGTERM
        elif number == signal.SIGHUP:
            try:   # the workers reload themselves; /readyz, served here, follows
                health.reloaded(self.launch.load())
            except config.ConfigError:
                pass   # each worker logs it and keeps its configuration
        for process in self.workers:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, number)

    def _restart_dead(self) -> None:
        """Schedule a restart for each worker that died (backoff when it died
        young); start those that are due; stop on a crash loop of every worker."""
        from prometheus_client import multiprocess  # noqa: PLC0415 - see the docstring
        now = time.monotonic()
        for index, process in enumerate(self.workers):
            pid = process.pid or 0
            if process.is_alive() or pid not in self.started:
                continue
            multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
            self.counts[index] = accept.ABSENT   # the others wait for it no more
            delay = self.slots.died(index, now - self.started.pop(pid), now)
            log.error("worker exited; starting another", extra={"fields": {
                "pid": pid, "exit_code": process.exitcode, "restart_in": delay}})
        if self.slots.crash_loop():
            log.error("every worker keeps crashing at start; stopping",
                      extra={"fields": {"restarts": _CRASH_LOOP_RESTARTS}})
            self.crash_loop = self.stopping = True
            self.slots.due.clear()
            self._forward(signal.SIGTERM)
            return
        for index in self.slots.ready(now):
            self.workers[index] = self._spawn(index)


def _worker_main(launch: Launch, log_level: str, supervisor: int, listener: socket.socket,
                 counts: Any, index: int) -> None:
    from prometheus_client import CollectorRegistry  # noqa: PLC0415 - see the docstring

    from gateway import metrics  # noqa: PLC0415 - as above
    metrics.cached_pid_values()   # before any metric of this worker is made
    lifecycle.die_with_parent(supervisor)
    logs.setup(log_level)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides; it sends SIGTERM
    failpoints.reached("worker-start")
    try:
        settings = launch.load()
    except config.ConfigError as exc:
        log.error("configuration invalid", extra={"fields": {"problem": str(exc)}})
        sys.exit(2)
    registry = CollectorRegistry()
    siem.install(settings.siem, registry)
    lock = lifecycle.hold_worker_lock(settings.data_dir)
    try:
        code = run_worker(launch, settings, registry, reuse_port=True, listener=listener,
                          balance=accept.Balance(counts, index))
    finally:
        lock.close()
    siem.shutdown()
    sys.exit(code)
