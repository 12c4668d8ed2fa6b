"""Collection. The modules mypyc compiled (``detectors.NATIVE_STATE`` on) are
what ``import`` finds, not the files pytest would read their doctests from:
their doctests run from the sources in a process of their own
(tests/unit/detectors/test_native.py)."""

from __future__ import annotations

import detectors

collect_ignore = list(detectors.NATIVE) if detectors.NATIVE_STATE == "on" else []
