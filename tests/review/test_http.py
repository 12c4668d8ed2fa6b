"""The review app over real HTTP (uvicorn in a thread, as ``serve`` runs
it): headers, sessions, CSRF, login throttling, TLS, accounts, CSV export,
retention at start, and ``dlp-gateway review`` on its own."""

from __future__ import annotations

import datetime as dt
import os
import re
import ipaddress
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway import config
from gateway.quarantine import open_from_settings
from gateway.quarantine.store import AuditQuery
from gateway.review import serve
from gateway.review.auth import Session, Sessions
from gateway.review.users import add
from tests.e2e.harness import ROOT, free_port, wait_for_port
from tests.review.conftest import PASSWORD
from tests.review.seed import compose, hold

PAGE_HEADERS = {
    "content-security-policy": "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "x-frame-options": "DENY",
    "cache-control": "no-store",
}


def settings_for(data_dir: Path, **review: Any) -> config.Settings:
    return config.Settings.model_validate({
        "data_dir": str(data_dir), "relay": {"address": f"127.0.0.1:{free_port()}", "starttls": "off"},
        "review": {"listen": f"127.0.0.1:{free_port()}", "login_attempts": 3, **review}})


def seed_users(settings: config.Settings) -> None:
    store: Any = open_from_settings(settings)
    try:
        known = {"cerritos", "citrus-water", "default"}
        add(store, "alice", "admin", (), PASSWORD, known, "test")
        add(store, "carol", "reviewer", (), PASSWORD, known, "test")
        add(store, "tom", "reviewer", (), PASSWORD, known, "test")
    finally:
        store.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, config.Settings, str]]:
    settings = settings_for(tmp_path_factory.mktemp("http") / "var")
    seed_users(settings)
    expired = hold(settings, compose("a@cerritos.example", ["x@example.com"], "Old", "SSN 219-45-6789\n"),
                   "a@cerritos.example", ["x@example.com"], "cerritos", "Old", age=timedelta(days=31))
    running = serve.start(settings, None)
    assert running is not None
    try:
        yield f"http://{settings.review.listen}", settings, expired.id
    finally:
        running.stop()


def client(base: str, **kw: Any) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=30, **kw)


