"""The command line on a configuration: `check-config`, and `serve` refusing a bad file
before it starts (each run in a child process)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "gateway.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)


def test_check_config_accepts_the_shipped_file() -> None:
    result = run_cli("check-config", "--config", "config")
    assert result.returncode == 0, result.stderr
    assert "configuration OK" in result.stdout


def test_check_config_rejects_a_bad_file(tmp_path: Path) -> None:
    write(tmp_path, "smtp:\n  max_recipients: -1\n")
    result = run_cli("check-config", "--config", str(tmp_path))
    assert result.returncode == 2
    assert f"{tmp_path}/gateway.yaml:2: smtp.max_recipients" in result.stderr


def test_serve_refuses_a_bad_file_before_starting(tmp_path: Path) -> None:
    write(tmp_path, "workers: many\n")
    result = run_cli("serve", "--config", str(tmp_path))
    assert result.returncode == 2
    assert "gateway.yaml:1: workers" in result.stderr


def test_check_config_also_checks_policies(tmp_path: Path) -> None:
    (tmp_path / "gateway.yaml").write_text("workers: 1\n")
    (tmp_path / "policies.yaml").write_text("statements: {}\nprofiles: {}\n")
    result = run_cli("check-config", "--config", str(tmp_path))
    assert result.returncode == 2
    assert "policies.yaml:1: profiles: Value error, a profile named 'default' is required" in result.stderr \
        or "policies.yaml:1: (top level)" in result.stderr or "a profile named 'default'" in result.stderr
