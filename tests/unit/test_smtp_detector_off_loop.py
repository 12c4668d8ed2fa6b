"""The event loop never waits for the detector: a hostile message's scan holds it
one window at a time (detectors.scan), and every other session would stall.

A real GatewayState (SQLite store in a temporary data directory, real metrics
registry); the detector's lock is held by another thread, as a scan does."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from prometheus_client import CollectorRegistry

from detectors import scan
from gateway import config, pipeline
from gateway.metrics import Metrics
from gateway.relay import RelayPool
from gateway.smtp import GatewayHandler, GatewayState, _Outcome

MESSAGE = (b"From: clerk@citrus.example\r\nTo: a@outside.example\r\nSubject: hi\r\n"
           b"Message-ID: <219-45-6789.ssn@citrus.example>\r\n\r\nSSN 219-45-6789\r\n")


def state(tmp_path: Path) -> GatewayState:
    settings = config.load(None, config.Overrides(data_dir=str(tmp_path)))
    metrics = Metrics(CollectorRegistry())
    return GatewayState(settings, RelayPool(settings.relay), metrics, "gw.test")


def test_judge_masks_the_message_id_in_the_worker(tmp_path: Path) -> None:
    gateway = state(tmp_path)
    outcome = _Outcome("Q1")
    envelope = pipeline.Envelope("clerk@citrus.example", ("a@outside.example",))
    verdict = asyncio.run(gateway.judge(envelope, MESSAGE, outcome))
    assert verdict.action is pipeline.Action.QUARANTINE
    assert outcome.message_id == "<***-**-6789.ssn@citrus.example>"


def test_the_log_record_does_not_wait_for_a_scan_in_progress(tmp_path: Path) -> None:
    gateway = state(tmp_path)
    handler = GatewayHandler(gateway)
    envelope = pipeline.Envelope("clerk@citrus.example", ("a@outside.example",))
    outcome = _Outcome("Q2", message_id="<x@y>")
    done = threading.Event()

    def record() -> None:   # as the event loop does after every message
        handler._record(MESSAGE, envelope, outcome, time.perf_counter())
        done.set()

    with scan._ONE_AT_A_TIME:   # a scan is inside a window
        threading.Thread(target=record, daemon=True).start()
        finished = done.wait(timeout=30)
    assert finished, "the record waited for the detector"
