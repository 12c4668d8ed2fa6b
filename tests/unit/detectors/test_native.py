"""The detectors' modules compiled with mypyc (detectors/__init__.py, deploy/native.py):
used only while they match the sources, and finding exactly what the sources find."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import detectors

ROOT = Path(__file__).resolve().parents[3]


def test_the_compiled_modules_are_used_in_ci() -> None:
    """`make test` builds them (deploy/native.py); in CI a build that failed is a failure."""
    if os.environ.get("CI") != "true" and detectors.NATIVE_STATE != "on":
        pytest.skip(f"compiled modules not used here ({detectors.NATIVE_STATE}); `make native` builds them")
    assert detectors.NATIVE_STATE == "on"
    for module in (importlib.import_module("detectors.engine"), importlib.import_module("detectors.extract.mime")):
        assert str(module.__file__).startswith(str(detectors.NATIVE_DIR)), module.__file__


def _tree(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the compiled modules' sources and a manifest that matches them."""
    root, build = tmp_path / "root", tmp_path / "build"
    for name in detectors.NATIVE:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, root / name)
    build.mkdir()
    sources = {name: detectors.digest(root / name) for name in detectors.NATIVE}
    (build / detectors.MANIFEST).write_text(json.dumps({"interpreter": detectors.interpreter(), "sources": sources}))
    return root, build


def test_a_build_stands_for_the_sources_only_while_they_match(tmp_path: Path) -> None:
    root, build = _tree(tmp_path)
    assert detectors.native_state(root, build, environ={}) == "on"
    assert detectors.native_state(root, build, environ={"DLP_NATIVE": "0"}) == "off"
    with (root / "detectors/tables.py").open("a") as source:
        source.write("# edited\n")
    assert detectors.native_state(root, build, environ={}) == "stale"
    root, build = _tree(tmp_path / "again")
    manifest = json.loads((build / detectors.MANIFEST).read_text())
    (build / detectors.MANIFEST).write_text(json.dumps({**manifest, "interpreter": ".cpython-39-x86_64-linux-gnu.so"}))
    assert detectors.native_state(root, build, environ={}) == "other-python"
    del manifest["sources"]["detectors/engine.py"]   # built before a module joined NATIVE
    (build / detectors.MANIFEST).write_text(json.dumps(manifest))
    assert detectors.native_state(root, build, environ={}) == "stale"
    (build / detectors.MANIFEST).write_text("[]")   # JSON, not a build's manifest
    assert detectors.native_state(root, build, environ={}) == "stale"
    (build / detectors.MANIFEST).unlink()
    assert detectors.native_state(root, build, environ={}) == "absent"


_DUMP = """
import runpy, sys, detectors
print(detectors.NATIVE_STATE, flush=True)
sys.argv = [sys.argv[1], sys.argv[2], "--count", "120"]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_compiled_and_source_modules_find_the_same(tmp_path: Path) -> None:
    """Every finding and note, offsets and scores, on the test corpus (plain, with a customer list, in
    narrow windows), the independent corpus, the real-mail messages and texts longer than a window."""
    if detectors.NATIVE_STATE != "on":
        pytest.skip(f"compiled modules not used here ({detectors.NATIVE_STATE})")
    dumps = {}
    for state, native in (("on", "1"), ("off", "0")):
        out = tmp_path / f"{state}.tsv"
        done = subprocess.run([sys.executable, "-c", _DUMP, str(ROOT / "benchmarks/detection/findings_dump.py"),
                               str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600,
                              env={**os.environ, "DLP_NATIVE": native, "PYTHONPATH": str(ROOT)})
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.split()[0] == state
        dumps[state] = out.read_bytes()
    assert dumps["on"].count(b"\n") > 10_000
    assert dumps["on"] == dumps["off"]


def test_the_compiled_modules_doctests_pass_from_their_sources() -> None:
    """Collection leaves them out while the compiled modules are used (conftest.py): here they run."""
    if detectors.NATIVE_STATE != "on":
        pytest.skip("the doctests were collected with every other module's")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *detectors.NATIVE],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "DLP_NATIVE": "0", "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stdout[-3000:]
    passed = int(done.stdout.strip().splitlines()[-1].split(" passed")[0].split()[-1])
    assert passed >= 20, done.stdout[-500:]


def test_the_mapping_check_agrees_with_its_one_pass_form() -> None:
    """normalize()'s check looks at a few bytes of the text's encoding, or (many characters past
    Latin-1, or many question marks) makes one pass over its UTF-8: both answer alike."""
    from detectors import candidates

    texts = ["abc 123\u00a0456", "x \u201chi\u201d 123", "12\u201334", "\uff11\uff12", "a?b\u2013c", "1\u00ad",
             "\u0416" * 500 + " 12\u201334", "\u0416" * 500 + " 12-34", "?" * 100 + "1\u00a02", "?" * 100 + "1 2",
             "\u4e2d" * 300 + "\uff11", "\u4e2d" * 300, "\u0661\u0662 x"]
    answers = [candidates._needs_mapping(t) for t in texts]
    assert answers == [candidates._any_mapped(t) for t in texts]
    assert answers.count(True) == 7


_SPAWN = """
import importlib, multiprocessing, sys
import detectors
child = multiprocessing.get_context("spawn").Process(target=importlib.import_module, args=("detectors.segments",))
child.start()
child.join()
sys.exit(child.exitcode)
"""


def test_a_spawned_process_imports_the_compiled_modules(tmp_path: Path) -> None:
    """The gateway's workers are spawned: they get the parent's sys.path before
    they import detectors. With build/native on it, they found its
    ``detectors`` directory first, a namespace package without the sources,
    and every worker failed at start (`make run`, two workers or more)."""
    if detectors.NATIVE_STATE != "on":
        pytest.skip(f"compiled modules not used here ({detectors.NATIVE_STATE})")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}   # as `dlp-gateway serve` runs
    done = subprocess.run([sys.executable, "-c", _SPAWN], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
