"""Extraction of text from MIME and detection of sensitive numbers; no SMTP here.

Compiled modules. ``make native`` (deploy/native.py) compiles the modules
of ``NATIVE`` with mypyc into ``build/native/``, beside these sources. They
are imported instead of the sources only when every one of those sources
is byte for byte the one compiled (the build records their SHA-256), the
interpreter is the one they were built for, and ``DLP_NATIVE`` is not
``0``: a source edited since, or a build missing, means the sources run, as
they would anyway. All or none: compiled modules call each other directly,
so one stale module would still run inside the others. ``NATIVE_STATE``
says which (``on``, ``off``, ``absent``, ``stale``, ``other-python``).
Same findings either way (tests/unit/detectors/test_native.py compares them).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import sysconfig
from collections.abc import Mapping
from pathlib import Path

# Relative to the repository's root. Not findings.py and scan.py: their frozen dataclasses
# cross process boundaries, and mypyc's cannot be unpickled.
NATIVE = tuple(f"detectors/{name}.py" for name in (
    "bank_account", "bank_routing", "budget", "candidates", "context", "credit_card", "driver_license",
    "engine", "extract/lines", "extract/mime", "extract/text", "phone", "prefilter", "recognizer",
    "segments", "tables", "us_ein", "us_itin", "us_ssn", "utility_account"))
ROOT = Path(__file__).resolve().parent.parent
NATIVE_DIR = ROOT / "build" / "native"
MANIFEST = "manifest.json"


def interpreter() -> str:
    """What a build is good for: this interpreter's extension suffix (version, ABI, platform)."""
    return str(sysconfig.get_config_var("EXT_SUFFIX"))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def native_state(root: Path = ROOT, build: Path = NATIVE_DIR, environ: Mapping[str, str] = os.environ) -> str:
    """Whether the compiled modules under ``build`` may stand for the sources under ``root``."""
    if environ.get("DLP_NATIVE", "") == "0":
        return "off"
    try:
        manifest = json.loads((build / MANIFEST).read_text())
    except (OSError, ValueError):
        return "absent"
    if not isinstance(manifest, dict):
        return "stale"
    if manifest.get("interpreter") != interpreter():
        return "other-python"
    sources = manifest.get("sources")
    if not isinstance(sources, dict) or set(sources) != set(NATIVE):
        return "stale"
    try:
        if any(digest(root / name) != sources[name] for name in NATIVE):
            return "stale"
    except OSError:
        return "stale"
    return "on"


def _load_shared_library(build: Path) -> None:
    """Import the compiled modules' shared library (``<hash>__mypyc``), which
    each of them imports by name, from its file.

    Not by putting ``build`` on ``sys.path``: a process started with spawn
    (the gateway's workers) gets the parent's ``sys.path`` before it imports
    this package, and would then find ``build/native/detectors`` first, as a
    namespace package without these sources: every worker failed at start."""
    for library in build.glob(f"*__mypyc{interpreter()}"):
        name = library.name[:-len(interpreter())]
        if name in sys.modules:
            continue
        spec = importlib.util.spec_from_file_location(name, library)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)


NATIVE_STATE = native_state()
if NATIVE_STATE == "on":
    __path__.insert(0, str(NATIVE_DIR / "detectors"))  # found before the sources (detectors.extract: likewise)
    _load_shared_library(NATIVE_DIR)
