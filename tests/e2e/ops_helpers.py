"""Starting the gateway for the operations tests: like Gateway.start, with
extra environment (NOTIFY_SOCKET, JOURNAL_STREAM) and a start timeout generous
enough for a loaded machine (each worker loads the detectors first)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import ROOT, Gateway, wait_for_port

START_TIMEOUT = 120.0


def launch(gateway: Gateway, env: dict[str, str] | None = None, wait: bool = True) -> Gateway:
    """Write the config, start ``serve``; with ``wait``, until the SMTP port answers."""
    gateway.write_config()
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    with gateway.log_path.open("ab") as log:
        gateway.process = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "serve", "--config", str(gateway.config_dir)],
            stdout=log, stderr=log, cwd=gateway.workdir, env=environment)
    if wait:
        try:
            wait_for_port(gateway.port, timeout=START_TIMEOUT)
        except TimeoutError:
            gateway.stop()
            raise AssertionError(f"gateway did not start:\n{gateway.log_text()}") from None
    return gateway


@pytest.fixture
def start_gateway(tmp_path: Path) -> Iterator[Any]:
    """Like the e2e conftest's fixture, with the longer start timeout."""
    started: list[Gateway] = []

    def start(relay_port: int, settings: dict[str, object] | None = None, workers: int = 1) -> Gateway:
        gateway = Gateway(tmp_path / f"gw{len(started)}", relay_port, settings, workers)
        started.append(gateway)
        return launch(gateway)

    yield start
    for gateway in started:
        gateway.stop()
