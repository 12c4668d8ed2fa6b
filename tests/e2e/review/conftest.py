"""A real gateway (SMTP and the review app) with a real downstream sink, and
Debian's Chromium driven by Playwright: one of each per test module."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway import config
from gateway.quarantine import HeldMessage
from tests.conftest import require_system
from tests.e2e.harness import ROOT, Gateway, Sink, free_port, wait_for_port
from tests.e2e.review.seed import compose, hold

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "correct horse battery staple"
SSN = "219-45-6789"
USERS = {"alice": ("admin", ""), "bob": ("reviewer", "cerritos"), "carol": ("reviewer", "")}


def add_user(config_dir: Path, name: str, role: str, profiles: str, password: str = PASSWORD) -> None:
    """``dlp-gateway users add`` as an operator runs it."""
    command = [sys.executable, "-m", "gateway.cli", "users", "add", name, "--role", role,
               "--password-stdin", "--config", str(config_dir)]
    if profiles:
        command += ["--profiles", profiles]
    result = subprocess.run(command, input=password + "\n", capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr


@dataclass
class Stack:
    """The gateway under test, its sink, and its settings as the tests read them."""

    gateway: Gateway
    sink: Sink
    settings: config.Settings
    review_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.review_port}"

    def hold(self, profile: str = "cerritos", sender: str = "clerk@cerritos.example",
             recipients: tuple[str, ...] = ("x@example.com",), subject: str = "Payroll",
             body: str = f"Hi, the SSN is {SSN} for the file.\n", age: timedelta = timedelta(0),
             **parts: Any) -> HeldMessage:
        content = compose(sender, list(recipients), subject, body, **parts)
        return hold(self.settings, content, sender, list(recipients), profile, subject, age)

    def store(self) -> Any:
        from gateway.quarantine import open_from_settings
        return open_from_settings(self.settings)


def start_stack(workdir: Path, extra: dict[str, Any] | None = None) -> Stack:
    sink = Sink().start()
    port = free_port()
    settings: dict[str, Any] = {"review": {"listen": f"127.0.0.1:{port}"}}
    for key, value in (extra or {}).items():
        settings.setdefault(key, {}).update(value)
    gateway = Gateway(workdir, sink.port, settings)
    gateway.write_config()
    for name, (role, profiles) in USERS.items():
        add_user(gateway.config_dir, name, role, profiles)
    gateway.start()
    try:
        wait_for_port(port)
    except TimeoutError:
        gateway.stop()
        sink.stop()
        raise AssertionError(f"review app did not start:\n{gateway.log_text()}") from None
    return Stack(gateway, sink, config.load(gateway.config_dir), port)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    started = start_stack(tmp_path_factory.mktemp("review"))
    try:
        yield started
    finally:
        started.gateway.stop()
        started.sink.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        require_system("Debian's chromium is not installed (tests/system-deps.sh installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_system("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def context(browser: Any, stack: Stack) -> Iterator[Any]:
    """A fresh browser profile (no cookies) per test."""
    opened = browser.new_context(base_url=stack.url, viewport={"width": 1400, "height": 900})
    opened.set_default_timeout(15_000)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


def login(page: Any, name: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/queue.*"))


def csrf_of(page: Any) -> str:
    return str(page.locator("input[name=csrf]").first.get_attribute("value"))
