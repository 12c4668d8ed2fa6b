"""A worker's multiprocess values are keyed by a pid read once (gateway.metrics.cached_pid_values),
yet a forked child still writes its own file, and a process that already made values keeps the
library's default. In a child interpreter: prometheus-client reads PROMETHEUS_MULTIPROC_DIR once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

_CHILD = r"""
import json, os, sys
from prometheus_client import Counter, values
from prometheus_client.mmap_dict import MmapedDict
from gateway import metrics

installed = metrics.cached_pid_values()
counter = Counter("dlp_test_total", "a test counter", registry=None)
counter.inc()
child = os.fork()
if child == 0:
    again = metrics.cached_pid_values()   # not in a child, before it has files: it holds the parent's values
    counter.inc(2)   # the forked child: a file of its own, starting from 0
    os._exit(3 if again else 0)
_, status = os.waitpid(child, 0)
counter.inc(4)
directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]

def total(pid):
    path = os.path.join(directory, f"counter_{pid}.db")
    if not os.path.exists(path):
        return None
    found = MmapedDict(path, read_mode=True)
    try:
        return sum(value for key, value, _ in found.read_all_values() if "dlp_test_total" in key)
    finally:
        found.close()

print(json.dumps({"installed": installed, "again": metrics.cached_pid_values(), "child_status": status,
                  "parent": total(os.getpid()), "child": total(child)}))
"""


def run(directory: Path) -> dict[str, object]:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    done = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2], check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_values_keyed_by_a_cached_pid_still_split_at_a_fork(tmp_path: Path) -> None:
    result = run(tmp_path)
    assert result["installed"] is True
    assert result["again"] is False   # this process has values now: the library's class stays
    assert result["child_status"] == 0   # nor in a forked child
    # the parent's 1 + 4 in its file; the child's 2 in a file of its own, not added to the parent's
    assert result["parent"] == 5.0
    assert result["child"] == 2.0
