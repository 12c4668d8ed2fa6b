"""Where a message's CPU work runs: on the event loop when it is small and
cannot be costly, else in a pool of CPU threads.

Moving a scan to a thread is not free under the GIL. The hyperscan searches
release the GIL and take it back for every match, so a scan in a thread
trades the GIL with the event loop hundreds of times per message: on 10 KB
of business mail that cost about 0.45 ms of CPU per message, a third of the
scan itself (benchmarks/relay). A small message is therefore judged on the
loop, but only when its cost is bounded by its size: at most
``inline_below`` bytes (16 KiB by default), and nothing in it that the scan
would inflate (a base64 part, a zip or PDF signature, raw or
quoted-printable). Plain text costs at most about 2 µs per byte to scan
(a line of spaced digits, the worst found), so the loop is held for at most
a few tens of milliseconds by any message taken inline. Everything else,
including a hostile message that spends the whole scan CPU budget
(``detection.scan_cpu_seconds``), runs in the thread pool while the loop
serves other sessions (issue 10).

>>> offload = Offload(inline_below=100, threads=1)
>>> offload.inline(40, b"Subject: hi\\r\\n\\r\\nLunch?\\r\\n"), offload.inline(40, None)
(True, False)
>>> offload.inline(40, b"Content-Transfer-Encoding: BASE64\\r\\n"), offload.inline(400, b"x")
(False, False)
>>> offload.close()
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

_T = TypeVar("_T")

# What the scan may inflate: a base64 part (any attachment), or a zip or PDF
# signature in an 8bit or quoted-printable part (the scan sniffs content, not
# labels: detectors.extract.sniff).
_COSTLY = re.compile(rb"(?i:base64)|PK(?:[\x03\x05\x07]|=0[357])|%PDF-")


class Offload:
    """The executor strategy of one worker (see the module doc)."""

    def __init__(self, inline_below: int, threads: int) -> None:
        self.inline_below = inline_below
        self.threads = threads
        self._pool = ThreadPoolExecutor(threads, "dlp-cpu")

    def configure(self, inline_below: int, threads: int) -> None:
        """New settings (SIGHUP): a new pool when its size changes; work under way finishes."""
        self.inline_below = inline_below
        if threads != self.threads:
            old, self._pool, self.threads = self._pool, ThreadPoolExecutor(threads, "dlp-cpu"), threads
            old.shutdown(wait=False)

    def inline(self, size: int, content: bytes | None) -> bool:
        """Whether work on a message of ``size`` bytes (``content``) may run on the loop."""
        return size <= self.inline_below and content is not None and _COSTLY.search(content) is None

    async def run(self, work: Callable[[], _T], size: int, content: bytes | None = None) -> _T:
        """Run ``work`` (CPU work on a message of ``size`` bytes) and return its result.

        ``content`` is the message, for the check that it cannot be costly;
        without it the work always goes to a thread.
        """
        if self.inline(size, content):
            return work()
        call = functools.partial(contextvars.copy_context().run, work)   # as asyncio.to_thread
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    def close(self) -> None:
        self._pool.shutdown(wait=False)
