"""The review app in Debian's Chromium (Playwright) against a running
``dlp-gateway serve`` that serves SMTP at the same time, with a real sink."""

from __future__ import annotations

import re
import smtplib
from pathlib import Path
from typing import Any

from tests.e2e.review.conftest import PASSWORD, SSN, Stack, csrf_of, login
from tests.e2e.review.seed import hold

NOTE = "Authorized in writing by supervisor J. Ortiz, ticket 4411"


def row(page: Any, id: str) -> Any:
    return page.locator(f"tr[data-id={id}]")


def released_to(stack: Stack, id: str) -> list[Any]:
    return [m for m in stack.sink.messages if f"quarantine={id}".encode() in m.content]


def test_strangers_get_the_login_page_whatever_they_ask(page: Any, stack: Stack) -> None:
    held = stack.hold()
    for path in ("/queue", f"/messages/{held.id}", "/dashboard", "/audit", "/audit.csv", "/users", "/no/such"):
        page.goto(path)
        assert re.search(r"/login\?next=", page.url), path
        assert page.locator("h1").inner_text() == "Log in"
    assert held.subject not in page.content()


def test_wrong_password_is_refused_and_audited(page: Any, stack: Stack) -> None:
    page.goto("/login")
    page.fill("input[name=name]", "carol")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    assert "Wrong name or password" in page.locator("#login-error").inner_text()
    store = stack.store()
    try:
        from gateway.quarantine.store import AuditQuery
        [record] = store.audit_page(AuditQuery(event="login-failed", actor="carol"))
        assert record["details"]["reason"] == "bad-credentials"
    finally:
        store.close()


def test_queue_lists_newest_first_and_filters(page: Any, stack: Stack) -> None:
    from datetime import timedelta
    older = stack.hold(profile="citrus-water", sender="billing@citrus.example", subject="Water bill 77",
                       recipients=("r@partner.example",), age=timedelta(days=2))
    newer = stack.hold(profile="cerritos", subject="Pension 77")
    login(page, "alice")
    ids = page.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert ids.index(newer.id) < ids.index(older.id)
    assert "2 d" in row(page, older.id).inner_text() and "US_SSN ×1" in row(page, newer.id).inner_text()
    page.select_option("select[name=profile]", "citrus-water")
    page.click("#filters button[type=submit]")
    assert row(page, older.id).count() == 1 and row(page, newer.id).count() == 0
    page.goto("/queue")
    page.fill("input[name=q]", "pension 77")
    page.click("#filters button[type=submit]")
    assert page.locator("tbody tr").count() == 1 and row(page, newer.id).count() == 1
    page.goto("/queue")
    page.fill("input[name=domain]", "partner.example")
    page.select_option("select[name=entity]", "US_SSN")
    page.click("#filters button[type=submit]")
    assert row(page, older.id).count() == 1 and row(page, newer.id).count() == 0


def test_message_page_masks_every_value(page: Any, stack: Stack) -> None:
    held = stack.hold(subject=f"SSN {SSN} for review",
                      body=f"Employee record: SSN {SSN}, card 4111 1111 1111 1111 expires soon.\n")
    login(page, "alice")
    page.goto(f"/messages/{held.id}")
    content = page.content()
    assert SSN not in content and "4111 1111 1111 1111" not in content
    masked = page.locator("table.findings mark.masked").all_inner_texts()
    assert "***-**-6789" in masked and "**** **** **** 1111" in masked
    contexts = page.locator("table.findings td.context").all_inner_texts()
    assert any("Employee record: SSN ***-**-6789" in c for c in contexts)
    assert "***-**-6789" in page.locator("pre.body").inner_text()
    assert page.locator("h1").inner_text() == "SSN ***-**-6789 for review"


def test_release_reaches_the_downstream_with_the_authorization(page: Any, stack: Stack) -> None:
    held = stack.hold(recipients=("x@example.com", "y@example.org"))
    login(page, "alice")
    page.goto(f"/messages/{held.id}")
    page.fill("#release-form input[name=note]", "Approved by supervisor J. Ortiz, ticket 4411")
    page.click("#release-form button[type=submit]")
    assert "Released" in page.locator("#flash").inner_text()
    assert page.locator("#status").inner_text() == "released"
    [delivered] = released_to(stack, held.id)
    assert sorted(delivered.rcpt_tos) == ["x@example.com", "y@example.org"]
    header = delivered.content.split(b"\r\n", 1)[0].decode()
    assert header.startswith("X-DLP-Released-By: alice; quarantine=" + held.id)
    assert "Approved by supervisor J. Ortiz" in delivered.content.decode()
    assert SSN.encode() in delivered.content   # the original, unchanged


