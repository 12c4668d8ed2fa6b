"""Compile the detectors' hot modules with mypyc into build/native/ (see detectors/__init__.py).

    python deploy/native.py            # build, then replace build/native/ whole
    python deploy/native.py --check    # print whether the compiled modules are used, and why not

Needs mypy (the ``native`` or ``test`` extra) and a C compiler; takes a
minute or two. Without a build, or with a source edited since, the
sources run: same findings, slower (benchmarks/detection). A build that
fails leaves the previous one as it was, and says so.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
_ENVIRON = dict(os.environ)
os.environ["DLP_NATIVE"] = "0"  # this process reads the sources' names and digests, and runs nothing compiled

import detectors  # noqa: E402

# Run in an empty directory (setuptools would read the project's pyproject.toml as this build's
# metadata), where ``detectors`` is a link to the package: mypyc names each module by its path.
_SETUP = r"""
import os, sys
from setuptools import setup
from mypyc.build import mypycify
paths, out, temp = sys.argv[1].split(","), sys.argv[2], sys.argv[3]
setup(name="dlp-native", script_args=["build_ext", "--build-lib", out, "--build-temp", temp + "/obj",
                                      "--parallel", str(os.cpu_count() or 1)],
      ext_modules=mypycify(paths + ["--ignore-missing-imports", "--follow-imports=silent"],
                           opt_level="3", multi_file=True, target_dir=temp + "/c"))
"""


def build() -> int:
    sources = {name: detectors.digest(ROOT / name) for name in detectors.NATIVE}
    target = detectors.NATIVE_DIR
    target.parent.mkdir(parents=True, exist_ok=True)
    # Built beside its target (one filesystem), so that it replaces the old build by a rename: a
    # process starting meanwhile finds a whole build, the old one, or none (and runs the sources).
    with tempfile.TemporaryDirectory(prefix="native-", dir=target.parent) as temp:
        work = Path(temp)
        (work / "detectors").symlink_to(ROOT / "detectors", target_is_directory=True)
        out = work / "out"
        done = subprocess.run([sys.executable, "-c", _SETUP, ",".join(detectors.NATIVE), str(out), str(work)],
                              cwd=work, stdout=subprocess.DEVNULL)
        if done.returncode != 0:
            print(f"native: the build failed (exit {done.returncode}); {_state_line()}", file=sys.stderr)
            return 1
        if {name: detectors.digest(ROOT / name) for name in detectors.NATIVE} != sources:
            print("native: a source changed during the build; nothing replaced", file=sys.stderr)
            return 1
        (out / detectors.MANIFEST).write_text(json.dumps(
            {"interpreter": detectors.interpreter(), "sources": sources}, indent=1, sort_keys=True) + "\n")
        old = work / "old"
        if target.exists():
            target.rename(old)
        out.rename(target)
    print(f"native: {len(sources)} modules compiled into {target.relative_to(ROOT)}; {_state_line()}")
    return 0


def _state_line() -> str:
    return {"on": "they are used",
            "absent": "the sources run (no build)",
            "stale": "the sources run (edited since the build: make native)",
            "other-python": "the sources run (built for another interpreter: make native)",
            "off": "the sources run (DLP_NATIVE=0)"}[detectors.native_state(environ=_ENVIRON)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="print the state of the build and exit")
    args = parser.parse_args()
    if args.check:
        print(f"native: {_state_line()}")
        return 0
    return build()


if __name__ == "__main__":
    sys.exit(main())
