"""``dlp-gateway users add|list|disable`` as an operator runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from gateway import config
from gateway.quarantine import open_from_settings
from gateway.quarantine.store import AuditQuery
from gateway.review.users import authenticate
from tests.e2e.harness import ROOT

PASSWORD = "a long enough password"


def users(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway.cli", "users", *args, "--data-dir", str(data_dir)],
                          input=stdin, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_add_list_disable(tmp_path: Path) -> None:
    data = tmp_path / "var"
    added = users(data, "add", "ortiz", "--role", "reviewer", "--profiles", "cerritos", "--password-stdin",
                  stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert "added ortiz (reviewer, profiles: cerritos)" in added.stdout
    assert users(data, "add", "root", "--role", "admin", "--password-stdin", stdin=PASSWORD).returncode == 0
    listed = users(data, "list", "--json")
    records = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["name"], r["role"], r["profiles"], r["disabled"]) for r in records] == [
        ("ortiz", "reviewer", ["cerritos"], False), ("root", "admin", [], False)]
    assert PASSWORD not in listed.stdout and "argon2" not in listed.stdout
    assert users(data, "disable", "ortiz").returncode == 0
    again = users(data, "disable", "ortiz")
    assert again.returncode == 1 and "no enabled account named 'ortiz'" in again.stderr
    last = users(data, "disable", "root")
    assert last.returncode == 1 and "'root' is the last enabled admin" in last.stderr
    store = open_from_settings(config.Settings(data_dir=data))
    try:
        user = store.get_user("root")  # type: ignore[attr-defined]
        assert user.password_hash.startswith("$argon2id$")
        assert authenticate(store, "root", PASSWORD) is not None  # type: ignore[arg-type]
        assert authenticate(store, "ortiz", PASSWORD) is None  # type: ignore[arg-type]
        events = [(r["event"], r["actor"].startswith("cli"), r["details"]["user"])
                  for r in reversed(store.audit_page(AuditQuery()))]  # type: ignore[attr-defined]
        assert events == [("user-add", True, "ortiz"), ("user-add", True, "root"), ("user-disable", True, "ortiz")]
    finally:
        store.close()


def test_add_refuses_what_it_cannot_honour(tmp_path: Path) -> None:
    data = tmp_path / "var"
    cases = [
        (["add", "x", "--role", "reviewer", "--profiles", "atlantis", "--password-stdin"], PASSWORD,
         "unknown profile(s): atlantis"),
        (["add", "x", "--role", "admin", "--password-stdin"], "short", "at least 12 characters"),
        (["add", "bad name", "--role", "admin", "--password-stdin"], PASSWORD, "names are"),
    ]
    for args, password, expected in cases:
        result = users(data, *args, stdin=password + "\n")
        assert result.returncode == 1 and expected in result.stderr, (args, result.stderr)
    assert users(data, "add", "x", "--role", "admin", "--password-stdin", stdin=PASSWORD).returncode == 0
    taken = users(data, "add", "x", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    assert taken.returncode == 1 and "already exists" in taken.stderr
    wrong_role = users(data, "add", "y", "--role", "root", "--password-stdin", stdin=PASSWORD)
    assert wrong_role.returncode == 2