def test_release_to_a_subset_of_recipients(page: Any, stack: Stack) -> None:
    held = stack.hold(recipients=("keep@example.com", "drop@example.org"))
    login(page, "carol")
    page.goto(f"/messages/{held.id}")
    page.locator("#release-form label", has_text="drop@example.org").locator("input").uncheck()
    page.fill("#release-form input[name=note]", NOTE)
    page.click("#release-form button[type=submit]")
    assert "to 1 recipient" in page.locator("#flash").inner_text()
    [delivered] = released_to(stack, held.id)
    assert delivered.rcpt_tos == ["keep@example.com"]


def test_delete_with_a_reason_and_a_notice_to_the_sender(page: Any, stack: Stack) -> None:
    held = stack.hold(sender="sender@cerritos.example")
    login(page, "alice")
    page.goto(f"/messages/{held.id}")
    page.fill("#delete-form input[name=reason]", "Sent to the wrong agency")
    page.check("#delete-form input[name=notify]")
    page.click("#delete-form button[type=submit]")
    assert "Deleted" in page.locator("#flash").inner_text() and "notified" in page.locator("#flash").inner_text()
    assert page.locator("#status").inner_text() == "deleted"
    assert released_to(stack, held.id) == []
    notices = [m for m in stack.sink.messages if m.rcpt_tos == ["sender@cerritos.example"]
               and held.id.encode() in m.content]
    assert len(notices) == 1 and b"Sent to the wrong agency" in notices[0].content
    assert SSN.encode() not in notices[0].content


def test_bulk_release_and_delete(page: Any, stack: Stack) -> None:
    first, second, third = (stack.hold(subject=f"Bulk {n} zq") for n in range(3))
    login(page, "alice")
    page.goto("/queue?q=zq")
    row(page, first.id).locator("input[name=ids]").check()
    row(page, second.id).locator("input[name=ids]").check()
    page.check("input[name=action][value=release]")
    page.fill("fieldset.bulk input[name=text]", "bulk approval")
    page.click("fieldset.bulk button[type=submit]")
    assert "Released 2 of 2." in page.locator("#flash").inner_text()
    assert row(page, third.id).count() == 1 and row(page, first.id).count() == 0
    page.check("#select-all")   # the little script ticks every row
    assert row(page, third.id).locator("input[name=ids]").is_checked()
    page.check("input[name=action][value=delete]")
    page.fill("fieldset.bulk input[name=text]", "duplicates")
    page.click("fieldset.bulk button[type=submit]")
    assert "Deleted 1 of 1." in page.locator("#flash").inner_text()
    assert len(released_to(stack, first.id)) == len(released_to(stack, second.id)) == 1
    assert released_to(stack, third.id) == []


def test_state_changes_need_the_csrf_token(page: Any, context: Any, stack: Stack) -> None:
    held = stack.hold()
    login(page, "alice")
    page.goto(f"/messages/{held.id}")
    for form in ({}, {"csrf": "forged-token"}):
        for action in ("release", "delete"):
            response = context.request.post(f"/messages/{held.id}/{action}",
                                             form={**form, "reason": "x", "note": "x"}, max_redirects=0)
            assert response.status == 403, (form, action)
    response = context.request.post("/queue/bulk", form={"ids": held.id, "action": "release"}, max_redirects=0)
    assert response.status == 403
    page.reload()
    assert page.locator("#status").inner_text() == "held" and released_to(stack, held.id) == []


def test_a_reviewer_limited_to_a_profile_never_sees_another(page: Any, context: Any, stack: Stack) -> None:
    own = stack.hold(profile="cerritos", subject="Cerritos pension")
    other = stack.hold(profile="citrus-water", sender="billing@citrus.example", subject="Citrus secret bill")
    login(page, "bob")
    assert row(page, own.id).count() == 1 and row(page, other.id).count() == 0
    assert "Citrus secret bill" not in page.content()
    assert page.locator("select[name=profile] option").all_inner_texts() == ["any", "cerritos"]
    page.goto("/queue?profile=citrus-water&status=any")
    assert page.locator("tbody tr[data-id]").count() == 0
    response = page.goto(f"/messages/{other.id}")
    assert response.status == 404 and "Citrus" not in page.content()
    assert page.goto("/messages/Q0000000000000000").status == 404   # same answer as for a real id
    token = csrf_of(page)
    for action, form in (("release", {}), ("delete", {"reason": "x"}), ("reveal", {"finding": "0"})):
        response = context.request.post(f"/messages/{other.id}/{action}", form={"csrf": token, **form},
                                        max_redirects=0)
        assert response.status == 404, action
    response = context.request.post("/queue/bulk", form={"csrf": token, "ids": other.id, "action": "delete",
                                                         "text": "x"})
    assert response.ok
    for path in ("/dashboard", "/audit"):
        page.goto(path)
        assert "citrus" not in page.content().lower(), path
    assert page.goto("/users").status == 404
    store = stack.store()
    try:
        assert store.get(other.id).status == "held"
    finally:
        store.close()


