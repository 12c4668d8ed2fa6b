"""detectors.budget's watchdog: an OutOfTime reaches only the scan that spent its
budget, never the work a pool thread does next, and a forked process keeps one.

Real threads, real CPU clocks; the only bound on time is a generous timeout
that turns a hang into a failure."""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from detectors.budget import _WATCHDOG, Deadline, OutOfTime


def _spin(seconds: float) -> None:
    clock = time.pthread_getcpuclockid(threading.get_ident())
    end = time.clock_gettime(clock) + seconds
    while time.clock_gettime(clock) < end:
        pass


def _scan_like(limit: float) -> None:
    """A block that ends just before or just after its budget, used as Scanner.scan uses it."""
    deadline = Deadline(limit)
    try:
        with deadline:
            _spin(limit * random.uniform(0.8, 1.2))
    except OutOfTime:
        pass
    finally:
        deadline.close()


def _one(_: int) -> str:
    try:
        _scan_like(random.uniform(0.02, 0.04))
    except OutOfTime:
        return "escaped the scan"
    try:
        _spin(0.1)   # the pool thread's next job: a quarantine write, say
    except OutOfTime:
        return "reached the next job"
    return "ok"


def test_no_out_of_time_outlives_its_block_in_a_reused_pool_thread() -> None:
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(_one, range(40)))
    assert set(outcomes) == {"ok"}, outcomes
    assert not [d for d in _WATCHDOG.deadlines if d.armed]


def _child(result: multiprocessing.queues.SimpleQueue[str]) -> None:
    try:
        with Deadline(0.1):
            while True:   # never checks its budget
                pass
    except OutOfTime:
        result.put("stopped")


def test_a_forked_process_has_a_watchdog_of_its_own() -> None:
    with Deadline(0.01):   # the parent's watchdog thread runs (a replay's parent, say)
        pass
    assert _WATCHDOG.thread is not None
    context = multiprocessing.get_context("fork")
    result = context.SimpleQueue()
    child = context.Process(target=_child, args=(result,))
    child.start()
    child.join(timeout=30)
    if child.is_alive():
        child.kill()
        child.join()
    assert not result.empty() and result.get() == "stopped"


def test_no_codec_is_first_imported_inside_a_scan() -> None:
    # A sender picks the charset; its first use must not import a module under a budget.
    import subprocess
    import sys
    code = ("import sys; from detectors.scan import Scanner; Scanner(); "
            "print(sorted(m for m in ('encodings.cp037', 'encodings.koi8_u', 'encodings.mac_greek') "
            "if m not in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"
