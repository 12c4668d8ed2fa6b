"""Replay sources through the pipeline in a process pool, results in input order.

The reader walks the sources and hands out batches of ``Ref``s (file and byte
range, not the messages: workers read them), with at most a few batches per
worker in flight, so memory stays flat however large the archive. Results
are taken in submission order. Ctrl-C (SIGINT) stops handing out work; what
was read so far is written and reported. Workers ignore SIGINT: the reader
decides when to stop.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from types import FrameType
from typing import IO, Any

from tqdm import tqdm

from gateway.replay import sources
from gateway.replay.examine import Batch, Setup, examine
from gateway.replay.tally import Tally

BATCH_MESSAGES = 64
BATCH_BYTES = 4 << 20
IN_FLIGHT_PER_WORKER = 4

_SETUP: Setup | None = None   # a worker's copy: inherited on fork, built by _init otherwise


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a replay ended."""

    tally: Tally
    interrupted: bool
    failed: str | None = None       # why the pool stopped, when it did
    seconds: float = 0.0


def batches(source_names: list[str]) -> Iterator[list[sources.Ref] | str]:
    """The refs of every source in order, grouped; a source that cannot be read is its
    one-line error, in its place."""
    batch: list[sources.Ref] = []
    size = 0
    for name in source_names:
        try:
            for ref in sources.refs(name):
                batch.append(ref)
                size += (ref.stop - ref.start) if ref.stop is not None else 64 << 10
                if len(batch) >= BATCH_MESSAGES or size >= BATCH_BYTES:
                    yield batch
                    batch, size = [], 0
        except sources.SourceError as exc:
            if batch:
                yield batch
                batch, size = [], 0
            yield str(exc)
    if batch:
        yield batch


def _init(setup: Setup | None) -> None:
    """In each worker: ignore Ctrl-C (the reader stops the run) and keep the setup."""
    global _SETUP
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if setup is not None:
        _SETUP = setup


def _work(refs: list[sources.Ref]) -> Batch:
    assert _SETUP is not None
    return examine(_SETUP, refs)


def _failed(error: str) -> Future[Batch]:
    """A source that could not be opened, as a batch of its own (reported in order)."""
    done: Future[Batch] = Future()
    tally = Tally()
    tally.refused["unreadable"] += 1
    done.set_result(Batch("", "", "", (error,), tally))
    return done


def _context() -> Any:
    """fork where there is one: workers share the loaded detector instead of loading their own."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


class _Stop:
    """Turns the first SIGINT into a flag; a second one interrupts as usual."""

    def __init__(self) -> None:
        self.requested = False
        self._before: Any = None

    def __enter__(self) -> _Stop:
        self._before = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, self._before)

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGINT, self._before)


def replay(source_names: list[str], setup: Setup, workers: int, deliver: Callable[[Batch], None],
           err: IO[str] = sys.stderr) -> Outcome:
    """Examine every message of ``source_names`` in ``workers`` processes; ``deliver``
    gets each batch's output in input order."""
    global _SETUP
    _SETUP = setup
    total = Tally()
    started = time.monotonic()
    context = _context()
    # Forked workers share the loaded detector's pages until something writes to them; the
    # collector's bookkeeping would, so what is loaded now is left out of collection.
    gc.freeze()
    # The pool starts (and, with fork, copies this process) before any thread exists.
    with _Stop() as stop, ProcessPoolExecutor(workers, mp_context=context, initializer=_init,
                                              initargs=(None if context.get_start_method() == "fork"
                                                        else setup,)) as pool:
        progress: _Progress | None = None
        pending: deque[Future[Batch]] = deque()
        failed: str | None = None
        work = batches(source_names)
        try:
            while not stop.requested:
                while len(pending) < workers * IN_FLIGHT_PER_WORKER:
                    refs = next(work, None)
                    if refs is None:
                        break
                    pending.append(pool.submit(_work, refs) if not isinstance(refs, str) else _failed(refs))
                if not pending:
                    break
                if progress is None:   # after the pool forked: tqdm starts a thread
                    progress = _Progress(source_names, err)
                wait([pending[0]], timeout=0.2, return_when=FIRST_COMPLETED)
                while pending and pending[0].done():
                    batch = pending.popleft().result()
                    deliver(batch)
                    total.merge(batch.tally)
                    progress.update(batch)
        except BrokenProcessPool:
            failed = "a worker process died (out of memory?)"
        except Exception as exc:   # a bug, not a message: stop, but keep what was read
            failed = f"a worker failed ({type(exc).__name__})"
        finally:
            for future in pending:
                future.cancel()
            if progress is not None:
                progress.close()
        pool.shutdown(wait=True, cancel_futures=True)
    return Outcome(total, stop.requested, failed, time.monotonic() - started)


class _Progress:
    """A bar over the sources' bytes with messages/s, on a terminal only."""

    def __init__(self, source_names: list[str], err: IO[str]) -> None:
        self._bar: Any = None
        self._count = 0
        self._started = time.monotonic()
        if not err.isatty():
            return
        size = sum(_size(name) for name in source_names)
        self._bar = tqdm(total=size or None, file=err, unit="B", unit_scale=True, leave=False,
                         bar_format="{l_bar}{bar}| {postfix} [{elapsed}<{remaining}]")

    def update(self, batch: Batch) -> None:
        if self._bar is None:
            return
        self._count += batch.tally.messages + batch.tally.outside + sum(batch.tally.refused.values())
        rate = self._count / max(1e-6, time.monotonic() - self._started)
        self._bar.set_postfix_str(f"{self._count:,} messages, {rate:,.0f} msg/s", refresh=False)
        self._bar.update(batch.size)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _size(name: str) -> int:
    """Bytes to read in a source (the files under a folder)."""
    try:
        if os.path.isdir(name):
            return sum(e.stat().st_size for e in os.scandir(name) if e.is_file()) + sum(
                _size(e.path) for e in os.scandir(name) if e.is_dir())
        return os.path.getsize(name)
    except OSError:
        return 0
