"""Starting the real gateway for the hostile-mail tests, patient with a loaded machine.

The harness waits 15 s for the port; on the shared CI machine the first start
of a session (imports, pattern compilation) can take longer.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.harness import ROOT, Gateway, wait_for_port

STARTUP_SECONDS = 90.0


def start(workdir: Path, relay_port: int, settings: dict[str, object] | None = None) -> Gateway:
    """Start ``dlp-gateway serve`` as Gateway.start does, waiting up to STARTUP_SECONDS."""
    gateway = Gateway(workdir, relay_port, settings)
    gateway.write_config()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with gateway.log_path.open("ab") as log:
        gateway.process = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "serve", "--config", str(gateway.config_dir)],
            stdout=log, stderr=log, cwd=gateway.workdir, env=env)
    try:
        wait_for_port(gateway.port, STARTUP_SECONDS)
    except TimeoutError:
        gateway.stop()
        raise AssertionError(f"gateway did not start:\n{gateway.log_text()}") from None
    return gateway
