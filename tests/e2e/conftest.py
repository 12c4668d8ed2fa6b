from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Gateway, Sink


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink().start()
    yield server
    server.stop()


@pytest.fixture
def start_gateway(tmp_path: Path) -> Iterator[object]:
    started: list[Gateway] = []

    def start(relay_port: int, settings: dict[str, object] | None = None, workers: int = 1) -> Gateway:
        gateway = Gateway(tmp_path / f"gw{len(started)}", relay_port, settings, workers)
        started.append(gateway)
        return gateway.start()

    yield start
    for gateway in started:
        gateway.stop()
