"""The review app over real HTTP (uvicorn in a thread, as ``serve`` runs
it): headers (error pages too), sessions (logout, maximum age), CSRF, login
throttling (per account and address, under parallel attempts), odd
parameters, body limits, TLS, accounts, CSV export, retention at start, and
``dlp-gateway review`` on its own."""

from __future__ import annotations

import csv
import datetime as dt
import io
import ipaddress
import os
import re
import signal
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from gateway import config
from gateway.quarantine import open_from_settings
from gateway.quarantine.store import AuditQuery
from gateway.review import auth, overview, serve
from gateway.review.auth import Session, Sessions
from gateway.review.users import add
from tests.e2e.harness import ROOT, free_port, wait_for_port
from tests.e2e.review.conftest import PASSWORD
from tests.e2e.review.seed import compose, hold

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
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
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
        assert [r["details"]["reason"] for r in records] == ["bad-credentials"] * 3
        assert all(r["details"]["ip"] == "127.0.0.1" for r in records)
        [refusal] = store.audit_page(AuditQuery(event="login-throttled", actor="tom"))
        assert refusal["details"] == {"ip": "127.0.0.1"}
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


class _SignedAnHourAgo(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 3600


def test_a_forged_or_idle_session_is_no_session() -> None:
    sessions = Sessions(b"k" * 32, timedelta(minutes=30), tls=False)
    value = sessions.write(Session().login("alice", 0))
    assert sessions.read(value).user == "alice"
    assert sessions.read(value[:-2] + "xx").user is None
    assert Sessions(b"j" * 32, timedelta(minutes=5), tls=False).read(value).user is None
    # The same content, last signed an hour ago: idle for longer than 30 minutes.
    payload = URLSafeTimedSerializer(b"k" * 32, salt=auth._SALT).loads(value)
    idle = URLSafeTimedSerializer(b"k" * 32, salt=auth._SALT, signer=_SignedAnHourAgo).dumps(payload)
    assert sessions.read(idle).user is None
    assert Sessions(b"k" * 32, timedelta(minutes=90), tls=False).read(idle).user == "alice"


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


def from_address(base: str, address: str) -> httpx.Client:
    """A client whose connections come from ``address`` (every 127.x.y.z is this machine)."""
    return client(base, transport=httpx.HTTPTransport(local_address=address))


def add_account(settings: config.Settings, name: str, role: str = "reviewer") -> None:
    store: Any = open_from_settings(settings)
    try:
        add(store, name, role, (), PASSWORD, {"cerritos"}, "test")
    finally:
        store.close()


def test_a_lockout_holds_one_address_and_refusals_do_not_prolong_it(
        app: tuple[str, config.Settings, str]) -> None:
    base, settings, _ = app
    add_account(settings, "ivan")
    with from_address(base, "127.0.0.2") as attacker:
        for _ in range(3):
            assert login(attacker, "ivan", "wrong password!").status_code == 401
        time.sleep(0.2)
        for _ in range(4):   # the right password too, while the lockout lasts
            assert login(attacker, "ivan").status_code == 429
    with from_address(base, "127.0.0.3") as own:   # the person, from their own address
        assert login(own, "ivan").status_code == 303
    store: Any = open_from_settings(settings)
    try:
        failed = store.audit_page(AuditQuery(event="login-failed", actor="ivan"))
        refused = store.audit_page(AuditQuery(event="login-throttled", actor="ivan"))
        assert len(failed) == 3 and len(refused) == 4
        assert auth.throttled(store, settings, "ivan", "127.0.0.2")
        # Once the window has passed over the failures, the refusals since do not keep it shut.
        window = timedelta(minutes=settings.review.login_window_minutes)
        later = failed[0]["at"] + window + timedelta(milliseconds=100)
        assert all(r["at"] > later - window for r in refused)   # inside the window: they would count
        assert not auth.throttled(store, settings, "ivan", "127.0.0.2", now=later)
    finally:
        store.close()


def test_one_address_failing_across_accounts_is_refused_for_all(app: tuple[str, config.Settings, str]) -> None:
    base, settings, _ = app
    store: Any = open_from_settings(settings)
    try:   # the records a password spray leaves (written as the login page writes them)
        for n in range(3 * auth.ADDRESS_FACTOR - 1):
            store.audit("login-failed", f"guess{n}", None, {"ip": "127.0.0.5", "reason": "bad-credentials"})
    finally:
        store.close()
    with from_address(base, "127.0.0.5") as sprayer:
        assert login(sprayer, "nobody", "Winter2026!").status_code == 401   # the last one allowed
        assert login(sprayer, "carol").status_code == 429
    with client(base) as http:
        assert login(http, "carol").status_code == 303


def test_parallel_wrong_passwords_are_checked_at_most_the_limit(app: tuple[str, config.Settings, str]) -> None:
    base, settings, _ = app
    add_account(settings, "judy")
    barrier = threading.Barrier(12)
    codes: list[int] = []

    def attempt() -> None:
        with from_address(base, "127.0.0.4") as http:
            csrf = token(http.get("/login").text)
            barrier.wait()
            codes.append(http.post("/login", data={"csrf": csrf, "name": "judy",
                                                   "password": "wrong password!"}).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(codes) == [401] * 3 + [429] * 9
    store: Any = open_from_settings(settings)
    try:
        assert store.audit_count(AuditQuery(event="login-failed", actor="judy")) == 3
        assert store.audit_count(AuditQuery(event="login-throttled", actor="judy")) == 9
    finally:
        store.close()


def test_logging_out_ends_the_session_and_every_copy_of_it(app: tuple[str, config.Settings, str]) -> None:
    base, settings, _ = app
    add_account(settings, "lena")
    with client(base) as http:
        login(http, "lena")
        csrf = token(http.get("/queue").text)
        copy = http.cookies["dlp_review"]
        assert http.post("/logout", data={"csrf": csrf}).status_code == 303
    with client(base, cookies={"dlp_review": copy}) as thief:
        reply = thief.get("/queue")
        assert reply.status_code == 303 and reply.headers["location"].startswith("/login")
    with client(base) as http:
        assert login(http, "lena").status_code == 303 and http.get("/queue").status_code == 200


def test_a_session_ends_at_its_maximum_age_however_busy() -> None:
    sessions = Sessions(b"k" * 32, timedelta(minutes=30), tls=False, max_age=timedelta(hours=12))
    fresh = Session().login("alice", 3)
    assert sessions.read(sessions.write(fresh)) == fresh
    for issued in (int(time.time()) - 12 * 3600 - 5, int(time.time()) + 3600, 0):
        old = sessions.read(sessions.write(replace(fresh, issued=issued)))
        assert old.user is None and old.csrf == fresh.csrf, issued


def test_odd_parameters_never_fail(app: tuple[str, config.Settings, str]) -> None:
    base, _, expired = app
    huge = "99999999999999999999"
    with client(base) as http:
        login(http)
        for path in (f"/queue?page={huge}", f"/audit?page={huge}", "/queue?to=9999-12-31", "/audit?to=9999-12-31",
                     "/audit.csv?to=9999-12-31", "/queue?from=0001-01-01", "/audit?page=%C2%B2",
                     "/queue?page=%C2%B2", "/queue?page=-3", "/queue?from=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96-01-01",
                     "/queue?q=%00", "/queue?sender=a%00b", "/audit?actor=%00", "/messages/%00"):
            reply = http.get(path)
            assert reply.status_code in (200, 404), (path, reply.status_code)
        assert "Page 1000000 of" in http.get(f"/queue?page={huge}").text
        assert "must be a date like" in http.get("/queue?to=9999-12-31").text
        csrf = token(http.get("/queue").text)
        for finding in ("²", huge, "-1"):
            reveal = http.post(f"/messages/{expired}/reveal", data={"csrf": csrf, "finding": finding})
            assert reveal.status_code == 404, finding


def test_a_server_error_page_carries_the_security_headers(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "var")
    add_account(settings, "alice", "admin")
    running = serve.start(settings, None)
    assert running is not None
    try:
        with client(f"http://{settings.review.listen}") as http:
            login(http)
            db = sqlite3.connect(settings.data_dir / "quarantine.sqlite")
            try:   # the store fails under the app: its table is gone
                db.execute("ALTER TABLE held_messages RENAME TO held_elsewhere")
            finally:
                db.close()
            reply = http.get("/queue")
        assert reply.status_code == 500 and "Something went wrong" in reply.text
        for name, value in PAGE_HEADERS.items():
            assert reply.headers.get(name) == value, name
    finally:
        running.stop()


def test_large_request_bodies_are_refused_before_anything_reads_them(app: tuple[str, config.Settings, str]) -> None:
    base, _, _ = app
    with client(base) as http:
        csrf = token(http.get("/login").text)
        declared = http.post("/login", data={"csrf": csrf, "name": "alice", "password": PASSWORD,
                                             "padding": "x" * 300_000})
        assert declared.status_code == 413
        assert declared.headers["content-security-policy"] == PAGE_HEADERS["content-security-policy"]
        streamed = http.post("/queue/bulk", content=(b"x" * 65_536 for _ in range(5)),
                             headers={"content-type": "application/x-www-form-urlencoded"})
        assert streamed.status_code == 413 and "content-length" not in streamed.request.headers   # chunked
        assert login(http).status_code == 303   # an ordinary form still goes through


def test_an_admin_cannot_disable_their_own_account(app: tuple[str, config.Settings, str]) -> None:
    base, settings, _ = app
    with client(base) as http:
        login(http)
        csrf = token(http.get("/users").text)
        reply = http.post("/users/alice/disable", data={"csrf": csrf})
        assert reply.status_code == 200 and "you cannot disable your own account" in reply.text
        assert http.get("/users").status_code == 200
    store: Any = open_from_settings(settings)
    try:
        assert not store.get_user("alice").disabled
    finally:
        store.close()


def test_csv_export_pages_by_sequence_while_records_arrive(tmp_path: Path) -> None:
    store: Any = open_from_settings(config.Settings(data_dir=tmp_path))
    try:
        for n in range(5):
            store.audit("release", "alice", f"Q{n}", {"profile": "cerritos"})
        chunks = overview.csv_chunks(store, AuditQuery(event="release"), batch=2)
        first = next(chunks)
        for n in range(3):   # newer records arrive while the export runs
            store.audit("release", "alice", f"QNEW{n}", {"profile": "cerritos"})
        rows = list(csv.reader(io.StringIO(first + "".join(chunks))))
    finally:
        store.close()
    assert rows[0][0] == "seq" and [row[4] for row in rows[1:]] == ["Q4", "Q3", "Q2", "Q1", "Q0"]


def test_a_request_without_a_cookie_never_gets_an_anonymous_one_it_does_not_need(
        app: tuple[str, config.Settings, str]) -> None:
    """A browser that withholds the session cookie (another site's form, a frame) must not
    have it replaced by a fresh anonymous one: that would log the reviewer out."""
    base, _, _ = app
    with client(base) as http:
        for reply in (http.get("/queue"), http.get("/messages/Q0000000000000000"),
                      http.post("/logout", data={"csrf": "x"}), http.post("/queue/bulk", data={})):
            assert reply.status_code in (303, 403) and "set-cookie" not in reply.headers, reply.url
        page = http.get("/login")   # the login form's token needs one
        assert "SameSite=Lax" in page.headers["set-cookie"]
        assert login(http).status_code == 303 and http.get("/queue").status_code == 200
        assert "set-cookie" in http.get("/queue").headers   # re-signed: the idle limit slides
