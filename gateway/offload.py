"""Where a message's CPU work runs: on the event loop when it is small and
cannot be costly, in a separate process when it is large, else in a pool of
CPU threads.

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

Work on the loop runs in batches: the sessions whose messages reach the
scan within a few passes of the loop are scanned one after the other, so
the scan's code and tables are still in the CPU's caches for the next
message, and so is the SMTP work of the sessions served together. With 20
sessions on one worker this cut its CPU per 10 KB message from 1.31 ms to
1.02 (benchmarks/relay/abcpu.py). A batch holds the loop at most about 20
ms before the other sessions get a pass.

A large message (``process_above``, 1 MiB by default) is judged in a scan
process of this worker's own instead: threads are not enough there. A scan
holds the GIL for the whole of each C call (a regex over megabytes of text,
a base64 decode), so while a 25 MB message was scanned in a thread, 10 KB
messages on the same loop waited up to 40 times longer than idle
(benchmarks/relay/bigmsg.py). The process gets a picklable job (see
``scanproc``), builds its own pipeline from the same settings, and keeps it
until the settings change. Its peak memory is its own, not the worker's.

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
import logging
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from gateway import lifecycle
from gateway.bytescan import Occurs

log = logging.getLogger("dlp.offload")

_T = TypeVar("_T")

# What the scan may inflate: a base64 part (any attachment), or a zip or PDF
# signature in an 8bit or quoted-printable part (the scan sniffs content, not
# labels: detectors.extract.sniff). One regex with a case-insensitive
# alternation cost about 0.2 ms per 10 KB message (no literal to search for,
# so a match is tried at every byte); three substring searches 16 µs; one
# hyperscan pass for the three (gateway.bytescan) 4 µs.
_COSTLY = Occurs([rb"PK(?:[\x03\x05\x07]|=0[357])", rb"%PDF-", rb"base64"], caseless=[False, False, True])


def costly(content: bytes) -> bool:
    """Whether ``content`` holds what the scan may inflate (see ``_ZIP``).

    >>> costly(b"Content-Transfer-Encoding: Base64"), costly(b"PK=03=04"), costly(b"%PDF-1.7")
    (True, True, True)
    >>> costly(b"PK 2024, %pdf, base 64")
    False
    """
    return bool(_COSTLY(content))


# Inline work in batches (Offload._batched): how many messages, how many passes of the loop the
# first waits for them, and how long a batch may hold the loop (seconds).
_BATCH = 32
_PASSES = 16
_HOLD = 0.02


def _settle(future: asyncio.Future[_T], context: contextvars.Context, work: Callable[[], _T]) -> None:
    """Run ``work`` for ``future``'s session and give it the outcome, whatever it is: only
    KeyboardInterrupt and SystemExit (the worker is stopping) leave here, its future cancelled.
    What a future cannot carry (StopIteration) or a session must not take for its own
    cancellation or budget (any other BaseException) becomes a RuntimeError: a 451, as any failure.
    """
    error: BaseException
    try:
        result = context.run(work)
    except (KeyboardInterrupt, SystemExit):
        future.cancel()
        raise
    except StopIteration as exc:
        error = RuntimeError("inline work raised StopIteration")
        error.__cause__ = exc
    except Exception as exc:  # noqa: BLE001 - the session's own handler answers it
        error = exc
    except BaseException as exc:  # noqa: BLE001 - as above
        error = RuntimeError(f"inline work raised {type(exc).__name__}")
        error.__cause__ = exc
    else:
        if not future.done():
            future.set_result(result)
        return
    if not future.done():
        future.set_exception(error)


# A job for the scan process: a module-level function and its (picklable) arguments.
Job = tuple[Callable[..., Any], tuple[Any, ...]]


class Offload:
    """The executor strategy of one worker (see the module doc)."""

    def __init__(self, inline_below: int, threads: int, process_above: int = 0, processes: int = 1) -> None:
        self.inline_below = inline_below
        self.threads = threads
        self.process_above = process_above   # 0: no scan process
        self.processes = processes
        self._pool = ThreadPoolExecutor(threads, "dlp-cpu")
        self._procs: ProcessPoolExecutor | None = None
        # Inline work waiting for its batch (see ``_batched``), and the loop a drain is scheduled on.
        self._queue: list[tuple[Callable[[], Any], asyncio.Future[Any], contextvars.Context]] = []
        self._draining: asyncio.AbstractEventLoop | None = None

    def configure(self, inline_below: int, threads: int, process_above: int = 0, processes: int = 1) -> None:
        """New settings (SIGHUP): a new pool when its size changes; work under way finishes."""
        self.inline_below = inline_below
        self.process_above = process_above
        if threads != self.threads:
            old, self._pool, self.threads = self._pool, ThreadPoolExecutor(threads, "dlp-cpu"), threads
            old.shutdown(wait=False)
        if processes != self.processes or not process_above:
            self.processes = processes
            self._stop_processes()

    def warm(self, job: Job) -> None:
        """Start the scan process now and run ``job`` there (building its pipeline),
        so that the first large message does not wait for it."""
        if self.process_above:
            self._processes().submit(job[0], *job[1])

    def _processes(self) -> ProcessPoolExecutor:
        if self._procs is None:
            # A scan process ends with its worker, even one killed with SIGKILL (the OOM killer):
            # else it would wait on its own pipe for ever.
            self._procs = ProcessPoolExecutor(self.processes, multiprocessing.get_context("spawn"),
                                              initializer=lifecycle.die_with_parent, initargs=(os.getpid(),))
        return self._procs

    def _stop_processes(self, kill: bool = False) -> None:
        """Let the scan process go when its work is done, or (``kill``: the worker
        is stopping) end it now; a scan it was doing fails, and its client gets 451."""
        procs, self._procs = self._procs, None
        if procs is None:
            return
        # The executor has no public way to end its processes before 3.14;
        # without it the worker's exit would wait for a scan in progress.
        children = list((getattr(procs, "_processes", None) or {}).values()) if kill else []
        procs.shutdown(wait=False, cancel_futures=kill)
        for child in children:
            child.terminate()

    def inline(self, size: int, content: bytes | None) -> bool:
        """Whether work on a message of ``size`` bytes (``content``) may run on the loop."""
        return size <= self.inline_below and content is not None and not costly(content)

    async def run(self, work: Callable[[], _T], size: int, content: bytes | None = None,
                  job: Job | None = None) -> _T:
        """Run ``work`` (CPU work on a message of ``size`` bytes) and return its result.

        ``content`` is the message, for the check that it cannot be costly
        (then it runs on the loop, in a batch: ``_batched``); without it the
        work always goes to a thread. ``job`` is the same work as a picklable
        job, for the scan process (without it: a thread).
        """
        if job is not None and self.process_above and size >= self.process_above:
            judged: _T = await self._in_process(job)   # the job does ``work``'s work
            return judged
        if self.inline(size, content):
            return await self._batched(work)
        call = functools.partial(contextvars.copy_context().run, work)   # as asyncio.to_thread
        result: _T = await asyncio.get_running_loop().run_in_executor(self._pool, call)
        return result

    def _batched(self, work: Callable[[], _T]) -> asyncio.Future[_T]:
        """Run ``work`` on the loop in a batch with the other sessions' inline work.

        A scan's code and tables stay in the CPU's caches from one message
        to the next, and so does the SMTP work of the sessions served
        together: a 10 KB scan after a session's SMTP work cost about 650
        µs, right after another scan 500 (benchmarks/relay). So the first
        job waits up to ``_PASSES`` passes of the loop, while other sessions
        read their DATA, for a batch of ``_BATCH``; on an idle loop the
        passes take microseconds. A batch holds the loop for at most about
        ``_HOLD`` seconds; the rest waits one pass.
        """
        loop = asyncio.get_running_loop()
        if self._draining is not loop and self._draining is not None:   # a loop that is gone (tests)
            self._queue = [job for job in self._queue if job[1].get_loop() is loop]
            self._draining = None
        future: asyncio.Future[_T] = loop.create_future()
        self._queue.append((work, future, contextvars.copy_context()))   # the session's context
        if self._draining is None:
            self._draining = loop
            loop.call_soon(self._drain, loop, _PASSES)
        return future

    def _drain(self, loop: asyncio.AbstractEventLoop, passes: int) -> None:
        if passes > 1 and len(self._queue) < _BATCH:
            loop.call_soon(self._drain, loop, passes - 1)   # a pass more for the others
            return
        queue, self._queue = self._queue, []
        until = time.monotonic() + _HOLD
        try:
            for index, (work, future, context) in enumerate(queue):
                if index and time.monotonic() > until:   # the loop serves the other sessions first
                    self._queue[:0] = queue[index:]
                    break
                if future.done():   # cancelled: its session is gone, nothing waits for the result
                    continue
                try:
                    _settle(future, context, work)
                except BaseException:    # the worker is stopping: the rest still get their turn
                    self._queue[:0] = queue[index + 1:]
                    raise
        finally:
            self._draining = loop if self._queue else None
            if self._queue:
                loop.call_soon(self._drain, loop, 1)

    async def _in_process(self, job: Job) -> Any:
        procs = self._processes()
        try:
            return await asyncio.wrap_future(procs.submit(job[0], *job[1]))
        except BrokenProcessPool:   # the process died (killed, out of memory): a new one next time
            log.error("scan process died; starting another")
            if self._procs is procs:
                self._stop_processes()
            raise

    def close(self) -> None:
        self._pool.shutdown(wait=False)
        self._stop_processes(kill=True)