def test_a_script_in_a_held_message_does_not_run(page: Any, stack: Stack) -> None:
    attack = "<script>window.__pwned = 1; alert(1)</script>"
    held = stack.hold(
        sender="\"<img src=x onerror=alert(2)>\" <evil@cerritos.example>", subject=f"Hi {attack}",
        body=f"Plain {attack} SSN {SSN}\n<style>body {{ display: none }}</style>\n",
        html=f"<html><body>{attack}<img src=x onerror='window.__pwned=2'><b>SSN {SSN}</b></body></html>",
        attachment=(f"{attack}.txt", b"<script>window.__pwned=3</script>"))
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    login(page, "alice")
    page.goto(f"/messages/{held.id}")
    page.wait_for_load_state("load")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert dialogs == []
    assert page.locator("script").count() == 1   # only the app's own /static/app.js
    assert page.locator("main img").count() == 0 and page.locator("main style").count() == 0
    assert attack in page.locator("h1").inner_text()
    assert f"{attack}.txt" in page.locator("ul.attachments").inner_text()
    assert page.locator("pre.body").first.is_visible()
    page.goto("/queue")
    assert page.evaluate("typeof window.__pwned") == "undefined" and dialogs == []


def test_an_admin_reveals_a_value_and_it_is_audited(page: Any, stack: Stack) -> None:
    held = stack.hold(body=f"SSN {SSN} here\n")
    login(page, "alice")
    page.goto(f"/messages/{held.id}")
    page.locator("table.findings button", has_text="Reveal").first.click()
    assert page.locator("table.findings mark.revealed").inner_text() == SSN
    page.goto(f"/audit?event=reveal&message={held.id}")
    assert "alice" in page.locator("table.audit tbody").inner_text()
    page.goto(f"/messages/{held.id}")   # revealed once, not kept
    assert SSN not in page.content()


def test_a_refused_release_stays_held_with_the_error_shown(page: Any, stack: Stack) -> None:
    held = stack.hold()
    login(page, "alice")
    page.goto(f"/messages/{held.id}")
    page.fill("#release-form input[name=note]", NOTE)
    stack.sink.handler.data_reply = "554 5.7.1 Rejected by downstream policy"
    try:
        page.click("#release-form button[type=submit]")
    finally:
        stack.sink.handler.data_reply = None
    assert "Not released" in page.locator("#flash").inner_text()
    assert page.locator("#status").inner_text() == "held"
    assert "554" in page.locator("#last-error").inner_text()
    page.fill("#release-form input[name=note]", NOTE)
    page.click("#release-form button[type=submit]")   # the downstream takes it now
    assert page.locator("#status").inner_text() == "released"


def test_dashboard_and_audit_export(page: Any, stack: Stack) -> None:
    held = stack.hold()
    login(page, "alice")
    page.goto(f"/messages/{held.id}")
    page.fill("#release-form input[name=note]", NOTE)
    page.click("#release-form button[type=submit]")
    page.goto("/dashboard")
    assert page.locator("svg.chart rect").count() >= 1
    assert "cerritos" in page.locator("table.summary").first.inner_text()
    page.goto("/audit")
    with page.expect_download() as download:
        page.click("#csv")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith("seq,at,event,actor,message_id,details")
    assert re.search(rf"release,alice,{held.id},", text)


def test_a_message_quarantined_over_smtp_is_reviewed_and_released(page: Any, stack: Stack) -> None:
    body = f"From: a@cerritos.example\r\nTo: x@example.com\r\nSubject: smtp held\r\n\r\nSSN {SSN}\r\n"
    with smtplib.SMTP("127.0.0.1", stack.gateway.port, timeout=30) as client:
        client.ehlo()
        client.mail("a@cerritos.example")
        client.rcpt("x@example.com")
        code, reply = client.data(body.encode())
    assert code == 250, reply
    match = re.search(rb"Q[0-9A-F]{16}", reply)
    assert match, f"no quarantine id in the reply: {reply!r}"
    id = match.group().decode()
    login(page, "bob")
    assert row(page, id).count() == 1 and "cerritos" in row(page, id).inner_text()
    page.goto(f"/messages/{id}")
    assert "***-**-6789" in page.locator("table.findings").inner_text() and SSN not in page.content()
    page.fill("#release-form input[name=note]", "Supervisor approval on file")
    page.click("#release-form button[type=submit]")
    assert page.locator("#status").inner_text() == "released"
    assert len(released_to(stack, id)) == 1
    assert PASSWORD not in stack.gateway.log_text() and SSN not in stack.gateway.log_text()


