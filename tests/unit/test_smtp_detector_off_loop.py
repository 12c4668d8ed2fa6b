"""The event loop never runs the detector: masking the Message-ID for the log
line and the audit record is done in the scan's worker thread.

A real GatewayState (SQLite store in a temporary data directory, real metrics
registry)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from prometheus_client import CollectorRegistry

from gateway import config, pipeline
from gateway.metrics import Metrics
from gateway.relay import RelayPool
from gateway.smtp import GatewayState

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
