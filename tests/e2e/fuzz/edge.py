"""Starting the real gateway for the hostile-mail tests (tests.e2e.harness.Gateway)."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.harness import Gateway


def start(workdir: Path, relay_port: int, settings: dict[str, object] | None = None) -> Gateway:
    """Start ``dlp-gateway serve`` in ``workdir``, relaying to ``relay_port``."""
    return Gateway(workdir, relay_port, settings).start()
