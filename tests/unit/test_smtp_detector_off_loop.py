"""The event loop never runs the detector: masking the Message-ID for the log
line and the audit record is done in the scan's worker thread.

A real GatewayState (SQLite store in a temporary data directory, real metrics
registry)."""

from __future__ import annotations

import asyncio
import gc
import weakref
from pathlib import Path

from prometheus_client import CollectorRegistry

from gateway import config, pipeline
from gateway.metrics import Metrics
from gateway.relay import RelayPool
from gateway.smtp import GatewayHandler, GatewaySMTP, GatewayState

MESSAGE = (b"From: clerk@citrus.example\r\nTo: a@outside.example\r\nSubject: hi\r\n"
           b"Message-ID: <219-45-6789.ssn@citrus.example>\r\n\r\nSSN 219-45-6789\r\n")


def state(tmp_path: Path) -> GatewayState:
    settings = config.load(None, config.Overrides(data_dir=str(tmp_path)))
    metrics = Metrics(CollectorRegistry())
    return GatewayState(settings, RelayPool(settings.relay), metrics, "gw.test")


def test_judge_masks_the_message_id_in_the_worker(tmp_path: Path) -> None:
    gateway = state(tmp_path)
    envelope = pipeline.Envelope("clerk@citrus.example", ("a@outside.example",))
    prepared = asyncio.run(gateway.prepare(envelope, MESSAGE))
    assert prepared.verdict is not None and prepared.verdict.action is pipeline.Action.QUARANTINE
    assert prepared.message_id == "<***-**-6789.ssn@citrus.example>"


def test_a_closed_session_is_not_kept_by_the_template(tmp_path: Path) -> None:
    """The first session of a worker leaves a template for the next ones
    (gateway.smtp): the template must not keep that session, nor so the last
    message it read, once the session is gone."""
    gateway = state(tmp_path)
    handler = GatewayHandler(gateway)

    async def sessions() -> tuple[weakref.ref[GatewaySMTP], GatewaySMTP]:
        first = GatewaySMTP(handler, gateway)
        assert gateway.session_template is not None
        first._set_rset_state()  # type: ignore[no-untyped-call]
        assert first.envelope is not None
        first.envelope.original_content = MESSAGE   # as after a DATA the client left during
        second = GatewaySMTP(handler, gateway)   # built from the template
        return weakref.ref(first), second

    first, second = asyncio.run(sessions())
    gc.collect()
    assert first() is None, "the template keeps the first session"
    assert {m.method.__self__ for m in second._auth_methods.values() if m.is_builtin} == {second}
