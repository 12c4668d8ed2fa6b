"""The metrics listener on its own small HTTP thread: ``/metrics`` (Prometheus
text format), ``/healthz`` (the process answers), ``/readyz`` (see
gateway.health; 503 when a check fails); every other path is 404.

``process_*`` metrics cover every process of the gateway, labelled
``process="main"`` or ``process="worker-N"``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, ProcessCollector, multiprocess
from prometheus_client.exposition import _bake_output
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from gateway.config import HostPort, Settings
from gateway.health import Readiness, render

Pids = Callable[[], list[int | None]]


@dataclass(slots=True)
class MetricsServer:
    registry: CollectorRegistry
    server: WSGIServer
    thread: threading.Thread
    readiness: Readiness

    def shutdown(self) -> None:
        self.readiness.close()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve_registry(address: HostPort, settings: Settings | None = None) -> MetricsServer:
    """Serve a fresh registry (one worker, in this process)."""
    registry = CollectorRegistry()
    registry.register(ProcessesCollector(lambda: []))
    return _serve(address, registry, settings)


def serve_multiprocess(address: HostPort, settings: Settings | None = None,
                       workers: Pids = lambda: []) -> MetricsServer:
    """Serve the sum of every worker's values (PROMETHEUS_MULTIPROC_DIR must be set)."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    registry.register(ProcessesCollector(workers))
    return _serve(address, registry, settings)


class ProcessesCollector(Collector):
    """prometheus-client's process metrics for this process and each worker."""

    def __init__(self, workers: Pids) -> None:
        self._workers = workers

    def collect(self) -> Iterable[Metric]:
        merged: dict[str, Metric] = {}
        for label, pid in [("main", "self"), *self._labelled()]:
            collector = ProcessCollector(pid=_constant(pid), registry=None)
            for metric in collector.collect():
                into = merged.setdefault(metric.name, Metric(metric.name, metric.documentation, metric.type))
                for sample in metric.samples:
                    into.add_sample(sample.name, {**sample.labels, "process": label}, sample.value)
        return merged.values()

    def _labelled(self) -> Iterator[tuple[str, int | str]]:
        for index, pid in enumerate(self._workers()):
            if pid is not None:
                yield f"worker-{index}", pid


def _constant(pid: int | str) -> Callable[[], int | str]:
    return lambda: pid


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Probes every few seconds would flood the log."""


def application(registry: CollectorRegistry, readiness: Readiness) -> Callable[..., list[bytes]]:
    """The WSGI app: /metrics, /healthz, /readyz; 404 elsewhere, 405 for non-GET."""
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        text = [("Content-Type", "text/plain; charset=utf-8")]
        if path not in ("/metrics", "/healthz", "/readyz"):
            start_response("404 Not Found", text)
            return [b"not found: try /metrics, /healthz or /readyz\n"]
        if method not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [*text, ("Allow", "GET, HEAD")])
            return [b"method not allowed\n"]
        if path == "/healthz":
            start_response("200 OK", text)
            return [b"ok\n"]
        if path == "/readyz":
            checks = readiness.checks()
            status = "200 OK" if all(c.ok for c in checks) else "503 Service Unavailable"
            start_response(status, text)
            return [render(checks).encode()]
        status, headers, body = _bake_output(  # type: ignore[no-untyped-call]
            registry, environ.get("HTTP_ACCEPT"), environ.get("HTTP_ACCEPT_ENCODING"), {}, False)
        start_response(status, headers)
        return [body]
    return app


def _serve(address: HostPort, registry: CollectorRegistry, settings: Settings | None) -> MetricsServer:
    readiness = Readiness(settings)
    server_class = type("_MetricsServer", (_Server,),
                        {"address_family": socket.AF_INET6 if ":" in address.host else socket.AF_INET})
    try:
        server: WSGIServer = make_server(address.host, address.port, application(registry, readiness),
                             server_class, handler_class=_Quiet)
    except OSError as exc:
        readiness.close()
        raise OSError(exc.errno, f"metrics listen address {address}: {exc.strerror}") from None
    thread = threading.Thread(target=server.serve_forever, name="dlp-metrics", daemon=True)
    thread.start()
    return MetricsServer(registry, server, thread, readiness)
