"""Realistic messages for benchmarks/relay, built once with the stdlib email package.

Three messages, each the kind of mail a utility's staff send every day:

- ``text-10k``: about 10 KB of quoted-printable text/plain business prose full of
  dates, amounts, invoice and purchase-order numbers, ZIP codes and quantities
  (numbers the detectors must look at and reject), with 13 sensitive values
  (SSNs, an ITIN, EINs, payment cards, routing numbers, utility accounts) and
  phone numbers.
- ``html-10k``: about 10 KB of multipart/alternative, the same kind of prose as
  text/plain and as HTML with a table.
- ``attach-120k``: about 120 KB: a short text/plain note with a PDF statement
  (fpdf2) and an XLSX billing export (openpyxl) attached.

The values are fixed and valid by construction (Luhn, ABA check digit, SSN
and EIN ranges); they belong to nobody. The messages are written with LF line
ends because ``smtp-source -F`` appends CRLF to every line. What the gateway
must find in each is not taken from this file: run.py scans every message once
with the checkout's own ``detectors.scan.Scanner`` and expects exactly that
many findings per message from the gateway's ``/metrics``.

    python benchmarks/relay/realmail.py DIR     # write the three .eml files to DIR
"""

from __future__ import annotations

import io
import random
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path

SENDER_DOMAIN = "bench.example"

# 13 sensitive values in the 10 KB messages: what a careless reply carries.
SSNS = ("412-67-3301", "523-18-7745", "614 22 9087")
ITINS = ("912-78-4410",)
EINS = ("46-2817734", "95-3391027")
CARDS = ("4556 7375 8689 9855", "5425 2334 3010 9903")
ROUTINGS = ("122000661", "322271627")
SCE_CUSTOMER = "2-19-874-3306"
SCE_SERVICE = "8-004-3391-27"
WATER = "40817265"
PLANTED = len(SSNS) + len(ITINS) + len(EINS) + len(CARDS) + len(ROUTINGS) + 3
PHONES = ("(909) 555-0142", "626-555-0199", "+1 562 555 0173", "(310) 555-0118")

_NAMES = ("Maria Delgado", "James Whitfield", "Priya Raman", "Tomás Herrera", "Linda Okafor",
          "Kevin Tran", "Sarah Goldberg", "Daniel Mbeki", "Rosa Villanueva", "Greg Lindqvist")
_VENDORS = ("Inland Pipe & Supply", "Foothill Meter Services", "Pacific Valve Co.",
            "Mesa Asphalt Partners", "Arroyo Electrical", "Sierra Lab Testing")
_ITEMS = ("6-inch ductile iron pipe", "meter boxes (concrete)", "AMI radio endpoints",
          "gate valve repair kits", "asphalt patch, cold mix", "chlorine residual test kits",
          "service line copper, 1-inch", "hydrant flags")
_PROSE = (
    "Following up on our call this morning, I went through the open items for the {q} close "
    "and the reconciliation against the general ledger. Most of the variance is timing: the "
    "{vendor} invoice {inv} for ${amt} was received on {date} but posted in the following period.",
    "The purchase order {po} covers {qty} units of {item} at ${unit} each, delivered to the "
    "yard at 1450 W. Mission Blvd, Pomona, CA 91766. Net 30 terms apply from {date}, so payment "
    "is due by {date2}; the early-payment discount of 2% would save ${disc}.",
    "Budget line 4410-220 (distribution maintenance) stands at ${amt} spent of ${budget} "
    "approved for FY 2026-27, which is {pct}% of the year's allocation with {months} months "
    "remaining. Capital project CIP-{cip} is tracking about {weeks} weeks behind schedule.",
    "For the board packet of {date}, please attach the revised rate table (Schedule {sched}), "
    "the summary of {count} service orders completed in {month}, and the overtime report "
    "showing {hours} hours against the {hours2}-hour estimate.",
    "Work order WO-{wo} for the main break on Garey Ave was closed on {date}; crews replaced "
    "{feet} feet of 8-inch main, and the contractor's change order #{co} adds ${amt} for "
    "traffic control and {qty} tons of base material.",
)


@dataclass(frozen=True, slots=True)
class RealMessage:
    """One generated message: a name, its bytes (LF line ends) and what it is."""

    name: str
    description: str
    content: bytes
    planted: int  # sensitive values written into it (not counting phone numbers)


