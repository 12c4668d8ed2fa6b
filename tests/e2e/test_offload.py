"""gateway.offload: which CPU work runs on the event loop and which in a thread."""

from __future__ import annotations

import asyncio
import threading

import pytest

from gateway.offload import Offload
from tests.e2e.fuzz import hostile

PLAIN = b"From: a@citrus.example\r\nSubject: rates\r\n\r\nInvoice 4471, due 12/01.\r\n"


def where(offload: Offload, content: bytes | None, size: int | None = None) -> str:
    async def main() -> str:
        loop = threading.get_ident()
        ran = await offload.run(threading.get_ident, len(content or b"") if size is None else size, content)
        return "loop" if ran == loop else "thread"
    return asyncio.run(main())


@pytest.fixture
def offload() -> Offload:
    pool = Offload(inline_below=16384, threads=2)
    yield pool
    pool.close()


def test_small_plain_message_runs_on_the_loop(offload: Offload) -> None:
    assert where(offload, PLAIN) == "loop"
    assert where(offload, b"Content-Transfer-Encoding: quoted-printable\r\n\r\nSSN=3D 219-45-6789\r\n") == "loop"


def test_a_large_message_runs_in_a_thread(offload: Offload) -> None:
    assert where(offload, PLAIN + b"x" * 16384) == "thread"
    assert where(offload, PLAIN, size=20000) == "thread"
    assert where(offload, None, size=10) == "thread"   # nothing to check: never inline


@pytest.mark.parametrize("marker", [b"Content-Transfer-Encoding: Base64", b"PK\x03\x04", b"PK=03=04",
                                    b"PK\x05\x06", b"%PDF-1.4"])
def test_what_the_scan_could_inflate_runs_in_a_thread(offload: Offload, marker: bytes) -> None:
    assert where(offload, PLAIN + marker + b"\r\n") == "thread"


def test_a_small_zip_bomb_runs_in_a_thread(offload: Offload) -> None:
    bomb = hostile.with_attachment("bomb.zip", hostile.overlapping_zip(entries=20, kernel_bytes=1 << 12),
                                   "application/zip")
    assert len(bomb) < 16384
    assert where(offload, bomb) == "thread"


def test_inline_off(offload: Offload) -> None:
    offload.configure(inline_below=0, threads=3)
    assert where(offload, PLAIN) == "thread"


def test_errors_come_back_from_either_place(offload: Offload) -> None:
    def fail() -> None:
        raise ValueError("boom")
    for content in (PLAIN, PLAIN + b"base64"):
        with pytest.raises(ValueError):
            asyncio.run(offload.run(fail, len(content), content))


def test_large_message_is_judged_in_the_scan_process(tmp_path) -> None:
    # A real GatewayState: the scan process builds its own pipeline from the settings.
    from prometheus_client import CollectorRegistry

    from gateway import config, pipeline
    from gateway.metrics import Metrics
    from gateway.relay import RelayPool
    from gateway.smtp import GatewayState

    settings = config.load(None, config.Overrides(data_dir=str(tmp_path)))
    settings = settings.model_copy(update={"detection": settings.detection.model_copy(
        update={"process_above": 2000})})
    state = GatewayState(settings, RelayPool(settings.relay), Metrics(CollectorRegistry()), "gw.test")
    message = (b"From: clerk@citrus.example\r\nSubject: rates\r\nMessage-ID: <219-45-6789@x.example>\r\n\r\n"
               + b"Nothing here.\r\n" * 200 + b"SSN 219-45-6789\r\n")
    envelope = pipeline.Envelope("clerk@citrus.example", ("a@outside.example",))
    try:
        prepared = asyncio.run(state.prepare(envelope, message))
        assert state.offload is not None and state.offload._procs is not None
        verdict = prepared.verdict
        assert verdict is not None and prepared.failure is None
        assert verdict.counts() == {"US_SSN": 1} and verdict.action is pipeline.Action.QUARANTINE
        assert prepared.message_id == "<***-**-6789@x.example>"
    finally:
        assert state.offload is not None
        state.offload.close()


def test_a_scan_process_that_dies_fails_one_message_only() -> None:
    import os
    from concurrent.futures.process import BrokenProcessPool

    offload = Offload(inline_below=0, threads=1, process_above=1)
    try:
        with pytest.raises(BrokenProcessPool):
            asyncio.run(offload.run(lambda: None, 10, None, (os._exit, (3,))))
        assert asyncio.run(offload.run(lambda: None, 10, None, (abs, (-4,)))) == 4
    finally:
        offload.close()