def test_header_values_and_file_names_are_masked(page: Any, context: Any, stack: Stack) -> None:
    held = stack.hold(headers={"Thread-Topic": f"Payroll SSN {SSN}"},
                      attachment=(f"ssn-{SSN}.txt", f"SSN {SSN}\n".encode()))
    login(page, "alice")
    page.goto(f"/messages/{held.id}")
    assert SSN not in page.content()
    assert "Payroll SSN ***-**-6789" in page.locator("table.headers").inner_text()
    assert "ssn-***-**-6789.txt" in page.locator("ul.attachments").inner_text()
    assert "attachment:ssn-***-**-6789.txt" in page.locator("table.findings").inner_text()
    index = next(i for i, f in enumerate(held.findings) if str(f["segment"]).startswith("attachment:"))
    context.request.post(f"/messages/{held.id}/reveal", form={"csrf": csrf_of(page), "finding": str(index)})
    store = stack.store()
    try:
        from gateway.quarantine.store import AuditQuery
        [record] = store.audit_page(AuditQuery(event="reveal", message_id=held.id))
        assert record["details"]["segment"] == "attachment:ssn-***-**-6789.txt"
    finally:
        store.close()


def test_bidi_controls_show_as_escapes(page: Any, stack: Stack) -> None:
    rlo, lri = "\u202e", "\u2066"
    held = stack.hold(sender=f'"Payroll {rlo}" <evil@cerritos.example>', subject=f"Invoice {rlo}fdp.exe",
                      headers={"Thread-Topic": f"topic {lri}x"}, attachment=(f"photo{rlo}gpj.exe", b"hello"))
    login(page, "alice")
    page.goto(f"/messages/{held.id}")
    assert rlo not in page.content() and lri not in page.content()
    assert page.locator("h1").inner_text() == "Invoice \\u202efdp.exe"
    assert "photo\\u202egpj.exe" in page.locator("ul.attachments").inner_text()
    assert "topic \\u2066x" in page.locator("table.headers").inner_text()
    assert "Payroll \\u202e" in page.locator("dl.facts").inner_text()
    page.goto("/queue?q=Invoice")
    assert "Invoice \\u202efdp.exe" in row(page, held.id).inner_text() and rlo not in page.content()


def test_unticking_every_recipient_releases_to_no_one(page: Any, stack: Stack) -> None:
    held = stack.hold(recipients=("one@example.com", "two@example.org"))
    login(page, "carol")
    page.goto(f"/messages/{held.id}")
    for box in page.locator("#release-form input[name=recipients]").all():
        box.uncheck()
    page.fill("#release-form input[name=note]", NOTE)
    page.click("#release-form button[type=submit]")
    assert page.locator("#flash").inner_text() == "Choose at least one recipient."
    assert page.locator("#status").inner_text() == "held" and released_to(stack, held.id) == []


def test_a_malformed_header_does_not_break_the_page(page: Any, stack: Stack) -> None:
    raw = (b"From: a@cerritos.example\r\nTo: x@example.com\r\nSubject: broken id\r\nMessage-ID: <\r\n\r\n"
           + f"SSN {SSN}\r\n".encode())
    kept, gone = (hold(stack.settings, raw, "a@cerritos.example", ["x@example.com"], "cerritos", "broken id")
                  for _ in range(2))
    login(page, "alice")
    assert page.goto(f"/messages/{kept.id}").status == 200
    assert SSN not in page.content() and "Message-ID" in page.locator("table.headers").inner_text()
    page.locator("table.findings button", has_text="Reveal").first.click()
    assert page.locator("table.findings mark.revealed").inner_text() == SSN
    page.fill("#release-form input[name=note]", NOTE)
    page.click("#release-form button[type=submit]")
    assert page.locator("#status").inner_text() == "released" and len(released_to(stack, kept.id)) == 1
    page.goto(f"/messages/{gone.id}")
    page.fill("#delete-form input[name=reason]", "malformed")
    page.click("#delete-form button[type=submit]")
    assert page.locator("#status").inner_text() == "deleted"