def _filler(rng: random.Random) -> str:
    """One paragraph of business prose, numbers everywhere, nothing sensitive."""
    template = rng.choice(_PROSE)
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    values = {
        "q": rng.choice(("Q1", "Q2", "Q3", "Q4")), "vendor": rng.choice(_VENDORS),
        "inv": f"INV-2026-{rng.randint(1000, 99999):05d}", "amt": f"{rng.randint(200, 250000):,}.{rng.randint(0, 99):02d}",
        "date": datetime(2026, month, day).strftime("%B %d, %Y"),
        "date2": f"2026-{(month % 12) + 1:02d}-{day:02d}", "po": f"PO {rng.randint(240000, 249999)}",
        "qty": rng.randint(2, 480), "item": rng.choice(_ITEMS), "unit": f"{rng.randint(3, 900)}.{rng.randint(0, 99):02d}",
        "disc": f"{rng.randint(10, 4000)}.{rng.randint(0, 99):02d}", "budget": f"{rng.randint(300, 2000) * 1000:,}",
        "pct": rng.randint(10, 95), "months": rng.randint(1, 11), "cip": rng.randint(2100, 2199),
        "weeks": rng.randint(1, 9), "sched": rng.choice("ABCDE") + str(rng.randint(1, 9)),
        "count": rng.randint(40, 900), "month": datetime(2026, month, 1).strftime("%B"),
        "hours": rng.randint(100, 900), "hours2": rng.randint(100, 900), "wo": rng.randint(2026000, 2026999),
        "feet": rng.randint(20, 400), "co": rng.randint(1, 30),
    }
    return template.format(**values)


def _sensitive_paragraphs() -> list[str]:
    """Where the 13 values and the phone numbers sit: in sentences with their context."""
    return [
        f"HR asked me to confirm the new hires before payroll runs: {_NAMES[0]}, SSN {SSNS[0]}; "
        f"{_NAMES[1]}, social security number {SSNS[1]}; and {_NAMES[2]}, SSN {SSNS[2]}. "
        f"The contractor {_NAMES[3]} files with ITIN {ITINS[0]}.",
        f"For the 1099s, {_VENDORS[0]} is EIN {EINS[0]} and {_VENDORS[1]} is EIN {EINS[1]}; "
        f"both W-9s are on file.",
        f"The two refunds go back to the cards the customers paid with: Visa {CARDS[0]} and "
        f"Mastercard {CARDS[1]}. Please do not keep the numbers in the ticket.",
        f"Vendor ACH: routing number {ROUTINGS[0]} for {_VENDORS[2]}, ABA routing {ROUTINGS[1]} "
        f"for {_VENDORS[3]}.",
        f"The Edison customer account {SCE_CUSTOMER} (service account {SCE_SERVICE}) still "
        f"shows the old meter, and water account number {WATER} has the duplicate charge.",
        f"Call me at {PHONES[0]} or on my cell {PHONES[1]}; the vendor's desk is {PHONES[2]} "
        f"and the yard office is {PHONES[3]}.",
    ]


def _prose(rng: random.Random, target: int) -> list[str]:
    """Paragraphs of about ``target`` characters with the sensitive ones spread through."""
    sensitive = _sensitive_paragraphs()
    paragraphs: list[str] = []
    budget = target - sum(len(p) for p in sensitive)
    while budget > 0:
        paragraphs.append(_filler(rng))
        budget -= len(paragraphs[-1]) + 2
    step = max(1, len(paragraphs) // (len(sensitive) + 1))
    for i, paragraph in enumerate(sensitive):
        paragraphs.insert(min(len(paragraphs), (i + 1) * step + i), paragraph)
    return paragraphs


def _headers(message: EmailMessage, subject: str, number: int) -> None:
    message["From"] = f"{_NAMES[5]} <kevin.tran@{SENDER_DOMAIN}>"
    message["To"] = f"{_NAMES[6]} <sarah.goldberg@{SENDER_DOMAIN}>"
    message["Cc"] = f"Accounts Payable <ap@{SENDER_DOMAIN}>"
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime(2026, 11, 24, 9, 41, 7, tzinfo=UTC))
    message["Message-ID"] = f"<realmail.{number}.20261124094107@{SENDER_DOMAIN}>"
    message["X-Mailer"] = "Microsoft Outlook 16.0"


def _signature() -> str:
    return (f"\n--\n{_NAMES[5]}\nSenior Accountant, Finance Department\n"
            f"City Utilities, 505 S. Garey Ave, Pomona, CA 91766\nOffice {PHONES[3]}\n")


def text_10k(size: int = 10_800) -> RealMessage:
    rng = random.Random(13)
    message = EmailMessage(policy=SMTP)
    _headers(message, "RE: Q3 close - open items, refunds and new vendor setup", 1)
    body = "Hi Sarah,\n\n" + "\n\n".join(_prose(rng, size - 1400)) + "\n\nThanks,\nKevin\n" + _signature()
    message.set_content(body, cte="quoted-printable")
    return RealMessage("text-10k", "10 KB text/plain, quoted-printable", _lf(message), PLANTED)


def _html(paragraphs: list[str], rows: list[tuple[str, str, str, str]]) -> str:
    from html import escape
    cells = "".join(f"<tr><td>{escape(a)}</td><td>{escape(b)}</td><td align=\"right\">{escape(c)}</td>"
                    f"<td>{escape(d)}</td></tr>\n" for a, b, c, d in rows)
    body = "\n".join(f"<p style=\"margin:0 0 8pt 0\"><span style=\"font-family:Calibri,sans-serif;"
                     f"font-size:11pt\">{escape(p)}</span></p>" for p in paragraphs)
    return ("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">"
            "<style>td{border:1px solid #ccc;padding:2px 6px}</style></head>\n<body>\n"
            f"{body}\n<table cellspacing=\"0\">\n<tr><th>Invoice</th><th>Date</th><th>Amount</th>"
            f"<th>Vendor</th></tr>\n{cells}</table>\n</body></html>\n")


