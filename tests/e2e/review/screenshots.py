"""Screenshots of the review app for the README, from a real gateway and
Debian's Chromium: ``python -m tests.e2e.review.screenshots [DIR]`` (default
docs/screenshots). Not a test; the browser tests check the same pages."""

from __future__ import annotations

import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from tests.e2e.review.conftest import CHROMIUM, CHROMIUM_FLAGS, SSN, login, start_stack

MESSAGES = [
    # (profile, sender, recipients, subject, body, age)
    ("cerritos", "payroll@cerritos.example", ("benefits@calpers.example",), "Retiree list for March",
     f"Hello,\nPlease find the retirees below.\nJ. Smith SSN {SSN}\nR. Diaz SSN 078-05-1121\n", timedelta(hours=3)),
    ("citrus-water", "billing@citrus.example", ("collections@agency.example",), "Past-due accounts",
     "Account number 4402187733 is 90 days past due; routing 021000021.\n", timedelta(hours=9)),
    ("palos-verdes", "clerk@pvestates.example", ("vendor@contractor.example", "cc@contractor.example"),
     "W-9 for the vendor file", "Vendor EIN 12-3456789, owner SSN 219-45-6789.\n", timedelta(days=1)),
    ("default", "it@example.org", ("help@partner.example",), "Card on file",
     "Card 4111 1111 1111 1111, SSN 219-45-6789.\n", timedelta(days=2, hours=4)),
    ("cerritos", "hr@cerritos.example", ("attorney@lawfirm.example",), "Case file 2026-114",
     f"Plaintiff SSN {SSN}; please advise.\n", timedelta(days=6)),
]


# Sent over SMTP, so the gateway decides and audits them (the dashboard's chart).
SMTP = [
    ("clerk@cerritos.example", f"Subject: Pension transfer\r\n\r\nMember SSN {SSN}\r\n"),
    ("clerk@lancaster.example", f"Subject: Rebate list\r\n\r\nCustomer SSN {SSN}\r\n"),
    ("clerk@lancaster.example", f"Subject: [purpose:collections] Past due\r\n\r\nSSN {SSN}\r\n"),
    ("clerk@pomona.example", f"Subject: Enrollment\r\n\r\nSSN {SSN}\r\n"),
    ("clerk@pvestates.example", f"Subject: Permit\r\n\r\nOwner SSN {SSN}\r\n"),
]


def send(port: int) -> None:
    import smtplib
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        for sender, text in SMTP:
            message = f"From: {sender}\r\nTo: someone@example.com\r\n{text}".encode()
            try:
                client.sendmail(sender, ["someone@example.com"], message)
            except smtplib.SMTPDataError:
                pass   # a block: 550, as it should


def main(out: Path) -> None:
    from playwright.sync_api import sync_playwright
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        stack = start_stack(Path(work))
        try:
            send(stack.gateway.port)
            held = [stack.hold(profile=p, sender=s, recipients=r, subject=subj, body=b, age=a)
                    for p, s, r, subj, b, a in MESSAGES]
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
                page = browser.new_page(base_url=stack.url, viewport={"width": 1280, "height": 720})
                login(page, "alice")
                page.screenshot(path=str(out / "queue.png"), full_page=True)
                page.goto(f"/messages/{held[0].id}")
                page.screenshot(path=str(out / "message.png"), full_page=True)
                page.fill("#release-form input[name=note]", "Approved by supervisor")
                page.click("#release-form button[type=submit]")
                page.goto("/dashboard")
                page.screenshot(path=str(out / "dashboard.png"), full_page=True)
                browser.close()
        finally:
            stack.gateway.stop()
            stack.sink.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshots"))
