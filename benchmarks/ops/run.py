"""What the operations features cost: an audit write with and without the SIEM
forwarder (TCP to a local receiver, and to a closed port: the collector down),
and one /readyz probe (uncached: downstream connect + SQLite write lock).

    python benchmarks/ops/run.py [--events 2000]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gateway import siem  # noqa: E402
from gateway.config import Settings, SiemSettings  # noqa: E402
from gateway.health import Readiness  # noqa: E402
from gateway.quarantine import Key, open_store  # noqa: E402


def audit_writes(store: object, count: int) -> float:
    """Median microseconds per audited write."""
    times = []
    for i in range(count):
        start = time.perf_counter()
        store.audit("block", "gateway", None, {"profile": "pomona-pce", "entities": {"US_SSN": 1}, "n": i})  # type: ignore[attr-defined]
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def sink() -> int:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def drain() -> None:
        conn, _ = server.accept()
        while conn.recv(65536):
            pass
    threading.Thread(target=drain, daemon=True).start()
    return int(server.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(None, Path(folder), Key.generate())
        off = audit_writes(store, args.events)
        siem.install(SiemSettings(address=f"127.0.0.1:{sink()}", transport="tcp"))
        on = audit_writes(store, args.events)
        siem.shutdown()
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
        forwarder = siem.install(SiemSettings(address=f"127.0.0.1:{port}", transport="tcp", buffer=100))
        down = audit_writes(store, args.events)
        dropped = forwarder.dropped._value.get() if forwarder else 0  # type: ignore[union-attr]
        siem.shutdown(timeout=0.1)
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1000)
        settings = Settings.model_validate({"data_dir": folder,
                                            "relay": {"address": f"127.0.0.1:{listener.getsockname()[1]}"}})
        readiness = Readiness(settings)
        probes = []
        for _ in range(200):
            readiness._at = 0.0   # defeat the 1 s cache: measure the checks themselves
            start = time.perf_counter()
            assert all(c.ok for c in readiness.checks())
            probes.append(time.perf_counter() - start)
        listener.close()
        store.close()
    print(f"audit write (SQLite, fsync), median: {off:.0f} us without SIEM, {on:.0f} us forwarding over TCP, "
          f"{down:.0f} us with the collector down ({int(dropped)} of {args.events} dropped, buffer 100)")
    print(f"/readyz checks, uncached, median {statistics.median(probes) * 1e3:.2f} ms, "
          f"max {max(probes) * 1e3:.2f} ms over {len(probes)}")


if __name__ == "__main__":
    main()