# Inline work runs in batches (Offload._batched): the sessions that reach it together are
# served one after the other, with nothing else on the loop between them.

async def _with_ticks(offload: Offload, works: list, log: list) -> list:
    """Run ``works`` as sessions that reach the scan a pass apart, while a task logs every pass of the loop."""
    stop = False

    async def ticker() -> None:
        while not stop:
            log.append("tick")
            await asyncio.sleep(0)

    async def session(n: int, work):   # the n-th reaches the scan n passes after the first
        for _ in range(n):
            await asyncio.sleep(0)
        return await offload.run(work, len(PLAIN), PLAIN)
    ticking = asyncio.ensure_future(ticker())
    await asyncio.sleep(0)
    try:
        return await asyncio.gather(*(session(n, w) for n, w in enumerate(works)), return_exceptions=True)
    finally:
        stop = True
        await ticking


def test_sessions_that_arrive_together_are_served_in_one_batch(offload: Offload) -> None:
    log: list = []

    def work(n: int):
        def run() -> int:
            log.append(n)
            return n * 10
        return run
    results = asyncio.run(_with_ticks(offload, [work(n) for n in range(6)], log))
    assert results == [0, 10, 20, 30, 40, 50]
    ran = [i for i, entry in enumerate(log) if entry != "tick"]
    assert ran == list(range(ran[0], ran[0] + 6)), log   # no pass of the loop between them
    assert log[ran[0]:ran[0] + 6] == list(range(6))       # in the order they came


def test_a_batch_keeps_each_session_its_context_and_its_own_error(offload: Offload) -> None:
    import contextvars
    session = contextvars.ContextVar("session")

    async def one(n: int) -> str:
        session.set(f"s{n}")

        def work() -> str:
            if n == 2:
                raise ValueError(f"boom {session.get()}")
            return session.get()
        return await offload.run(work, len(PLAIN), PLAIN)

    async def main() -> list:
        return await asyncio.gather(*(one(n) for n in range(4)), return_exceptions=True)
    got = asyncio.run(main())
    assert got[:2] == ["s0", "s1"] and got[3] == "s3"
    assert isinstance(got[2], ValueError) and str(got[2]) == "boom s2"


def test_a_session_gone_before_its_turn_costs_nothing(offload: Offload) -> None:
    ran: list = []

    async def main() -> None:
        tasks = [asyncio.ensure_future(offload.run(lambda n=n: ran.append(n), len(PLAIN), PLAIN)) for n in range(3)]
        await asyncio.sleep(0)   # each has queued its work
        tasks[1].cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    asyncio.run(main())
    assert ran == [0, 2]


def test_a_batch_lets_the_loop_through_after_its_hold(offload: Offload) -> None:
    import time

    from gateway import offload as module
    log: list = []

    def slow(n: int):
        def run() -> None:
            log.append(n)
            time.sleep(module._HOLD * 0.75)
        return run
    asyncio.run(_with_ticks(offload, [slow(n) for n in range(4)], log))
    ran = [i for i, entry in enumerate(log) if entry != "tick"]
    assert [log[i] for i in ran] == [0, 1, 2, 3]
    assert ran[1] == ran[0] + 1 and ran[2] > ran[1] + 1, log   # two fit in the hold; then the loop's pass


def test_an_idle_loop_answers_at_once(offload: Offload) -> None:
    # one session alone: its work waits only for passes of an otherwise idle loop
    for _ in range(3):
        assert where(offload, PLAIN) == "loop"


def test_a_job_that_fails_oddly_fails_alone(offload: Offload) -> None:
    # A StopIteration (which no future may carry) or a BaseException such as the scan's
    # OutOfTime is that session's failure, answered like any other; the rest of the batch goes on.
    from detectors.budget import OutOfTime

    def fails(kind: type[BaseException]):
        def run() -> None:
            raise kind()
        return run
    works = [lambda: "a", fails(StopIteration), lambda: "c", fails(OutOfTime), lambda: "e"]
    got = asyncio.run(_with_ticks(offload, works, []))
    assert [got[0], got[2], got[4]] == ["a", "c", "e"]
    assert isinstance(got[1], RuntimeError) and isinstance(got[1].__cause__, StopIteration)
    assert isinstance(got[3], RuntimeError) and isinstance(got[3].__cause__, OutOfTime)
