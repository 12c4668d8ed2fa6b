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