def token(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def login(http: httpx.Client, name: str = "alice", password: str = PASSWORD) -> httpx.Response:
    return http.post("/login", data={"csrf": token(http.get("/login").text), "name": name,
                                     "password": password, "next": "/queue"})


def test_every_response_carries_the_security_headers(app: tuple[str, config.Settings, str]) -> None:
    base, _, _ = app
    with client(base) as http:
        responses = [http.get("/login"), http.get("/queue"), http.get("/nowhere")]
        assert responses[1].status_code == 303 and responses[1].headers["location"] == "/login?next=%2Fqueue"
        login(http)
        responses += [http.get("/queue"), http.get("/dashboard"), http.get("/nowhere"), http.get("/audit.csv")]
        assert responses[-2].status_code == 404
        for response in responses:
            for name, value in PAGE_HEADERS.items():
                assert response.headers.get(name) == value, (response.url, name)
        static = http.get("/static/app.css")
        assert static.status_code == 200 and static.headers["x-content-type-options"] == "nosniff"
        cookie = responses[-1].headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
        assert "strict-transport-security" not in responses[-1].headers


def test_login_is_throttled_and_every_failure_audited(app: tuple[str, config.Settings, str]) -> None:
    base, settings, _ = app
    with client(base) as http:
        for _ in range(3):
            assert login(http, "tom", "wrong password!").status_code == 401
        refused = login(http, "tom")   # the right password, too late
        assert refused.status_code == 429 and "Too many failed logins" in refused.text
    store: Any = open_from_settings(settings)
    try:
        records = store.audit_page(AuditQuery(event="login-failed", actor="tom"))
        assert [r["details"]["reason"] for r in records] == ["throttled"] + ["bad-credentials"] * 3
        assert all(r["details"]["ip"] == "127.0.0.1" for r in records)
    finally:
        store.close()


def test_a_login_rotates_the_csrf_token_and_posts_need_it(app: tuple[str, config.Settings, str]) -> None:
    base, _, _ = app
    with client(base) as http:
        before = token(http.get("/login").text)
        assert login(http).status_code == 303
        after = token(http.get("/queue").text)
        assert after != before
        assert http.post("/queue/bulk", data={"csrf": before, "action": "delete"}).status_code == 403
        assert http.post("/logout", data={}).status_code == 403
        assert http.post("/logout", data={"csrf": after}).status_code == 303
        assert http.get("/queue").status_code == 303


def test_next_after_login_stays_on_this_site(app: tuple[str, config.Settings, str]) -> None:
    base, _, _ = app
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        with client(base) as http:
            reply = http.post("/login", data={"csrf": token(http.get("/login").text), "name": "alice",
                                              "password": PASSWORD, "next": target})
            assert reply.headers["location"] == "/queue"


def test_a_forged_or_idle_session_is_no_session() -> None:
    sessions = Sessions(b"k" * 32, timedelta(seconds=1), tls=False)
    value = sessions.write(Session(user="alice"))
    assert sessions.read(value).user == "alice"
    assert sessions.read(value[:-2] + "xx").user is None
    assert Sessions(b"j" * 32, timedelta(minutes=5), tls=False).read(value).user is None
    time.sleep(2.1)
    assert sessions.read(value).user is None


def test_disabling_an_account_ends_its_sessions(app: tuple[str, config.Settings, str]) -> None:
    base, settings, _ = app
    store: Any = open_from_settings(settings)
    try:
        add(store, "erin", "reviewer", (), PASSWORD, {"cerritos"}, "test")
        with client(base) as http:
            login(http, "erin")
            assert http.get("/queue").status_code == 200
            store.disable_user("erin")
            assert http.get("/queue").status_code == 303
            assert login(http, "erin").status_code == 401
    finally:
        store.close()


def test_admins_manage_accounts_in_the_app(app: tuple[str, config.Settings, str]) -> None:
    base, settings, _ = app
    with client(base) as http:
        login(http)
        csrf = token(http.get("/users").text)
        reply = http.post("/users", data={"csrf": csrf, "name": "frank", "role": "reviewer",
                                          "profiles": ["cerritos"], "password": PASSWORD})
        assert reply.status_code == 303
        assert "frank" in http.get("/users").text
        assert http.post("/users/frank/disable", data={"csrf": csrf}).status_code == 303
        short = http.post("/users", data={"csrf": csrf, "name": "gina", "role": "admin", "password": "short"})
        assert "at least 12 characters" in short.text
    with client(base) as http:
        login(http, "carol")
        assert http.get("/users").status_code == 404
        csrf = token(http.get("/queue").text)
        assert http.post("/users", data={"csrf": csrf, "name": "mallory", "role": "admin",
                                         "password": PASSWORD}).status_code == 404
    store: Any = open_from_settings(settings)
    try:
        records = store.audit_page(AuditQuery(actor="alice"))
        assert {"user-add", "user-disable"} <= {r["event"] for r in records}
        assert store.get_user("mallory") is None
    finally:
        store.close()


def test_csv_export_neutralises_formulas(app: tuple[str, config.Settings, str]) -> None:
    base, _, _ = app
    with client(base) as http:
        login(http, '=HYPERLINK("http://evil.example","x")', "whatever password")
        login(http)
        reply = http.get("/audit.csv", params={"event": "login-failed"})
        assert reply.headers["content-type"].startswith("text/csv")
        assert "attachment" in reply.headers["content-disposition"]
        assert "'=HYPERLINK" in reply.text and ",=HYPERLINK" not in reply.text


def test_held_messages_past_retention_are_purged_at_start(app: tuple[str, config.Settings, str]) -> None:
    _, settings, expired = app
    store: Any = open_from_settings(settings)
    try:
        deadline = time.monotonic() + 10
        while store.get(expired).status == "held" and time.monotonic() < deadline:
            time.sleep(0.1)
        message = store.get(expired)
        assert (message.status, message.decided_by) == ("deleted", "retention")
        [run] = store.audit_page(AuditQuery(event="purge"))
        assert run["actor"] == "retention" and run["details"]["deleted"] == 1
    finally:
        store.close()


def _self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "review.crt", directory / "review.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_tls_serves_https_with_secure_cookies(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    settings = settings_for(tmp_path / "var", tls_cert_file=str(cert), tls_key_file=str(key))
    seed_users(settings)
    running = serve.start(settings, None)
    assert running is not None
    try:
        with client(f"https://{settings.review.listen}", verify=ssl.create_default_context(cafile=str(cert))) as http:
            page = http.get("/login")
            cookie = page.headers["set-cookie"]
            assert cookie.startswith("__Host-dlp_review=") and "; Secure" in cookie
            assert page.headers["strict-transport-security"] == "max-age=31536000"
            assert login(http).status_code == 303
            assert http.get("/queue").status_code == 200
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://{settings.review.listen}/login", timeout=5)
    finally:
        running.stop()


def test_dlp_gateway_review_serves_alone_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "review", "--data-dir", str(tmp_path / "var"),
         "--review", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        wait_for_port(port)
        reply = httpx.get(f"http://127.0.0.1:{port}/queue", timeout=10)
        assert reply.status_code == 303 and reply.headers["location"].startswith("/login")
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=20)[0].decode()
    assert process.returncode == 0, output
    assert '"msg": "review app listening"' in output
    assert (tmp_path / "var" / "review.secret").stat().st_mode & 0o777 == 0o600