def html_10k(size: int = 9_600) -> RealMessage:
    rng = random.Random(14)
    message = EmailMessage(policy=SMTP)
    _headers(message, "Invoice status for the November board packet", 2)
    paragraphs = _prose(rng, (size - 3000) // 2)
    rows = [(f"INV-2026-{rng.randint(10000, 99999)}", f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
             f"${rng.randint(100, 90000):,}.{rng.randint(0, 99):02d}", rng.choice(_VENDORS)) for _ in range(8)]
    plain = "\n\n".join(paragraphs) + "\n\n" + "\n".join("  ".join(r) for r in rows) + "\n" + _signature()
    message.set_content(plain, cte="quoted-printable")
    message.add_alternative(_html(paragraphs, rows), subtype="html", cte="quoted-printable")
    # Both alternatives are scanned, so both carry the 13 values.
    return RealMessage("html-10k", "10 KB multipart/alternative (text + HTML)", _lf(message), 2 * PLANTED)


def _scan_image(rng: random.Random, side: int) -> bytes:
    """A grey noisy PNG, like a scanned signature: bytes that hold no text."""
    from PIL import Image
    image = Image.frombytes("L", (side, side), bytes(200 + b % 56 for b in rng.randbytes(side * side)))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _pdf(rng: random.Random, pages: int, image_side: int) -> bytes:
    from fpdf import FPDF
    pdf = FPDF()
    pdf.set_font("Helvetica", size=9)
    for page in range(pages):
        pdf.add_page()
        if page == pages - 1:
            pdf.image(io.BytesIO(_scan_image(rng, image_side)), x=20, y=240, w=60)
        pdf.cell(0, 6, f"City Utilities - Customer statement, page {page + 1} of {pages}", new_x="LMARGIN", new_y="NEXT")
        if page == 0:
            pdf.multi_cell(0, 5, f"Customer account {SCE_CUSTOMER}. Refund to Visa {CARDS[0]}. "
                                 f"Questions: {PHONES[0]}.")
        for _ in range(38):
            pdf.cell(0, 5, f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}   "
                           f"INV-2026-{rng.randint(10000, 99999)}   {rng.choice(_ITEMS):32}  "
                           f"qty {rng.randint(1, 400):4}   ${rng.randint(5, 90000):>7,}.{rng.randint(0, 99):02d}",
                     new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _xlsx(rng: random.Random, rows: int) -> bytes:
    from openpyxl import Workbook
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Billing export"
    sheet.append(["Invoice", "Date", "Vendor", "Item", "Qty", "Amount", "PO", "Notes"])
    for i in range(rows):
        note = ""
        if i == 5:
            note = f"vendor EIN {EINS[0]}"
        elif i == 9:
            note = f"ACH routing number {ROUTINGS[0]}"
        sheet.append([f"INV-2026-{rng.randint(10000, 99999)}",
                      f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                      rng.choice(_VENDORS), rng.choice(_ITEMS), rng.randint(1, 400),
                      round(rng.uniform(5, 90000), 2), f"PO {rng.randint(240000, 249999)}",
                      note or rng.choice(("", "partial", "backorder", "net 30", "approved"))])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def attach_120k(size: int = 122_880) -> RealMessage:
    rng = random.Random(15)
    message = EmailMessage(policy=SMTP)
    _headers(message, "Statement and billing export for the audit", 3)
    note = ("Hi Sarah,\n\nAttached are the customer statement and the billing export the "
            f"auditors asked for. The refund for SSN {SSNS[0]} is on page 1.\n\n"
            + "\n\n".join(_filler(rng) for _ in range(4)) + "\n" + _signature())
    message.set_content(note, cte="quoted-printable")
    # A 3-page statement with a scanned signature and a 250-row export, the
    # signature grown until base64 (4/3) brings the message to ``size``.
    xlsx_bytes = _xlsx(random.Random(17), 250)
    side = 150
    while True:
        pdf_bytes = _pdf(random.Random(16), 3, side)
        if (len(pdf_bytes) + len(xlsx_bytes)) * 4 // 3 + len(note) + 1500 >= size:
            break
        side += 20
    message.add_attachment(pdf_bytes, maintype="application", subtype="pdf", filename="statement-2026-10.pdf")
    message.add_attachment(xlsx_bytes, maintype="application",
                           subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                           filename="billing-export-2026-10.xlsx")
    return RealMessage("attach-120k", "120 KB text + PDF + XLSX attachments", _lf(message), 1 + 2 + 2)


def _lf(message: EmailMessage) -> bytes:
    """The message with LF line ends (smtp-source -F sends each line with CRLF)."""
    return message.as_bytes().replace(b"\r\n", b"\n")


def generate() -> tuple[RealMessage, ...]:
    """The three messages, the same bytes every time."""
    return text_10k(), html_10k(), attach_120k()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.rstrip().rsplit("\n", 1)[-1].strip(), file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for message in generate():
        (out / f"{message.name}.eml").write_bytes(message.content)
        print(f"{out / (message.name + '.eml')}: {len(message.content):,} bytes, {message.description}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
