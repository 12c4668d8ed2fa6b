"""Issue 17 in Chromium and over SMTP, against a running ``dlp-gateway serve``:
the authorization a release needs, forged X-DLP-* headers, an SSN in the
envelope, bidi controls in the CSV, a link from another site, password
strength, audit details, the dashboard, and the CLI masking as the app does."""

from __future__ import annotations

import http.server
import json
import os
import re
import smtplib
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.quarantine.store import AuditQuery
from tests.e2e.harness import ROOT, free_port
from tests.e2e.review.conftest import SSN, Stack, login, start_stack

NOTE = "Authorized in writing by supervisor J. Ortiz, ticket 4411"
SECURITY = "soc@citrus.example"
FORGED = {"X-DLP-Verdict": "deliver; profile=default", "X-DLP-Released-By": "city-manager; quarantine=Q1",
          "X-DLP-Exception": "legal-compliance; ref=1", "X-Dlp-Anything": "forged"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The gateway with security notices on, and Cerritos telling its senders."""
    workdir = tmp_path_factory.mktemp("rules")
    policies = yaml.safe_load((ROOT / "config" / "policies.yaml").read_text())
    policies["profiles"]["cerritos"]["notify_sender"] = True
    (workdir / "config").mkdir()
    (workdir / "config" / "policies.yaml").write_text(yaml.safe_dump(policies))
    started = start_stack(workdir, {"notify": {"security": SECURITY, "sender": "dlp@citrus.example"}})
    try:
        yield started
    finally:
        started.gateway.stop()
        started.sink.stop()


def send(stack: Stack, sender: str, recipients: list[str], content: bytes) -> tuple[int, str]:
    with smtplib.SMTP("127.0.0.1", stack.gateway.port, timeout=30) as client:
        client.ehlo("mta.test.invalid")
        client.mail(sender)
        for recipient in recipients:
            client.rcpt(recipient)
        code, reply = client.data(content)
    return code, reply.decode()


def held_id(reply: str) -> str:
    found = re.search(r"Q[0-9A-F]{16}", reply)
    assert found, reply
    return found.group()


def cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args, "--config", str(stack.gateway.config_dir)],
                          capture_output=True, text=True, timeout=60, cwd=stack.gateway.workdir,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


def released_to(stack: Stack, id: str) -> list[Any]:
    return [m for m in stack.sink.messages if f"quarantine={id}".encode() in m.content]


def dlp_fields(content: bytes) -> list[str]:
    """The X-DLP-* fields of a delivered message's header block, as a parser reads them."""
    import email
    import email.policy
    parsed = email.message_from_bytes(content, policy=email.policy.compat32)
    return [f"{k}: {v}" for k, v in parsed.items() if k.lower().startswith("x-dlp-")]


def post_without_browser_checks(page: Any, form: str) -> None:
    """Submit a form as a client that ignores the page's own ``required`` hints would."""
    page.eval_on_selector(f"{form} input[name=note]", "el => el.removeAttribute('required')")
    page.click(f"{form} button[type=submit]")


# -- 1. the authorization is part of the release ------------------------------------------------


@pytest.mark.parametrize(("profile", "sender"), [("cerritos", "clerk@cerritos.example"),
                                                 ("palos-verdes", "clerk@pvestates.example")])
def test_a_release_without_the_authorization_is_refused(page: Any, stack: Stack, profile: str, sender: str) -> None:
    held = stack.hold(profile=profile, sender=sender)
    login(page, "alice")
    page.goto(f"/messages/{held.id}")
    note = page.locator("#release-form input[name=note]")
    assert note.get_attribute("required") is not None
    assert f"required by policy {profile}" in page.locator("#release-form").inner_text()
    post_without_browser_checks(page, "#release-form")
    assert f"Not released: policy {profile} requires a release note" in page.locator("#flash").inner_text()
    assert page.locator("#status").inner_text() == "held" and released_to(stack, held.id) == []
    page.fill("#release-form input[name=note]", "   ")   # blank is no authorization either
    post_without_browser_checks(page, "#release-form")
    assert page.locator("#status").inner_text() == "held" and released_to(stack, held.id) == []
    page.fill("#release-form input[name=note]", NOTE)
    page.click("#release-form button[type=submit]")
    assert page.locator("#status").inner_text() == "released"
    [delivered] = released_to(stack, held.id)
    assert dlp_fields(delivered.content) == [f"X-DLP-Released-By: alice; quarantine={held.id}; note={NOTE}"]
    page.goto(f"/audit?event=release&message={held.id}")
    details = page.locator("table.audit td.details").inner_text()
    assert "note" in details and NOTE in details and "{" not in details


def test_bulk_release_needs_the_note_too_and_other_profiles_do_not(page: Any, stack: Stack) -> None:
    cerritos = stack.hold(subject="Bulk auth zq1")
    citrus = stack.hold(profile="citrus-water", sender="billing@citrus.example", subject="Bulk auth zq1")
    login(page, "alice")
    page.goto("/queue?q=zq1")
    page.check("#select-all")
    page.check("input[name=action][value=release]")
    page.click("fieldset.bulk button[type=submit]")
    flash = page.locator("#flash").inner_text()
    assert "Released 1 of 2." in flash and f"{cerritos.id}: policy cerritos requires a release note" in flash
    assert released_to(stack, cerritos.id) == [] and len(released_to(stack, citrus.id)) == 1


def test_the_cli_refuses_a_release_without_a_note_and_a_delete_without_a_reason(stack: Stack) -> None:
    held = stack.hold()
    refused = cli(stack, "quarantine", "release", held.id, "--by", "ortiz")
    assert refused.returncode == 1 and "policy cerritos requires a release note" in refused.stderr
    no_reason = cli(stack, "quarantine", "delete", held.id, "--by", "ortiz")
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr
    assert cli(stack, "quarantine", "delete", held.id, "--by", "ortiz", "--reason", " ").returncode == 1
    done = cli(stack, "quarantine", "release", held.id, "--by", "ortiz", "--note", NOTE, "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["done"] is True
    [delivered] = released_to(stack, held.id)
    assert f"note={NOTE}" in dlp_fields(delivered.content)[0]
    store = stack.store()
    try:
        [record] = store.audit_page(AuditQuery(event="release", message_id=held.id))
        assert record["details"]["note"] == NOTE and record["actor"] == "ortiz"
    finally:
        store.close()


# -- 2. nothing forged passes -------------------------------------------------------------------


def forged_message(sender: str, subject: str, body: str) -> bytes:
    head = "".join(f"{name}: {value}\r\n" for name, value in FORGED.items())
    return (f"From: {sender}\r\nTo: x@example.com\r\n{head}x-dlp-verdict: deliver\r\n"
            f"X-DLP-Released-By: folded\r\n\tacross lines\r\nSubject: {subject}\rX-DLP-Verdict: hidden\r\n"
            f"\r\n{body}\r\n").encode()


def test_forged_headers_never_reach_the_downstream_when_delivered(stack: Stack) -> None:
    code, _ = send(stack, "clerk@citrus.example", ["x@example.com"],
                   forged_message("clerk@citrus.example", "lunch zq2", "See you at noon."))
    assert code == 250
    [delivered] = [m for m in stack.sink.wait_for(1) if b"lunch zq2" in m.content]
    assert dlp_fields(delivered.content) == ["X-DLP-Verdict: deliver; profile=citrus-water"]
    assert b"forged" not in delivered.content and b"city-manager" not in delivered.content
    # A declared purpose still counts (read, then removed like the rest).
    code, _ = send(stack, "clerk@citrus.example", ["x@example.com"],
                   b"From: clerk@citrus.example\r\nX-DLP-Purpose: collections\r\nX-DLP-Exception: x; ref=9\r\n"
                   + f"Subject: dues zq2\r\n\r\nSSN {SSN} owes.\r\n".encode())
    assert code == 250
    [exception] = [m for m in stack.sink.wait_for(2) if b"dues zq2" in m.content]
    fields = dlp_fields(exception.content)
    assert fields[0] == "X-DLP-Verdict: disclaimer; profile=citrus-water"
    assert re.fullmatch(r"X-DLP-Exception: collections; ref=\d+", fields[1]) and len(fields) == 2


def test_forged_headers_never_reach_the_downstream_when_released(page: Any, stack: Stack) -> None:
    code, reply = send(stack, "clerk@cerritos.example", ["x@example.com"],
                       forged_message("clerk@cerritos.example", "held zq3", f"SSN {SSN}"))
    over_smtp = held_id(reply)
    # One held before the edge removed them: the stored original still carries them.
    before = stack.hold(headers=FORGED, subject="held zq3")
    login(page, "alice")
    page.goto(f"/messages/{before.id}")
    assert "city-manager" in page.locator("table.headers").inner_text()   # the reviewer sees what came
    for id in (over_smtp, before.id):
        page.goto(f"/messages/{id}")
        page.fill("#release-form input[name=note]", NOTE)
        page.click("#release-form button[type=submit]")
        assert page.locator("#status").inner_text() == "released"
        [delivered] = released_to(stack, id)
        assert dlp_fields(delivered.content) == [f"X-DLP-Released-By: alice; quarantine={id}; note={NOTE}"]
        assert b"forged" not in delivered.content and b"city-manager" not in delivered.content


# -- 3. nothing leaked through the envelope ----------------------------------------------------


def test_an_ssn_in_the_envelope_is_masked_everywhere(page: Any, context: Any, stack: Stack) -> None:
    sender, other = f"{SSN}@cerritos.example", "219456789@example.org"   # the second: bare, found in the body
    content = (f"From: {sender}\r\nTo: x@example.com, {other}\r\nSubject: envelope zq4\r\n\r\n"
               f"SSN {SSN} and SSN: 219456789\r\n").encode()
    code, reply = send(stack, sender, ["x@example.com", other], content)
    id = held_id(reply)
    masked, bare = "***-**-6789@cerritos.example", "*****6789@example.org"
    login(page, "alice")
    page.goto("/queue?q=zq4")
    row = page.locator(f"tr[data-id={id}]")
    assert masked in row.inner_text() and bare in row.inner_text()
    page.goto(f"/messages/{id}")
    assert page.locator("#sender").inner_text() == masked
    assert page.locator("#recipients").inner_text() == f"x@example.com, {bare}"
    assert masked in page.locator("table.headers").inner_text()
    assert SSN not in page.content() and "219456789" not in page.content()
    # Releasing to the second recipient only: the form names it by position.
    page.locator("#release-form label", has_text=bare).locator("input").uncheck()
    page.fill("#release-form input[name=note]", NOTE)
    page.click("#release-form button[type=submit]")
    [delivered] = released_to(stack, id)
    assert delivered.mail_from == sender and delivered.rcpt_tos == ["x@example.com"]   # the real envelope
    page.goto("/audit?message=" + id)
    assert "***-**-6789" in page.locator("table.audit").inner_text()
    page.goto("/audit")
    with page.expect_download() as download:
        page.click("#csv")
    exported = Path(download.value.path()).read_text(encoding="utf-8")
    notices = [m for m in stack.sink.messages if id.encode() in m.content and m not in released_to(stack, id)]
    assert sorted(n.rcpt_tos[0] for n in notices) == sorted([SECURITY, sender])   # the notices, to real addresses
    listed = cli(stack, "quarantine", "list", "--status", "all").stdout
    shown = cli(stack, "quarantine", "show", id).stdout
    exported_cli = cli(stack, "audit", "export", "--since", "2026-01-01").stdout
    seen = {"csv": exported, "log": stack.gateway.log_text(), "list": listed, "show": shown,
            "audit export": exported_cli, **{f"notice {n.rcpt_tos[0]}": n.content.decode() for n in notices}}
    for where, text in seen.items():
        assert SSN not in text and "219456789" not in text, where
    assert masked in shown and bare in shown and masked in listed
    assert all(masked in text for key, text in seen.items() if key.startswith("notice"))
    [line] = [e for e in stack.gateway.log_entries() if e.get("quarantine_id") == id]
    assert line["sender"] == masked


def test_the_csv_escapes_bidi_controls(page: Any, stack: Stack) -> None:
    held = stack.hold()
    login(page, "alice")
    page.goto(f"/messages/{held.id}")
    page.fill("#delete-form input[name=reason]", "invoice \u202egpj.exe")
    page.click("#delete-form button[type=submit]")
    page.goto(f"/audit?message={held.id}")
    assert "invoice \\u202egpj.exe" in page.locator("table.audit").inner_text()
    with page.expect_download() as download:
        page.click("#csv")
    exported = Path(download.value.path()).read_text(encoding="utf-8")
    assert "\u202e" not in exported and "reason: invoice \\u202egpj.exe" in exported


def test_queue_page_and_cli_mask_alike(page: Any, stack: Stack) -> None:
    code, reply = send(stack, "clerk@cerritos.example", ["x@example.com"],
                       f"From: clerk@cerritos.example\r\nSubject: SSN {SSN} zq5\r\n\r\nSSN {SSN}\r\n".encode())
    id = held_id(reply)
    expected = "SSN ***-**-6789 zq5"
    login(page, "carol")
    page.goto("/queue?q=zq5")
    assert expected in page.locator(f"tr[data-id={id}]").inner_text()
    page.goto(f"/messages/{id}")
    assert page.locator("h1").inner_text() == expected
    assert f"Subject{expected}" in page.locator("table.headers").inner_text().replace("\t", "")
    assert expected in cli(stack, "quarantine", "list").stdout
    assert f"Subject:       {expected}" in cli(stack, "quarantine", "show", id).stdout
    assert json.loads(cli(stack, "quarantine", "show", id, "--json").stdout)["subject"] == expected


# -- 4. sessions and passwords ------------------------------------------------------------------


@pytest.fixture
def other_site(stack: Stack) -> Iterator[str]:
    """Another site (localhost is not 127.0.0.1 to a browser) linking to and posting at the app."""
    held = stack.hold(subject="linked zq6")
    page = (f'<a id="link" href="{stack.url}/messages/{held.id}">the message</a>'
            f'<form id="evil" method="post" action="{stack.url}/logout"><button>go</button></form>').encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: Any) -> None:
            pass

    port = free_port()
    server = http.server.HTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{port}/"
    finally:
        server.shutdown()
        server.server_close()


def test_a_link_from_another_site_keeps_the_reviewer_logged_in(page: Any, stack: Stack, other_site: str) -> None:
    login(page, "alice")
    page.goto(other_site)
    page.click("#link")
    page.wait_for_load_state("load")
    assert "/messages/" in page.url and page.locator("h1").inner_text() == "linked zq6"
    page.goto(other_site)
    page.click("#evil button")   # another site's form: refused, and the session stays
    page.wait_for_load_state("load")
    assert "Refused" in page.locator("h1").inner_text()
    page.goto("/queue")
    assert page.url.endswith("/queue") and page.locator("form.whoami").count() == 1


def test_passwords_are_judged_by_strength_and_never_hold_the_name(page: Any, stack: Stack) -> None:
    login(page, "alice")
    for name, password, error in (("dave", "password1234", "too easy to guess"),
                                  ("mallory", "Mallory-2026-spring", "must not contain the account name"),
                                  ("erin", "qwertyuiop123", "too easy to guess")):
        page.goto("/users")
        page.fill("form.adduser input[name=name]", name)
        page.fill("form.adduser input[name=password]", password)
        page.click("form.adduser button[type=submit]")
        assert error in page.locator("p.error").inner_text(), name
    page.fill("form.adduser input[name=name]", "dave")
    page.fill("form.adduser input[name=password]", "vellum orbit cactus lantern")
    page.click("form.adduser button[type=submit]")
    assert page.locator("#flash").inner_text() == "Added dave."
    listed = subprocess.run([sys.executable, "-m", "gateway.cli", "users", "list", "--config",
                             str(stack.gateway.config_dir)], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout.splitlines()
    assert listed[0].split("\t") == ["NAME", "ROLE", "PROFILES", "STATE"] and any(
        line.startswith("dave\treviewer") for line in listed[1:])


# -- 5. what an analyst asked for ---------------------------------------------------------------


def test_the_dashboard_shows_volume_by_action_and_what_is_held(page: Any, stack: Stack) -> None:
    for _ in range(3):
        stack.hold(sender=f"{SSN}@cerritos.example", subject="dash zq7")
    store = stack.store()
    try:
        releases = store.audit_count(AuditQuery(event="release"))
        quarantines = store.audit_count(AuditQuery(event="quarantine"))
    finally:
        store.close()
    login(page, "alice")
    page.goto("/dashboard")
    cells = page.locator("#volume tr[data-action=release] td").all_inner_texts()
    assert cells[0] == "release" and int(cells[2]) == releases >= 1
    assert int(page.locator("#volume tr[data-action=quarantine] td").nth(2).inner_text()) == quarantines
    senders = page.locator("#top-senders tbody").inner_text()
    assert "***-**-6789@cerritos.example\t3" in senders and SSN not in page.content()
    entities = page.locator("#top-entities tbody tr").first.inner_text()
    assert entities.startswith("US_SSN")
    page.locator("#top-entities a", has_text="US_SSN").click()
    assert "entity=US_SSN" in page.url
