"""A starting gateway waits for the workers of an earlier one (their shared
lock on data_dir/workers.lock), and refuses to start beside them."""

from __future__ import annotations

import errno
import threading
from pathlib import Path

import pytest

from gateway import lifecycle


def test_start_waits_for_old_workers_then_refuses(tmp_path: Path) -> None:
    old = lifecycle.hold_worker_lock(tmp_path)
    with pytest.raises(OSError) as refused:
        lifecycle.wait_for_old_workers(tmp_path, timeout=0.3)
    assert refused.value.errno == errno.EBUSY
    threading.Timer(0.3, old.close).start()          # the old worker exits
    lifecycle.wait_for_old_workers(tmp_path, timeout=10)
    lifecycle.hold_worker_lock(tmp_path).close()     # new workers take the lock again
