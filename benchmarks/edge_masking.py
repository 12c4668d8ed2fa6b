"""What issue 17 adds per message at the edge: removing sender-written X-DLP-*
fields and masking the envelope for the log line and records.

    PYTHONPATH=. .venv/bin/python benchmarks/edge_masking.py
"""

from __future__ import annotations

import timeit

from gateway import headers, masking
from gateway.pipeline import Envelope

BODY = b"body line of an ordinary message\r\n" * 300
HEAD = (b"From: clerk@citrus.example\r\nTo: a@example.com\r\nSubject: hello\r\nMessage-ID: <x@y>\r\n"
        b"Date: Mon, 1 Jan 2026 00:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n")
PLAIN, BIG = HEAD + BODY, HEAD + BODY * 100
FORGED = b"X-DLP-Verdict: deliver\r\nX-DLP-Released-By: x\r\nX-DLP-Exception: y\r\n" + PLAIN
CASES = {
    "from_sender, 10 KB, no X-DLP-*": lambda: headers.from_sender(PLAIN),
    "from_sender, 10 KB, 3 forged X-DLP-*": lambda: headers.from_sender(FORGED),
    "from_sender, 1 MB, no X-DLP-*": lambda: headers.from_sender(BIG),
    "envelope, 2 recipients": lambda: masking.envelope(Envelope("clerk@citrus.example", ("a@x.org", "b@y.org"))),
    "envelope, SSN in MAIL FROM": lambda: masking.envelope(Envelope("219-45-6789@x.example", ("a@x.org",))),
}

if __name__ == "__main__":
    for name, case in CASES.items():
        runs = 2000
        best = min(timeit.repeat(case, number=runs, repeat=3)) / runs
        print(f"{name:40} {best * 1e6:8.1f} us")
