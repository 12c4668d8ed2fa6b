"""Peak memory of scanning one 8 MiB message, for sizing smtp.inflight_bytes.

    PYTHONPATH=. python benchmarks/memory/peak.py text   # a plain-text body
    PYTHONPATH=. python benchmarks/memory/peak.py csv    # a base64 CSV attachment

Prints the peak of Python's allocations (tracemalloc) while the pipeline scans
the message, and its ratio to the message size.
"""

from __future__ import annotations

import base64
import sys
import tracemalloc

from gateway import config, pipeline

SIZE = 8 * 1024 * 1024


def message(kind: str) -> bytes:
    if kind == "text":
        line = b"Plain words and an invoice 2026-0042 of 11 21 2026 for the account.\r\n"
        return b"Subject: t\r\nContent-Type: text/plain\r\n\r\n" + line * (SIZE // len(line))
    raw = b"name,account,amount\n" + b"Jane Roe,1234-5678,42.00\n" * (SIZE * 3 // 4 // 25)
    encoded = base64.encodebytes(raw).replace(b"\n", b"\r\n")
    return (b"Subject: t\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
            b"Content-Type: text/plain\r\n\r\nsee attached\r\n--b\r\nContent-Type: text/csv; name=a.csv\r\n"
            b"Content-Disposition: attachment; filename=a.csv\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + encoded + b"\r\n--b--\r\n")


def main(kind: str) -> None:
    stages = pipeline.Pipeline.from_settings(config.load(None))
    envelope = pipeline.Envelope("a@citrus.example", ("b@example.com",))
    stages.run(envelope, b"Subject: warm\r\n\r\nhello 219-45-6789\r\n")   # load what loads lazily
    data = message(kind)
    tracemalloc.start()
    stages.run(envelope, data)
    _, peak = tracemalloc.get_traced_memory()
    print(f"{kind}: {len(data)} bytes, peak {peak / 2**20:.1f} MiB, {peak / len(data):.1f}x the message")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "text")
