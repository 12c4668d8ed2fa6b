"""The /metrics endpoint (Prometheus text format) on its own small HTTP thread."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, multiprocess, start_http_server

from gateway.config import HostPort


@dataclass(slots=True)
class MetricsServer:
    registry: CollectorRegistry
    server: WSGIServer
    thread: threading.Thread

    def shutdown(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve_registry(address: HostPort) -> MetricsServer:
    """Serve a fresh registry (one worker, in this process)."""
    return _serve(address, CollectorRegistry())


def serve_multiprocess(address: HostPort) -> MetricsServer:
    """Serve the sum of every worker's values (PROMETHEUS_MULTIPROC_DIR must be set)."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return _serve(address, registry)


def _serve(address: HostPort, registry: CollectorRegistry) -> MetricsServer:
    try:
        server, thread = start_http_server(address.port, address.host, registry=registry)
    except OSError as exc:
        raise OSError(exc.errno, f"metrics listen address {address}: {exc.strerror}") from None
    return MetricsServer(registry, server, thread)
