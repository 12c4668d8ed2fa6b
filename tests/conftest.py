"""Shared test policy: tests that need a system package skip with the reason
when it is missing, except under CI (CI=true), where a skip would hide a
missing install step and so fails the run."""

from __future__ import annotations

import os

import pytest


def require_system(reason: str | None) -> None:
    """Skip (or, under CI, fail) the calling test when ``reason`` is set."""
    if reason is None:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI must not skip: {reason}", pytrace=False)
    pytest.skip(reason)
