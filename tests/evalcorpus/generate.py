"""Generate the independent evaluation corpus: outbound municipal/utility mail, labelled.

Written from the project's DETECTION.md and CONTRACT.md only, without reading
the detectors. Every sensitive value is inserted through :meth:`Part.put`,
which records its label (entity, the value as written, segment name and kind)
at the moment the clerk "types" it; hard negatives go through
:meth:`Part.neg`. Labels therefore say what a careful reader of the message
would call each value, never what any detector reports.

    python -m tests.evalcorpus.generate OUTDIR [--seed N] [--count N]

writes ``OUTDIR/NNNN-scenario.eml`` and ``OUTDIR/labels.json``.
"""

from __future__ import annotations

import argparse
import email.utils
import functools
import html as htmlmod
import json
import random
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from tests.evalcorpus import docs
from tests.evalcorpus import values as V

SEED = 20261202
FULLWIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")
BASE_TIME = 1795939200  # 2026-12-01T00:00:00Z


@dataclass(frozen=True, slots=True)
class Label:
    entity: str
    value: str  # as written (HTML: as rendered; &nbsp; as a space)
    segment: str  # as CONTRACT.md names it: subject, body, attachment:a.zip/b.csv
    kind: str  # subject, body, html-table, csv, xlsx, docx, pdf, zip-member, attached-message


@dataclass(frozen=True, slots=True)
class Negative:
    value: str
    what: str
    segment: str


@dataclass(frozen=True, slots=True)
class Grey:
    """A value a careful reader would not call either way: never scored, findings on it ignored."""

    value: str
    what: str
    segment: str


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    scenario: str
    raw: bytes = field(repr=False)
    labels: tuple[Label, ...]
    negatives: tuple[Negative, ...]
    grey: tuple[Grey, ...] = ()

    @property
    def sensitive(self) -> bool:
        return any(lab.entity in V.SENSITIVE for lab in self.labels)

    @property
    def sensitive_core(self) -> bool:
        return any(lab.entity in V.SENSITIVE_CORE for lab in self.labels)

    def meta(self) -> dict[str, object]:
        return {
            "name": self.name,
            "scenario": self.scenario,
            "sensitive": self.sensitive,
            "sensitive_core": self.sensitive_core,
            "labels": [asdict(lab) for lab in self.labels],
            "negatives": [asdict(n) for n in self.negatives],
            "grey": [asdict(g) for g in self.grey],
        }


class Part:
    """One segment being written: records what goes into it."""

    def __init__(self, draft: Draft, segment: str, kind: str) -> None:
        self.draft, self.segment, self.kind = draft, segment, kind

    def put(self, entity: str, written: str) -> str:
        assert entity in V.ENTITIES, entity
        self.draft.labels.append(Label(entity, written, self.segment, self.kind))
        self.draft.used_digits(self.segment).add(V.digits(written))
        return written

    def neg(self, what: str, written: str) -> str:
        self.draft.negatives.append(Negative(written, what, self.segment))
        self.draft.used_digits(self.segment).add(V.digits(written))
        return written

    def grey(self, what: str, written: str) -> str:
        self.draft.grey.append(Grey(written, what, self.segment))
        self.draft.used_digits(self.segment).add(V.digits(written))
        return written

    def fresh(self, make: Callable[[], str]) -> str:
        """A value from ``make`` whose digits nothing else in this segment has (short values collide)."""
        used = self.draft.used_digits(self.segment)
        short = [u for u in used if len(u) < 7]
        while True:
            v = make()
            dg = V.digits(v)
            if dg not in used and not any(u in dg for u in short) and (
                    len(dg) >= 7 or not any(dg in u for u in used)):
                return v

    def as_kind(self, kind: str) -> Part:
        return Part(self.draft, self.segment, kind)


@dataclass(frozen=True, slots=True)
class Org:
    city: str
    domain: str
    area: str
    zip3: str
    utility: str
    short: str
    accounts: str  # "sce" or "water"


ORGS = (
    Org("Lancaster", "lancaster.example", "661", "935", "Lancaster Choice Energy", "LCE", "sce"),
    Org("Pomona", "pomona.example", "909", "917", "Pomona Choice Energy", "PCE", "sce"),
    Org("Covina", "citrus.example", "626", "917", "Citrus Water District", "CWD", "water"),
    Org("Cerritos", "cerritos.example", "562", "907", "Cerritos Municipal Water", "CMW", "water"),
    Org("Palos Verdes Estates", "pvestates.example", "310", "902", "PVE Public Works", "PVE", "water"),
)

FIRST = ("Maria", "James", "Linda", "Jose", "Patricia", "Robert", "Guadalupe", "Michael", "Jennifer",
         "David", "Rosa", "Daniel", "Karen", "Luis", "Nancy", "Thomas", "Ana", "Kevin", "Sandra",
         "Juan", "Michelle", "Brian", "Veronica", "Eric", "Teresa", "Hector", "Amy", "Tuan", "Mei")
LAST = ("Garcia", "Smith", "Hernandez", "Nguyen", "Johnson", "Lopez", "Kim", "Martinez", "Brown",
        "Ramirez", "Davis", "Gonzalez", "Chen", "Wilson", "Torres", "Patel", "Flores", "Anderson",
        "Rivera", "Lee", "Sanchez", "Thompson", "Cruz", "Park", "Morales", "Reyes", "Tran")
STREETS = ("Elm St.", "W Avenue J", "N Garey Ave", "Palo Verde Dr", "Citrus Ave", "Bloomfield Ave",
           "Via Corta", "E Holt Ave", "Sierra Hwy", "Gridley Rd", "10th St W", "Mission Blvd",
           "Valinda Ave", "Studebaker Rd", "Via Anacapa", "Towne Ave", "Lemon Ave", "Barranca Ave")
VENDORS = ("Acme Paving Inc", "Southwest Pipe & Supply", "Desert Tree Care LLC", "Valley Janitorial",
           "Pacific Meter Services", "Golden State Fleet Parts", "Rivera Electric", "Kim Landscaping",
           "Tri-County Striping", "Sunrise Office Supply", "Mesa Engineering Group", "Blue Line Plumbing",
           "Patel Consulting", "Cruz Concrete", "Inland Backflow Testing", "Harbor Uniforms")
TITLES = {
    "billing": ("Utility Billing Specialist", "Customer Account Clerk", "Billing Supervisor"),
    "payroll": ("Payroll Officer", "Payroll Technician", "Senior Accountant"),
    "purchasing": ("Purchasing Clerk", "Buyer II", "Accounts Payable Technician"),
    "hr": ("HR Analyst", "Human Resources Technician", "Risk Manager"),
    "cs": ("Customer Service Representative", "Customer Care Lead", "Field Service Coordinator"),
    "it": ("Systems Administrator", "IT Analyst", "Network Engineer"),
}
DEPTS = {"billing": "Utility Billing", "payroll": "Finance - Payroll", "purchasing": "Purchasing",
         "hr": "Human Resources", "cs": "Customer Service", "it": "Information Technology"}
EXTERNAL = ("gmail.example.com", "collections-partner.example.net", "cpa-firm.example.org",
            "vendor-supply.example.com", "mail.example.org", "consultant.example.net")


class Draft:
    """One message being written."""

    def __init__(self, rng: random.Random, index: int, scenario: str) -> None:
        self.rng, self.index, self.scenario = rng, index, scenario
        self.labels: list[Label] = []
        self.negatives: list[Negative] = []
        self.grey: list[Grey] = []
        self.ordinal = 0  # this message's number among its scenario's: spreads formats evenly
        self._used: dict[str, set[str]] = {}
        self.org = rng.choice(ORGS)
        self.sender = self.person()

    # people and places -------------------------------------------------
    def person(self) -> str:
        return f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}"

    def street(self) -> str:
        return f"{self.rng.randint(100, 45999)} {self.rng.choice(STREETS)}"

    def zip5(self) -> str:
        return f"{self.org.zip3}{self.rng.randint(1, 99):02d}"

    def zip4(self, p: Part) -> str:
        return p.neg("ZIP+4", f"{self.zip5()}-{self.rng.randint(1000, 9999)}")

    def date(self, p: Part | None = None) -> str:
        d = f"{self.rng.randint(1, 12):02d}/{self.rng.randint(1, 28):02d}/{self.rng.choice((2025, 2026))}"
        return p.neg("date", d) if p else d

    def amount(self, p: Part | None = None, big: bool = False, sign: bool = True) -> str:
        v = self.rng.randint(1000, 9_999_999 if big else 250_000) / 100
        a = f"${v:,.2f}" if sign else f"{v:,.2f}"
        return p.neg("amount", a) if p else a

    def requote(self, segment: str, prefix: str) -> None:
        """Values wrapped over lines that were then quoted carry the quote marks as written."""
        self.labels = [
            Label(lab.entity, lab.value.replace("\n", "\n" + prefix), lab.segment, lab.kind)
            if lab.segment == segment and "\n" in lab.value else lab
            for lab in self.labels
        ]

    def part(self, segment: str, kind: str) -> Part:
        return Part(self, segment, kind)

    def used_digits(self, segment: str) -> set[str]:
        """The digits of every value labelled, negative or grey in ``segment`` so far."""
        return self._used.setdefault(segment, set())

    # utility accounts in this org's style --------------------------------
    def utility_account(self, style: str | None = None) -> str:
        rng = self.rng
        if self.org.accounts == "sce":
            style = style or rng.choice(("dash", "dash", "space", "plain", "service"))
            return V.sce_service(rng) if style == "service" else V.sce_customer(rng, style)
        return V.water_account(rng)

    def signature(self, p: Part, role: str, phones: int = 2) -> str:
        rng = self.rng
        lines = ["", "--", self.sender, rng.choice(TITLES[role]),
                 f"{DEPTS[role]} | City of {self.org.city}",
                 f"{self.street()}, {self.org.city}, CA {self.zip4(p)}"]
        kinds = rng.sample(["Tel", "Direct", "Fax", "Cell", "Main"], k=min(phones, 5))
        row = []
        for k in kinds:
            row.append(f"{k}: {p.put('PHONE_NUMBER', V.phone(rng))}")
        lines.append(" | ".join(row) if rng.random() < 0.5 else "\n".join(row))
        if rng.random() < 0.3:
            lines.append(f"After-hours emergencies: {p.put('PHONE_NUMBER', V.phone(rng, 'dash'))}")
        return "\n".join(lines)

    def external(self) -> str:
        return f"{self.rng.choice(FIRST).lower()}.{self.rng.choice(LAST).lower()}@{self.rng.choice(EXTERNAL)}"


# --- message assembly ---------------------------------------------------------

Attachment = tuple[str, str, str, bytes]  # filename, maintype, subtype, data


def assemble(
    d: Draft,
    subject: str,
    text: str | None,
    html: str | None = None,
    attachments: Sequence[Attachment] = (),
    messages: Sequence[tuple[str, EmailMessage]] = (),
    to: str | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"{d.sender} <{d.sender.split()[0].lower()}.{d.sender.split()[-1].lower()}@{d.org.domain}>"
    msg["To"] = to or d.external()
    msg["Subject"] = subject
    msg["Date"] = email.utils.formatdate(BASE_TIME + d.index * 137, usegmt=True)
    msg["Message-ID"] = f"<ec{d.index:04d}.{d.scenario}@{d.org.domain}>"
    if text is not None:
        msg.set_content(text)
        if html is None and d.rng.random() < 0.35:
            html = as_html(text)  # most mail clients send both alternatives
        if html is not None:
            msg.add_alternative(html, subtype="html")
    elif html is not None:
        msg.set_content(html, subtype="html")
    for filename, maintype, subtype, data in attachments:
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    for filename, inner in messages:
        msg.add_attachment(inner, filename=filename)
    n = 0
    for part in msg.walk():
        if part.is_multipart():
            part.set_boundary(f"=_ec{d.index:04d}_{n}")
            n += 1
    return msg.as_bytes(policy=SMTP)


def as_html(text: str) -> str:
    """The HTML alternative a mail client writes for plain text: a div per line, quotes in blockquotes."""
    out, depth = [], 0
    for line in text.split("\n"):
        marks = re.match(r"(?:> ?)*", line).group(0)  # type: ignore[union-attr]
        level = marks.count(">")
        while depth < level:
            out.append("<blockquote style=\"margin:0 0 0 .8ex;border-left:1px #ccc solid\">")
            depth += 1
        while depth > level:
            out.append("</blockquote>")
            depth -= 1
        out.append(f"<div>{htmlmod.escape(line[len(marks):]) or '<br>'}</div>")
    out += ["</blockquote>"] * depth
    return "<html><body>" + "\n".join(out) + "</body></html>"


def inner_message(d: Draft, subject: str, text: str, sender: str, to: str) -> EmailMessage:
    m = EmailMessage()
    m["From"] = sender
    m["To"] = to
    m["Subject"] = subject
    m["Date"] = email.utils.formatdate(BASE_TIME - 86400 * 6 + d.index, usegmt=True)
    m["Message-ID"] = f"<ec{d.index:04d}.inner@{d.org.domain}>"
    m.set_content(text)
    return m


# --- pieces of prose ----------------------------------------------------------

def greet(d: Draft) -> str:
    return d.rng.choice(("Hi {n},", "Hello {n},", "Good morning {n},", "{n},", "Dear {n}:")).format(
        n=d.rng.choice(FIRST))


def close(d: Draft) -> str:
    return d.rng.choice(("Thanks,", "Thank you,", "Regards,", "Best,", "Thanks again,"))


def utility_sentence(d: Draft, p: Part) -> str:
    """A sentence naming a utility account the way staff and customers write it."""
    rng = d.rng
    acct = d.utility_account()
    if rng.random() < 0.25:
        acct = V.phone_shaped_account(rng)  # ten digits that also look like a phone number
    a = p.put("UTILITY_ACCOUNT", acct)
    street = rng.choice(STREETS)
    amount, date, date2 = d.amount(), d.date(), d.date()
    forms = (
        f"my account is {a} and I was charged twice this month.",
        f"Account number: {a}",
        f"I called twice about this already. My account number is\n{a} and nobody has called back.",
        f"Acct# {a} - customer says the meter was read wrong.",
        f"acct no. {a}, balance {amount} past due since {date}.",
        f"the account we looked at last week, for the {street} property, was {a}.",
        f"Please apply the payment to account {a}.",
        f"Customer account {a} is on a payment arrangement through {date2}.",
        f"{d.org.short} account number {a} (service at {d.street()})",
        f"Acct {a}",
        f"Can you check the account for the tenant at {d.street()}? It's {a}, the one with the leak adjustment.",
        f"The {d.org.utility} account on file is {a}.",
    )
    return pick(p, rng.choice(forms), (("amount", amount), ("date", date), ("date", date2)))


def pick(p: Part, text: str, negatives: Sequence[tuple[str, str]]) -> str:
    """Record the negatives that the chosen wording actually contains."""
    for what, value in negatives:
        if value in text:
            p.neg(what, value)
    return text


def sce_sentence(d: Draft, p: Part) -> str:
    rng = d.rng
    style = rng.choice(("dash", "space", "plain", "service", "wrap"))
    if style == "service":
        return f"Service account {p.put('UTILITY_ACCOUNT', V.sce_service(rng))} at {d.street()}."
    if style == "wrap":
        v = V.sce_customer(rng)
        written = f"{v[:5]}\n{v[5:]}" if rng.random() < 0.5 else f"{v[:7]}\n{v[7:]}"
        pre = "The SCE customer account number for the pump station is " + rng.choice(("", "listed as "))
        return pre + p.put("UTILITY_ACCOUNT", written) + " per the last bill."
    v = V.sce_customer(rng, style)
    label = rng.choice(("SCE customer account", "Customer account number", "Customer Acct",
                        "Edison account", "customer account no."))
    return f"{label} {p.put('UTILITY_ACCOUNT', v)} - please confirm the rate schedule."


# --- scenarios: bulk exports -----------------------------------------------

def _rows_count(rng: random.Random) -> int:
    return rng.choice((40, 80, 120, 190, 240, 320))


def billing_table(d: Draft, p: Part, n: int, excel_guard: bool = False) -> tuple[list[str], list[list[str]]]:
    """Customer accounts; ``excel_guard`` writes them ="0041..." so Excel keeps the leading zeros."""
    rng = d.rng
    acct_header = rng.choice(("account_number", "Service Acct", "Cust #", "Acct No", "ACCOUNT NUMBER",
                              "Customer Account", "acct_num"))
    service = acct_header == "Service Acct" and d.org.accounts == "sce"
    phone_shaped = acct_header in ("account_number", "Acct No") and rng.random() < 0.3
    phone_header = rng.choice(("phone", "Phone", "Contact Phone", "Home Phone", "tel"))
    header = [acct_header, "Customer Name", "Service Address", "ZIP", phone_header, "Balance", "Due Date"]
    rows: list[list[str]] = []
    for _ in range(n):
        if service:
            acct = V.sce_service(rng)
        elif phone_shaped:
            acct = V.phone_shaped_account(rng)
        elif d.org.accounts == "sce":
            acct = V.sce_customer(rng, rng.choice(("dash", "dash", "plain")))
        else:
            acct = V.water_account(rng)
        ph = V.phone(rng, rng.choice(("paren", "dash", "plain"))) if rng.random() < 0.8 else ""
        p.put("UTILITY_ACCOUNT", acct)
        rows.append([
            f'="{acct}"' if excel_guard else acct,
            f"{rng.choice(LAST).upper()}, {rng.choice(FIRST).upper()}",
            d.street().upper(),
            d.zip4(p) if rng.random() < 0.5 else d.zip5(),
            p.put("PHONE_NUMBER", ph) if ph else "",
            d.amount(p, sign=False),
            d.date(p),
        ])
    return header, rows


def payroll_table(d: Draft, p: Part, n: int) -> tuple[list[str], list[list[str]]]:
    rng = d.rng
    header = rng.choice((
        ["Emp ID", "Employee Name", "SSN", "Bank Routing", "Account #", "Acct Type", "Net Pay", "Pay Date"],
        ["emp_no", "name", "ssn", "routing_no", "acct_no", "type", "amount", "check_date"],
        ["Employee", "Name", "Social Security No", "ABA", "Bank Account", "Checking/Savings", "Net", "Date"],
    ))
    style = rng.choice(("dash", "plain"))
    rows = []
    for i in range(n):
        if rng.random() < 0.06:
            tax = p.put("US_ITIN", V.itin(rng, style))
        else:
            tax = p.put("US_SSN", V.ssn(rng, style))
        rows.append([
            f"{rng.randint(10000, 99999)}",
            f"{rng.choice(LAST)}, {rng.choice(FIRST)}",
            tax,
            p.put("US_BANK_ROUTING", V.routing(rng)),
            p.put("US_BANK_ACCOUNT", V.bank_account(rng)),
            rng.choice(("Checking", "Savings", "C", "S")),
            d.amount(p, sign=False),
            d.date(p),
        ])
    return header, rows


def vendor_table(d: Draft, p: Part, n: int) -> tuple[list[str], list[list[str]]]:
    rng = d.rng
    tin_header = rng.choice(("Vendor TIN", "Tax ID", "TIN", "Federal Tax ID", "FEIN"))
    plain = rng.random() < 0.3
    header = ["Vendor #", "Vendor Name", tin_header, "Remit To", "Phone", "1099", "YTD Paid", "Last PO"]
    rows = []
    for _ in range(n):
        individual = tin_header in ("Vendor TIN", "TIN") and not plain and rng.random() < 0.15
        if individual:
            tin = p.put("US_SSN", V.ssn(rng))
        else:
            tin = p.put("US_EIN", V.ein(rng, plain=plain, also_ssn=plain and rng.random() < 0.5))
        rows.append([
            f"V{rng.randint(1000, 99999):05d}",
            rng.choice(VENDORS) if not individual else f"{rng.choice(FIRST)} {rng.choice(LAST)} dba {rng.choice(VENDORS)}",
            tin,
            f"{d.street()}, {rng.choice(('Los Angeles', 'Palmdale', 'Ontario', 'Long Beach'))} CA",
            p.put("PHONE_NUMBER", V.phone(rng, rng.choice(("dash", "paren")))),
            "Y" if individual else rng.choice(("Y", "N")),
            d.amount(p, big=True, sign=False),
            p.neg("PO number", f"PO-{rng.randint(2024, 2026)}-{rng.randint(10000, 99999)}"),
        ])
    return header, rows


def _title(d: Draft, what: str) -> list[str]:
    rng = d.rng
    lines = rng.choice((
        [f"City of {d.org.city} - {what}", f"Run date: {d.date()}"],
        [f"{d.org.utility}", what, ""],
        [what],
        [],
        [f"REPORT: {what.upper()}", f"Prepared by {d.sender}", "Page 1 of 1"],
    ))
    return lines


DELIMS = ((",", "csv", "text", "csv"), ("\t", "tsv", "text", "tab-separated-values"),
          (";", "csv", "text", "csv"), ("|", "txt", "text", "plain"))


def sc_csv_export(d: Draft) -> bytes:
    rng = d.rng
    kind = rng.choice(("billing", "billing", "billing", "payroll", "vendor"))
    delim, ext, mt, st = rng.choice(DELIMS)
    fname = {"billing": rng.choice(("delinquent_accounts", "export", "cust_list", "shutoff_list")),
             "payroll": rng.choice(("dd_register", "payroll_export", "ach_file")),
             "vendor": rng.choice(("vendor_master", "1099_vendors", "vendors"))}[kind] + f".{ext}"
    p = d.part(f"attachment:{fname}", "csv")
    n = _rows_count(rng)
    if kind == "billing":
        header, rows = billing_table(d, p, n, excel_guard=delim == "," and rng.random() < 0.3)
    else:
        header, rows = (payroll_table if kind == "payroll" else vendor_table)(d, p, n)
    data = docs.delimited(_title(d, {"billing": "Delinquent Accounts", "payroll": "Direct Deposit Register",
                                     "vendor": "Vendor Master"}[kind]),
                          header, rows, delimiter=delim, crlf=rng.random() < 0.5)
    role = {"billing": "billing", "payroll": "payroll", "vendor": "purchasing"}[kind]
    b = d.part("body", "body")
    text = "\n".join([greet(d), "", rng.choice((
        "Attached is the export you asked for.",
        "Here is the list from this morning's run. Let me know if you need other columns.",
        "Please see the attached file for the accounts going to collections.",
        "As discussed, attached is the file. It is large, sorry.")), "", close(d), d.signature(b, role)])
    return assemble(d, rng.choice(("Export", "File you requested", "RE: list for review", f"{header[0]} list")),
                    text, attachments=[(fname, mt, st, data)])


def sc_zip_export(d: Draft) -> bytes:
    rng = d.rng
    zname = rng.choice(("accounts", "export_2026-11", "billing_files", "ap_files")) + ".zip"
    members = []
    for i in range(rng.choice((1, 1, 2))):
        kind = rng.choice(("billing", "billing", "payroll", "vendor"))
        mname = f"{kind}_{i + 1}.csv"
        p = d.part(f"attachment:{zname}/{mname}", "zip-member")
        header, rows = {"billing": billing_table, "payroll": payroll_table, "vendor": vendor_table}[kind](
            d, p, _rows_count(rng))
        members.append((mname, docs.delimited(_title(d, kind.title()), header, rows,
                                              delimiter=rng.choice((",", ",", "\t", ";")))))
    if rng.random() < 0.4:
        members.append(("README.txt", f"Files exported {d.date()} by {d.sender}.\n".encode()))
    b = d.part("body", "body")
    text = f"{greet(d)}\n\nZipped because the files were too big to attach. Password not needed.\n\n{close(d)}" + \
        d.signature(b, "billing")
    return assemble(d, "Files (zipped)", text, attachments=[(zname, "application", "zip", docs.zipped(members))])


def sc_xlsx(d: Draft) -> bytes:
    rng = d.rng
    fname = rng.choice(("workbook", "november_report", "accounts_review", "AP_reconciliation")) + ".xlsx"
    seg = f"attachment:{fname}"
    p = d.part(seg, "xlsx")
    sheets: list[tuple[str, list[list[docs.Cell]]]] = []
    summary: list[list[docs.Cell]] = [[f"City of {d.org.city}"], ["Summary"], [],
                                      ["District", "Accounts", "Total"]]
    for k in range(rng.randint(3, 8)):
        summary.append([f"District {k + 1}", rng.randint(10, 900), rng.randint(1000, 900000) / 100])
    sheets.append(("Summary", summary))
    for kind in rng.sample(["billing", "payroll", "vendor"], k=rng.choice((1, 1, 2))):
        header, rows = {"billing": billing_table, "payroll": payroll_table, "vendor": vendor_table}[kind](
            d, p, _rows_count(rng))
        top: list[list[docs.Cell]] = [[f"{kind.title()} detail"], [f"as of {d.date()}"], []]
        if rng.random() < 0.5:
            top.append([])
        body: list[list[docs.Cell]] = []
        for row in rows:
            cells: list[docs.Cell] = []
            for h, v in zip(header, row):
                # routing numbers and plain SSNs typed into Excel often end up as numbers
                if v.isdigit() and not v.startswith("0") and ("ABA" in h or "outing" in h) and rng.random() < 0.5:
                    cells.append(int(v))
                else:
                    cells.append(v)
            body.append(cells)
        sheets.append(({"billing": "Delinquent", "payroll": "Direct Deposit", "vendor": "Vendors"}[kind],
                       top + [list(header)] + body))
    if rng.random() < 0.5:
        sheets.append(("Notes", [["Notes"], ["Reviewed by finance"], [f"Batch {p.neg('batch number', str(rng.randint(20260000, 20269999)))}"]]))
    rng.shuffle(sheets)
    b = d.part("body", "body")
    text = f"{greet(d)}\n\nWorkbook attached - the detail tabs are behind the summary.\n\n{close(d)}" + \
        d.signature(b, rng.choice(("billing", "payroll", "purchasing")))
    return assemble(d, "Workbook for review", text, attachments=[
        (fname, "application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet", docs.xlsx(sheets))])


# --- scenarios: forms ----------------------------------------------------------

def w9_blocks(d: Draft, p: Part) -> list[tuple[str, object]]:
    rng = d.rng
    individual = rng.random() < 0.5
    name = d.person()
    rows: list[list[str]] = [["Name (as shown on your income tax return)", name]]
    if individual:
        rows.append(["Business name/disregarded entity name", f"{name.split()[-1]} {rng.choice(('Services', 'Landscaping', 'Consulting'))}"])
        rows.append(["Federal tax classification", "Individual/sole proprietor"])
        label = rng.choice(("Social security number", "SSN", "Part I - Taxpayer Identification Number (SSN)"))
        style = rng.choice(("dash", "dash", "plain", "space"))
        tin = p.put("US_SSN", V.ssn(rng, style)) if rng.random() < 0.9 else p.put("US_ITIN", V.itin(rng))
    else:
        rows.append(["Business name/disregarded entity name", rng.choice(VENDORS)])
        rows.append(["Federal tax classification", rng.choice(("C Corporation", "S Corporation", "LLC (P)"))])
        label = rng.choice(("Employer identification number", "EIN", "Part I - Taxpayer Identification Number (EIN)"))
        plain = rng.random() < 0.3
        tin = p.put("US_EIN", V.ein(rng, plain=plain, also_ssn=plain))
    rows.append([label, tin])
    rows.append(["Address (number, street, and apt. or suite no.)", d.street()])
    rows.append(["City, state, and ZIP code", f"{rng.choice(('Palmdale', 'Ontario', 'Whittier'))}, CA {d.zip4(p)}"])
    rows.append(["Phone", p.put("PHONE_NUMBER", V.phone(rng))])
    if rng.random() < 0.4:
        rows.append(["Exempt payee code (if any)", ""])
    blocks: list[tuple[str, object]] = [
        ("h", "Form W-9 Request for Taxpayer Identification Number and Certification"),
        ("p", f"Rev. March 2024. Received by Purchasing {d.date(p)}."),
        ("table", rows),
        ("p", ("Under penalties of perjury, I certify that the number shown on this form is my correct "
              "taxpayer identification number.")),
    ]
    return blocks


def f1099_blocks(d: Draft, p: Part) -> list[tuple[str, object]]:
    rng = d.rng
    payer = [["PAYER'S name", f"City of {d.org.city}"],
             ["PAYER'S TIN", p.put("US_EIN", V.ein(rng))],
             ["PAYER'S telephone no.", p.put("PHONE_NUMBER", V.phone(rng))]]
    header = ["Recipient", rng.choice(("RECIPIENT'S TIN", "Recipient TIN", "TIN")), "Box 1 Nonemployee comp.",
              "Box 4 Federal tax withheld"]
    rows = [header]
    for _ in range(rng.randint(3, 25)):
        if rng.random() < 0.5:
            who, tin = d.person(), p.put("US_SSN", V.ssn(rng))
        else:
            who, tin = rng.choice(VENDORS), p.put("US_EIN", V.ein(rng))
        rows.append([who, tin, d.amount(p), "0.00"])
    return [("h", f"Form 1099-NEC Summary - Tax Year {rng.choice((2025, 2026))}"),
            ("table", payer), ("p", "Recipients:"), ("table", rows)]


def sc_form(d: Draft) -> bytes:
    rng = d.rng
    form = rng.choice(("w9", "w9", "1099"))
    fmt = rng.choice(("docx", "pdf"))
    fname = {"w9": rng.choice(("W9", "w-9_signed", "W9_vendor")), "1099": rng.choice(("1099_summary", "1099NEC"))}[form]
    fname += "." + fmt
    p = d.part(f"attachment:{fname}", fmt)
    blocks = (w9_blocks if form == "w9" else f1099_blocks)(d, p)
    data = docs.docx(blocks) if fmt == "docx" else docs.pdf(blocks)
    mt = ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document") if fmt == "docx" \
        else ("application", "pdf")
    b = d.part("body", "body")
    text = f"{greet(d)}\n\n" + rng.choice((
        "Attached is the signed W-9 for our files.",
        "Here is the form for your records. Let me know if anything is missing.",
        "Please find the 1099 summary attached for your review before we file.",
        "Vendor sent this form back today; forwarding for setup.")) + f"\n\n{close(d)}" + d.signature(b, "purchasing")
    return assemble(d, rng.choice(("W-9", "Form attached", "1099 review", "vendor setup")), text,
                    attachments=[(fname, mt[0], mt[1], data)])


# --- scenarios: HTML statements ---------------------------------------------

def _broken(d: Draft, value: str) -> tuple[str, str]:
    """HTML markup for ``value`` broken by tags or &nbsp;, and how a reader sees it."""
    rng = d.rng
    how = rng.choice(("plain", "plain", "tag", "nbsp", "wbr"))
    if how == "tag" and "-" in value:
        i = value.rindex("-")
        return f"{value[:i + 1]}<span class=\"last\">{value[i + 1:]}</span>", value
    if how == "nbsp" and ("-" in value or " " in value):
        return value.replace("-", "&nbsp;").replace(" ", "&nbsp;"), value.replace("-", " ")
    if how == "wbr" and len(value) > 6:
        return f"{value[:4]}<wbr>{value[4:]}", value
    return value, value


def sc_html_statement(d: Draft) -> bytes:
    rng = d.rng
    as_attachment = rng.random() < 0.3
    seg = "attachment:statement.html" if as_attachment else "body"
    p = d.part(seg, "html-table")
    th = rng.random() < 0.6

    def cell(tag: str, v: str) -> str:
        return f"<{tag}>{v}</{tag}>"

    kv = []
    acct = d.utility_account(rng.choice(("dash", "plain", "space")) if d.org.accounts == "sce" else None)
    html_acct, seen = _broken(d, acct)
    p.put("UTILITY_ACCOUNT", seen)
    kv.append(("Account Number", html_acct))
    if d.org.accounts == "sce" and rng.random() < 0.5:
        sa = V.sce_service(rng)
        h, seen = _broken(d, sa)
        p.put("UTILITY_ACCOUNT", seen)
        kv.append(("Service Account", h))
    kv.append(("Service Address", d.street()))
    kv.append(("Statement Date", d.date(p)))
    kv.append(("Amount Due", d.amount(p)))
    ph = V.phone(rng, "paren")
    h, seen = _broken(d, ph)
    p.put("PHONE_NUMBER", seen)
    kv.append(("Phone on File", h))
    if rng.random() < 0.4:
        r = V.routing(rng)
        h, seen = _broken(d, r)
        p.put("US_BANK_ROUTING", seen)
        kv.append(("AutoPay Bank Routing", h))
        kv.append(("AutoPay Account", "ending " + p.neg("masked account", f"****{rng.randint(1000, 9999)}")))
    kv_html = "<table class=\"summary\">" + "".join(
        f"<tr>{cell('th' if th else 'td', k)}{cell('td', v)}</tr>" for k, v in kv) + "</table>"

    hist_tag = "th" if th else "td"
    hist = [f"<tr>{''.join(cell(hist_tag, h) for h in ('Date', 'Description', 'Invoice', 'Amount'))}</tr>"]
    for _ in range(rng.randint(3, 12)):
        inv = p.neg("invoice number", str(rng.randint(100000000, 999999999)))
        hist.append(f"<tr>{cell('td', d.date(p))}{cell('td', rng.choice(('Water service', 'Electric generation', 'Late fee', 'Payment - thank you')))}"
                    f"{cell('td', inv)}{cell('td', d.amount(p))}</tr>")
    multi = ""
    if rng.random() < 0.35:
        # a property manager's statement: many accounts, header row first
        rows = [f"<tr>{''.join(cell(hist_tag, h) for h in ('Acct No.', 'Unit', 'Balance'))}</tr>"]
        for u in range(rng.randint(10, 60)):
            a = d.utility_account("dash" if d.org.accounts == "sce" else None)
            ha, seen = _broken(d, a)
            p.put("UTILITY_ACCOUNT", seen)
            rows.append(f"<tr>{cell('td', ha)}{cell('td', f'Unit {u + 1}')}{cell('td', d.amount(p))}</tr>")
        multi = "<h3>Accounts</h3><table>" + "".join(rows) + "</table>"
    foot = d.part(seg, "body" if not as_attachment else "html-table")
    cs = foot.put("PHONE_NUMBER", V.phone(rng, "dash"))
    html = (f"<html><body><h2>{d.org.utility} - Account Statement</h2>{kv_html}"
            f"<h3>Activity</h3><table>{''.join(hist)}</table>{multi}"
            f"<p>Questions? Call Customer Service at {cs}, Mon-Fri 8-5.</p></body></html>")
    b = d.part("body", "body")
    if as_attachment:
        text = f"{greet(d)}\n\nThe statement you asked for is attached.\n\n{close(d)}" + d.signature(b, "cs")
        return assemble(d, "Your statement", text, attachments=[("statement.html", "text", "html", html.encode())])
    if rng.random() < 0.3:
        return assemble(d, "Your account statement", "This statement is best viewed in HTML.", html=html)
    return assemble(d, "Your account statement", None, html=html)


# --- scenarios: prose -------------------------------------------------------

def sc_customer_service(d: Draft) -> bytes:
    rng = d.rng
    b = d.part("body", "body")
    cust = d.person()
    quoted_acct = utility_sentence(d, b)
    quote = [f"On {d.date()} {cust} <{cust.split()[0].lower()}@{rng.choice(EXTERNAL)}> wrote:",
             f"> Hello, {quoted_acct}".replace("\n", "\n> "),
             "> Please call me back at " + b.put("PHONE_NUMBER", V.phone(rng, rng.choice(("paren", "dash", "plain")))),
             "> Thank you"]
    reply = [greet(d), "", rng.choice((
        "I checked and the late fee has been reversed.",
        "Your payment posted today. The shutoff notice is cancelled.",
        "We scheduled a meter re-read for next week.")),
    ]
    if rng.random() < 0.5:
        reply += ["", utility_sentence(d, b)]
    if rng.random() < 0.3:
        reply += ["", f"Confirmation {b.neg('confirmation number', str(rng.randint(10000000, 99999999)))} for your records."]
    subj = "RE: my bill"
    if rng.random() < 0.25:
        sp = d.part("subject", "subject")
        subj = f"RE: Acct {sp.put('UTILITY_ACCOUNT', d.utility_account())} payment arrangement"
    text = "\n".join(reply + ["", close(d)]) + d.signature(b, "cs") + "\n\n" + "\n".join(quote)
    return assemble(d, subj, text)


def sc_sce(d: Draft) -> bytes:
    rng = d.rng
    b = d.part("body", "body")
    lines = [greet(d), ""]
    for _ in range(rng.randint(1, 3)):
        lines.append(sce_sentence(d, b))
        lines.append("")
    lines.append(f"Meter reads were taken {d.date(b)}.")
    text = "\n".join(lines + [close(d)]) + d.signature(b, "billing")
    return assemble(d, rng.choice(("SCE accounts for the pump stations", "Edison accounts", "account numbers")), text)


def sc_hr(d: Draft) -> bytes:
    rng = d.rng
    b = d.part("body", "body")
    emp = d.person()
    lines = [greet(d), "", f"Following up on {emp}'s file."]
    for _ in range(rng.randint(1, 3)):
        which = rng.choice(("ssn", "ssn", "itin", "dl", "dd"))
        if which == "ssn":
            v = V.ssn(rng, rng.choice(("dash", "dash", "plain", "space", "dot")))
            if rng.random() < 0.1:  # typed with a Japanese/Chinese input method: full-width digits
                v = v.translate(FULLWIDTH)
            b.put("US_SSN", v)
            lines.append(rng.choice((f"Her SS# is {v}.", f"soc sec {v}", f"SSN: {v}",
                                     f"Social security number on the I-9 is {v}, please correct the W-2.",
                                     f"The taxpayer ID (SSN) he gave us was {v}.",
                                     f"SSA number {v} did not verify in E-Verify, please re-check.")))
        elif which == "itin":
            v = b.put("US_ITIN", V.itin(rng, rng.choice(("dash", "plain"))))
            lines.append(rng.choice((f"He has an ITIN, not an SSN: {v}.", f"ITIN {v}", f"SSN/ITIN: {v}")))
        elif which == "dl":
            v = b.put("US_DRIVER_LICENSE", V.ca_license(rng))
            exp = d.date()
            lines.append(pick(b, rng.choice((f"Driver's license: {v}", f"CDL# {v} (Class A)", f"DL {v} exp {exp}",
                                             f"driver license number {v} for the fleet insurance list")),
                              (("date", exp),)))
        else:
            r = b.put("US_BANK_ROUTING", V.routing(rng))
            a = b.put("US_BANK_ACCOUNT", V.bank_account(rng))
            lines.append(rng.choice((
                f"Direct deposit: routing {r}, checking account {a}.",
                f"New direct deposit - ABA {r} / savings acct {a}",
                f"Please change her ACH to RTN {r} account {a} effective next pay period.")))
    subj = rng.choice(("employee file", "W-2 correction", "new hire paperwork", "payroll change"))
    if rng.random() < 0.15:
        sp = d.part("subject", "subject")
        subj = f"SSN {sp.put('US_SSN', V.ssn(rng))} correction - {emp}"
    text = "\n".join(lines + ["", close(d)]) + d.signature(b, rng.choice(("hr", "payroll")))
    return assemble(d, subj, text)


def sc_purchasing(d: Draft) -> bytes:
    rng = d.rng
    b = d.part("body", "body")
    vendor = rng.choice(VENDORS)
    lines = [greet(d), "", f"Setting up {vendor} in the vendor file."]
    for _ in range(rng.randint(1, 3)):
        which = rng.choice(("fein", "ein_plain", "tin_ein", "tin_ssn", "bank"))
        if which == "fein":
            v = b.put("US_EIN", V.ein(rng))
            lines.append(rng.choice((f"Our FEIN is {v}.", f"EIN: {v}", f"employer ID {v}",
                                     f"Federal tax ID {v} per their W-9.")))
        elif which == "ein_plain":
            v = b.put("US_EIN", V.ein(rng, plain=True, also_ssn=rng.random() < 0.6))
            lines.append(rng.choice((f"EIN {v}", f"Employer identification number: {v}",
                                     f"FEIN {v} (no dashes in their system)")))
        elif which == "tin_ein":
            v = b.put("US_EIN", V.ein(rng))
            lines.append(f"TIN {v}")
        elif which == "tin_ssn":
            v = b.put("US_SSN", V.ssn(rng))
            lines.append(f"He is a sole proprietor, TIN {v} (his SSN).")
        else:
            r = b.put("US_BANK_ROUTING", V.routing(rng, rng.choice(("plain", "plain", "dash"))))
            a = b.put("US_BANK_ACCOUNT", V.bank_account(rng))
            lines.append(rng.choice((f"Remit by ACH: routing/ABA {r}, account {a}.",
                                     f"Bank: routing {r} acct {a} (checking)",
                                     f"ABA/RTN {r}, bank account {a}")))
    lines.append(f"This is for PO {b.neg('PO number', str(rng.randint(4500000000, 4509999999)))}, "
                 f"invoice {b.neg('invoice number', str(rng.randint(100000000, 999999999)))} for {d.amount(b)}.")
    text = "\n".join(lines + ["", close(d)]) + d.signature(b, "purchasing")
    return assemble(d, rng.choice(("Vendor setup", "new vendor", f"{vendor} payment info")), text)


def sc_cards(d: Draft) -> bytes:
    rng = d.rng
    b = d.part("body", "body")
    brand, num = V.card(rng, rng.choice(("space", "dash", "plain")))
    v = b.put("CREDIT_CARD", num)
    exp = f"{rng.randint(1, 12):02d}/{rng.randint(27, 31)}"
    amount = d.amount()
    lines = [greet(d), "", pick(b, rng.choice((
        f"Customer paid by phone with {brand} {v} exp {exp}, please post it to the account.",
        f"Card number {v}, expiration {exp}, cardholder {d.person()}.",
        f"Here is the card she read to me: {v} ({brand}).",
        f"Please run the {brand} card {v} for {amount}.")), (("amount", amount),)), ""]
    if rng.random() < 0.5:
        lines += [utility_sentence(d, b), ""]
    text = "\n".join(lines + [close(d)]) + d.signature(b, "cs")
    return assemble(d, rng.choice(("payment by phone", "card payment", "please post")), text)


def sc_spanish(d: Draft) -> bytes:
    rng = d.rng
    b = d.part("body", "body")
    lines = [rng.choice(("Estimado cliente,", "Hola,", "Buenas tardes,")), ""]
    for _ in range(rng.randint(1, 3)):
        which = rng.choice(("cuenta", "cuenta", "ssn", "card", "bank", "dl"))
        if which == "cuenta":
            a = b.put("UTILITY_ACCOUNT", d.utility_account())
            lines.append(rng.choice((f"Mi número de cuenta es {a}.", f"cuenta {a}",
                                     f"El número de cuenta de agua es {a}, a nombre de mi esposo.")))
        elif which == "ssn":
            v = b.put("US_SSN", V.ssn(rng, rng.choice(("dash", "plain"))))
            lines.append(rng.choice((f"Mi número de seguro social es {v}.", f"seguro social: {v}")))
        elif which == "card":
            _, num = V.card(rng)
            lines.append(f"Pagué con la tarjeta {b.put('CREDIT_CARD', num)}, vence {rng.randint(1, 12):02d}/{rng.randint(27, 31)}.")
        elif which == "bank":
            r = b.put("US_BANK_ROUTING", V.routing(rng))
            a = b.put("US_BANK_ACCOUNT", V.bank_account(rng))
            lines.append(rng.choice((f"Número de ruta {r} y cuenta de cheques {a} para el pago automático.",
                                     f"ruta bancaria {r}, cuenta bancaria {a}")))
        else:
            lines.append(f"Licencia de conducir {b.put('US_DRIVER_LICENSE', V.ca_license(rng))}.")
    lines.append(f"Mi teléfono es {b.put('PHONE_NUMBER', V.phone(rng))}.")
    text = "\n".join(lines + ["", "Gracias,", d.person()])
    reply = f"Buenos días,\n\nRecibimos su mensaje y lo pasamos a facturación.\n{d.signature(b, 'cs')}\n\n" + \
        "\n".join("> " + line for line in text.splitlines())
    return assemble(d, "RE: Pregunta sobre mi factura", reply)


def sc_forward(d: Draft) -> bytes:
    rng = d.rng
    attach = rng.random() < 0.5
    fwd_name = rng.choice(("fwd.eml", "original message.eml", "customer_request.eml"))
    seg = f"attachment:{fwd_name}/body" if attach else "body"
    p = d.part(seg, "attached-message" if attach else "body")
    orig = d.person()
    olines = [greet(d), ""]
    for _ in range(rng.randint(1, 3)):
        which = rng.choice(("acct", "acct", "ssn", "ein", "bank", "sce"))
        if which == "acct":
            olines.append(utility_sentence(d, p))
        elif which == "sce":
            olines.append(sce_sentence(d, p) if d.org.accounts == "sce" else utility_sentence(d, p))
        elif which == "ssn":
            olines.append(f"The tenant's SSN is {p.put('US_SSN', V.ssn(rng))} for the deposit waiver.")
        elif which == "ein":
            olines.append(f"Landlord LLC FEIN {p.put('US_EIN', V.ein(rng))}.")
        else:
            olines.append(f"Refund by ACH to routing {p.put('US_BANK_ROUTING', V.routing(rng))} "
                          f"account {p.put('US_BANK_ACCOUNT', V.bank_account(rng))}.")
    olines += ["", f"Thanks, {orig}", f"cell {p.put('PHONE_NUMBER', V.phone(rng))}"]
    otext = "\n".join(olines)
    b = d.part("body", "body")
    if attach:
        inner = inner_message(d, "Request", otext, f"{orig} <{orig.split()[0].lower()}@{rng.choice(EXTERNAL)}>",
                              f"billing@{d.org.domain}")
        text = f"{greet(d)}\n\nForwarding the customer's request (attached). Can you handle it?\n\n{close(d)}" + \
            d.signature(b, "cs")
        return assemble(d, "FW: Request", text, messages=[(fwd_name, inner)])
    depth = rng.choice((1, 2))
    quoted = "\n".join(("> " * depth) + line if line else ">" * depth for line in otext.splitlines())
    d.requote("body", "> " * depth)
    text = (f"{greet(d)}\n\nSee below - can you take care of this one?\n\n{close(d)}{d.signature(b, 'billing')}\n\n"
            f"---------- Forwarded message ---------\nFrom: {orig}\nDate: {d.date()}\nSubject: Request\n\n{quoted}")
    return assemble(d, "FW: Request", text)


def sc_unlabelled(d: Draft) -> bytes:
    """Values with no label at all: the written form decides."""
    rng = d.rng
    b = d.part("body", "body")
    lines = [greet(d), "", "Corrected numbers below, the ones on the list were transposed:", ""]
    for _ in range(rng.randint(2, 5)):
        which = rng.choice(("ssn", "ssn", "ein", "phone", "itin"))
        who = d.person() if which != "ein" else rng.choice(VENDORS)
        if which == "ssn":
            v = b.put("US_SSN", V.ssn(rng))
        elif which == "itin":
            v = b.put("US_ITIN", V.itin(rng))
        elif which == "ein":
            v = b.put("US_EIN", V.ein(rng))
        else:
            v = b.put("PHONE_NUMBER", V.phone(rng, "paren"))
        lines.append(f"{who}  {v}")
    text = "\n".join(lines + ["", close(d), d.sender])
    return assemble(d, "corrections", text)


def sc_phone_vs_account(d: Draft) -> bytes:
    """Ten phone-shaped digits: what the label says is what they are."""
    rng = d.rng
    b = d.part("body", "body")
    acct = V.phone_shaped_account(rng)
    ph = V.phone(rng, "plain")
    b.put("UTILITY_ACCOUNT", acct)
    b.put("PHONE_NUMBER", ph)
    lines = [greet(d), "",
             rng.choice((f"Account number {acct}", f"my account is {acct}", f"acct# {acct}")),
             rng.choice((f"Phone: {ph}", f"call me at {ph}", f"best number to reach me {ph}")),
             "", close(d), d.person()]
    return assemble(d, "account question", "\n".join(lines))


def sc_pasted_report(d: Draft) -> bytes:
    """A report pasted from the billing system into the body: columns aligned under a header line."""
    rng = d.rng
    b = d.part("body", "body")
    kind = rng.choice(("billing", "billing", "vendor", "payroll"))
    header, rows = {"billing": billing_table, "payroll": payroll_table, "vendor": vendor_table}[kind](
        d, b, rng.choice((15, 30, 60, 120)))
    keep = [0, 1, 2, 4, 5] if kind != "payroll" else [1, 2, 3, 4, 6]
    # the columns left out of the paste must not keep their labels or negatives
    dropped = {row[i] for row in rows for i in range(len(header)) if i not in keep}
    d.labels = [lab for lab in d.labels if not (lab.segment == "body" and lab.value in dropped)]
    d.negatives = [n for n in d.negatives if not (n.segment == "body" and n.value in dropped)]
    cols = [[header[i].upper()] + [r[i] for r in rows] for i in keep]
    widths = [max(len(x) for x in col) + 2 for col in cols]
    lines = ["".join(col[j].ljust(w) for col, w in zip(cols, widths)).rstrip() for j in range(len(rows) + 1)]
    lines.insert(1, "".join(("-" * (w - 2)).ljust(w) for w in widths).rstrip())
    text = (f"{greet(d)}\n\nPasting the report below since the attachment keeps bouncing.\n\n"
            + "\n".join(lines) + f"\n\n{close(d)}" + d.signature(b, "billing" if kind == "billing" else "purchasing"))
    return assemble(d, "report (pasted)", text)


# --- scenarios: nothing sensitive --------------------------------------------

def sc_meeting(d: Draft) -> bytes:
    rng = d.rng
    b = d.part("body", "body")
    if rng.random() < 0.5:
        if rng.random() < 0.5:
            mid = f"{rng.randint(810, 899)} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)}"
        else:  # the older ten-digit IDs, shaped like a phone number
            mid = f"{rng.randint(210, 989)} {rng.randint(200, 999)} {rng.randint(1000, 9999)}"
        pc = str(rng.randint(100000, 999999))
        dial = [V.phone(rng, "plus") for _ in range(rng.randint(2, 4))]
        lines = ["Join Zoom Meeting", f"https://{d.org.domain.split('.')[0]}.zoom.example/j/{mid.replace(' ', '')}",
                 "", f"Meeting ID: {b.neg('meeting ID', mid)}", f"Passcode: {b.neg('passcode', pc)}", "",
                 "Dial by your location"] + [f"        {b.put('PHONE_NUMBER', x)} US" for x in dial] + [
                 f"Meeting ID: {mid}", f"Passcode: {pc}"]
    else:
        cid = f"{rng.randint(100, 999)} {rng.randint(100, 999)} {rng.randint(100, 999)}"
        if rng.random() < 0.4:
            cid = cid.replace(" ", "")
        lines = ["Microsoft Teams meeting", "Join on your computer, mobile app or room device", "",
                 f"Meeting ID: {b.neg('meeting ID', f'{rng.randint(200, 299)} {rng.randint(100, 999)} {rng.randint(100, 999)} {rng.randint(100, 999)}')}",
                 f"Passcode: {b.neg('passcode', ''.join(rng.choice('ABCDEFGHJKabcdefgh23456789') for _ in range(6)))}",
                 "", "Or call in (audio only)",
                 f"{b.put('PHONE_NUMBER', V.phone(rng, 'plus'))} United States, Los Angeles",
                 f"Phone Conference ID: {b.neg('conference ID', cid + '#')}"]
    text = f"{greet(d)}\n\nInvite for the rate workshop on {d.date(b)} at 10:00.\n\n" + "\n".join(lines) + \
        d.signature(b, rng.choice(("it", "billing", "hr")), phones=1)
    return assemble(d, "Rate workshop invite", text)


def sc_purchasing_clean(d: Draft) -> bytes:
    rng = d.rng
    b = d.part("body", "body")
    lines = [greet(d), "",
             f"PO {b.neg('PO number', str(rng.randint(4500000000, 4509999999)))} was issued {d.date(b)}.",
             f"Invoice # {b.neg('invoice number', str(rng.randint(100000000, 999999999)))} for {d.amount(b)} is approved.",
             (f"Check No. {b.neg('check number', f'{rng.randint(1, 999999):06d}')} mailed; batch "
             f"{b.neg('batch number', f'{rng.randint(20250101, 20261231)}-{rng.randint(1, 9999):04d}')}."),
             f"Remit to {d.street()}, {d.org.city}, CA {d.zip4(b)}."]
    if rng.random() < 0.5:
        lines.append(f"Order #{b.neg('order number', f'{rng.randint(100, 999)}-{rng.randint(1000000, 9999999)}-{rng.randint(1000000, 9999999)}')}")
    text = "\n".join(lines + ["", close(d)]) + d.signature(b, "purchasing")
    return assemble(d, "PO and invoice status", text)


def sc_it(d: Draft) -> bytes:
    rng = d.rng
    b = d.part("body", "body")
    ver = f"10.0.{rng.randint(17000, 26000)}.{rng.randint(1000, 9999)}"
    ip1 = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    ip2 = f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    lines = [greet(d), "",
             (f"The billing server was patched to build {b.neg('version string', ver)} "
             f"(app v{b.neg('version string', f'{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(100, 999)}')})."),
             f"Hosts: {b.neg('IP address', ip1)} and {b.neg('IP address', ip2)}.",
             f"Ticket {b.neg('ticket number', str(rng.randint(100000, 9999999)))} closed on {d.date(b)}.",
             f"Change window: {d.date(b)} 22:00-02:00."]
    text = "\n".join(lines + ["", close(d)]) + d.signature(b, "it", phones=1)
    return assemble(d, "Patch complete", text)


def sc_shipping(d: Draft) -> bytes:
    rng = d.rng
    b = d.part("body", "body")
    ups = "1Z" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXY") for _ in range(6)) + \
        "".join(str(rng.randint(0, 9)) for _ in range(10))
    fedex = " ".join(f"{rng.randint(0, 9999):04d}" for _ in range(3))
    usps = "9400 " + " ".join(f"{rng.randint(0, 9999):04d}" for _ in range(4)) + f" {rng.randint(0, 99):02d}"
    lines = [greet(d), "",
             f"The meters shipped UPS, tracking {b.neg('tracking number', ups)}.",
             f"The backflow parts went FedEx {b.neg('tracking number', fedex)}.",
             f"USPS tracking: {b.neg('tracking number', usps)}",
             (f"Order number {b.neg('order number', rng.choice('17') + str(rng.randint(100000000000, 999999999999)))} "
             f"placed {d.date(b)}.")]
    text = "\n".join(lines + ["", close(d)]) + d.signature(b, "purchasing")
    return assemble(d, "shipping info", text)


def sc_training(d: Draft) -> bytes:
    rng = d.rng
    b = d.part("body", "body")
    lines = [greet(d), "",
             "Reminder for the new clerks: never type a real SSN into the test system.",
             f"Use a placeholder like {b.neg('placeholder SSN', '123-45-6789')} or {b.neg('placeholder SSN', '000-00-0000')}.",
             (f"The old wallet-card number {b.neg('SSA sample number', '078-05-1120')} is not valid either, and neither is "
             f"{b.neg('placeholder SSN', rng.choice(('111-11-1111', '999-99-9999', '219-09-9999')))}."),
             f"For card tests use the failing number {b.neg('card failing Luhn', V.bad_card(rng))}.",
             ""]
    text = "\n".join(lines + [close(d)]) + d.signature(b, "hr")
    return assemble(d, "Training reminder: test data", text)


def sc_bad_card(d: Draft) -> bytes:
    rng = d.rng
    b = d.part("body", "body")
    lines = [greet(d), "",
             (f"The number the caller read, {b.neg('card failing Luhn', V.bad_card(rng))}, was rejected as invalid, "
             "so no payment was taken. She will call back with the right card."),
             f"Reference {b.neg('confirmation number', str(rng.randint(10000000, 99999999)))}.", "", close(d)]
    return assemble(d, "declined payment", "\n".join(lines) + d.signature(b, "cs"))


def sc_clean_export(d: Draft) -> bytes:
    rng = d.rng
    fmt = rng.choice(("csv", "csv", "xlsx", "pdf", "docx"))
    fname = rng.choice(("work_orders", "street_sweeping", "budget_summary", "po_log")) + "." + fmt
    p = d.part(f"attachment:{fname}", fmt)
    header = ["WO #", "Date", "Location", "ZIP", "PO", "Invoice", "Amount", "Crew"]
    po_sap = rng.random() < 0.4
    rows = []
    for _ in range(rng.choice((20, 60, 150, 250)) if fmt in ("csv", "xlsx") else rng.randint(5, 25)):
        rows.append([
            p.neg("work order number", f"WO-{rng.randint(100000, 999999)}"),
            d.date(p), d.street(), d.zip4(p) if rng.random() < 0.4 else d.zip5(),
            p.neg("PO number", str(rng.randint(4500000000, 4509999999)) if po_sap
                  else f"PO{rng.randint(24, 26)}-{rng.randint(1000, 99999):05d}"),
            p.neg("invoice number", f"INV-{rng.randint(10000, 99999)}"),
            d.amount(p), rng.choice(("Crew 1", "Crew 2", "Contract")),
        ])
    title = [f"City of {d.org.city} - Work Orders"]
    if fmt == "csv":
        data, mt = docs.delimited(title, header, rows, delimiter=rng.choice((",", "\t", ";", "|"))), ("text", "csv")
    elif fmt == "xlsx":
        sheet: list[list[docs.Cell]] = [[title[0]], [], [*header]]
        sheet += [list(r) for r in rows]
        data = docs.xlsx([("Summary", [["Total", len(rows)]]), ("Detail", sheet)])
        mt = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    else:
        blocks: list[tuple[str, object]] = [("h", title[0]), ("table", [header] + rows)]
        if fmt == "pdf":
            data, mt = docs.pdf(blocks), ("application", "pdf")
        else:
            data = docs.docx(blocks)
            mt = ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")
    b = d.part("body", "body")
    text = f"{greet(d)}\n\nAttached is this week's report.\n\n{close(d)}" + d.signature(b, "purchasing")
    return assemble(d, "Weekly report", text, attachments=[(fname, mt[0], mt[1], data)])


def sc_plain_clean(d: Draft) -> bytes:
    rng = d.rng
    b = d.part("body", "body")
    body = rng.choice((
        "The council study session moved to Thursday. Agenda to follow.",
        "Street sweeping resumes Monday on the north side. Please update the website.",
        "Thanks for the quick turnaround on the rate study. Comments are in the shared folder.",
        "Reminder: the office is closed for the holiday. Payments can still be made online.",
        "Can we push our call to next week? Tuesday afternoon works for me.",
    ))
    extra = ""
    if rng.random() < 0.5:
        extra = f"\n\nThe tier change takes effect {d.date(b)}; the average bill goes up {d.amount(b)}."
    text = f"{greet(d)}\n\n{body}{extra}\n\n{close(d)}" + d.signature(b, rng.choice(tuple(TITLES)), phones=rng.randint(0, 3))
    return assemble(d, rng.choice(("Update", "Schedule", "quick question", "FYI")), text)


def sc_phone_only(d: Draft) -> bytes:
    """Phone-shaped numbers labelled as phones: not sensitive in the defaults."""
    rng = d.rng
    b = d.part("body", "body")
    ph = V.phone(rng, rng.choice(("plain", "dash", "paren")))
    text = (f"{greet(d)}\n\nPlease call me back at {b.put('PHONE_NUMBER', ph)} about the new service request, "
            f"or my cell, {b.put('PHONE_NUMBER', V.phone(rng, 'plain'))}.\n\n{close(d)}\n{d.person()}")
    return assemble(d, "call back", text)


# --- issue 16: driver's licences ---------------------------------------------
#
# California licences only (one letter, seven digits): DETECTION.md makes other
# states' formats configuration, so an out-of-state licence is grey (see
# README.md), never a label. A licence is labelled wherever a reader connects a
# licence label to it: "DL", "DL#", "CDL", "driver's license", "licencia de
# conducir" (and "licencia de manejo", the Mexican Spanish a reader knows), a
# licence column of a roster, the row label of a form.

BANKS = ("Wells Fargo", "Chase", "Bank of America", "Citizens Business Bank", "SchoolsFirst FCU",
         "Logix FCU", "Golden 1 Credit Union", "U.S. Bank", "Cathay Bank", "Farmers & Merchants Bank")
DL_COLUMNS = ("DL Number", "Driver License", "DL #", "Driver's License No.", "CDL Number", "CA DL",
              "Drivers Lic #", "DL/ID Number", "driver_license_no", "License No.")
OTHER_STATES: tuple[tuple[str, Callable[[random.Random], str]], ...] = (
    # (state, how a clerk writes that state's licence) - grey, never labelled
    ("AZ", lambda r: f"D{r.randint(10000000, 99999999)}"),
    ("NV", lambda r: f"{r.randint(1000000000, 9999999999)}"),
    ("TX", lambda r: f"{r.randint(10000000, 49999999)}"),
    ("OR", lambda r: f"{r.randint(1000000, 9999999)}"),
    ("FL", lambda r: f"S{r.randint(100, 999)}-{r.randint(100, 999)}-{r.randint(10, 99)}-{r.randint(100, 999)}-0"),
)


def licence(p: Part) -> str:
    return p.put("US_DRIVER_LICENSE", p.fresh(lambda: V.ca_license(p.draft.rng)))


def licence_shaped(rng: random.Random, letter: str | None = None) -> str:
    """Letter + seven digits that is not a licence (a permit, case, citation, part, ticket)."""
    return (letter or rng.choice("ABCDEFGKMPRSTW")) + f"{rng.randint(1000000, 9999999)}"


def dl_sentence(d: Draft, p: Part, who: str) -> str:
    rng = d.rng
    v = licence(p)
    exp = d.date()
    forms = (
        f"DL# {v}",
        f"Driver's license: {v}",
        f"driver license no. {v}, exp {exp}",
        f"CDL {v} (Class A, tanker endorsement)",
        f"{who}'s CA driver's license number is {v}.",
        f"Calif. DL {v}",
        f"Please run {who}'s DL ({v}) through the Employer Pull Notice program.",
        f"driver's lic. {v}",
        f"DL {v} exp {exp}",
        f"The driver's license number {who} gave at the counter was\n{v}",
        f"ID presented: CA driver license {v}",
        f"Claimant: {who}, DOB {d.date()}, DL {v}",
        f"Her CDL number is {v}; the medical card expires {exp}.",
        f"Driver License #: {v}",
        f"{who} (DL {v}) is cleared to drive the pool vehicles.",
        f"dl#{v}",
    )
    return pick(p, rng.choice(forms), (("date", exp),))


def sc_dl_roster(d: Draft) -> bytes:
    """A fleet/EPN driver roster: the licence column 100 rows up is the label."""
    rng = d.rng
    fmt = ("csv", "xlsx", "html", "zip", "docx", "csv", "pdf", "xlsx", "html", "zip")[d.ordinal % 10]
    col = DL_COLUMNS[(d.ordinal + rng.randint(0, 1)) % len(DL_COLUMNS)]
    header = ["Emp ID", "Name", "Dept", col, "Class", "DL Exp", "Phone"]
    permit = rng.random() < 0.5
    if permit:
        header.append(rng.choice(("Parking Permit", "Permit #", "Gate Card")))
    states = rng.random() < 0.3
    if states:
        header.insert(4, "DL State")
    if fmt in ("csv", "xlsx", "zip"):
        n = rng.choice((12, 25, 40, 60, 90))
        fname = rng.choice(("epn_roster", "fleet_drivers", "driver_list", "cdl_drivers")) + ".csv"
    elif fmt == "html":
        n = rng.randint(6, 20)
        fname = "roster.html"
    else:
        n = rng.randint(5, 15)
        fname = "driver_roster." + fmt
    if fmt == "xlsx":
        fname = fname[:-4] + ".xlsx"
    if fmt == "html" and rng.random() < 0.5:
        seg, kind = "body", "html-table"
    elif fmt == "zip":
        zname = "roster.zip"
        seg, kind = f"attachment:{zname}/{fname}", "zip-member"
    else:
        seg, kind = f"attachment:{fname}", {"csv": "csv", "xlsx": "xlsx", "html": "html-table"}.get(fmt, fmt)
    p = d.part(seg, kind)
    rows: list[list[str]] = []
    for _ in range(n):
        state = "CA"
        if states and rng.random() < 0.08:  # licensed in another state: configuration, not the default - grey
            state, make = rng.choice(OTHER_STATES)
            dl = p.grey(f"{state} licence", p.fresh(functools.partial(make, rng)))
        else:
            dl = licence(p)
        row = [p.fresh(lambda: str(rng.randint(10000, 99999))), f"{rng.choice(LAST)}, {rng.choice(FIRST)}",
               rng.choice(("Public Works", "Water", "Parks", "Fleet", "Streets", "Utilities")),
               dl, rng.choice(("A", "B", "C", "C", "C")), d.date(p),
               p.put("PHONE_NUMBER", V.phone(rng, rng.choice(("dash", "paren"))))]
        if states:
            row.insert(4, state)
        if permit:
            row.append(p.neg("permit number (licence-shaped)", p.fresh(lambda: licence_shaped(rng, "P"))))
        rows.append(row)
    title = [f"City of {d.org.city} - {rng.choice(('DMV Employer Pull Notice roster', 'Fleet drivers', 'Authorized drivers'))}"]
    attachments: list[Attachment] = []
    html = None
    if fmt in ("csv", "zip"):
        data = docs.delimited(title, header, rows, delimiter=rng.choice((",", ",", "\t", ";")))
        if fmt == "zip":
            attachments.append((zname, "application", "zip", docs.zipped([(fname, data)])))
        else:
            attachments.append((fname, "text", "csv", data))
    elif fmt == "xlsx":
        sheet: list[list[docs.Cell]] = [[title[0]], [], [*header]]
        sheet += [list(r) for r in rows]
        attachments.append((fname, "application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                            docs.xlsx([("Summary", [["Drivers", n]]), ("Roster", sheet)])))
    elif fmt == "html":
        tag = "th" if rng.random() < 0.6 else "td"
        trs = [f"<tr>{''.join(f'<{tag}>{h}</{tag}>' for h in header)}</tr>"]
        trs += [f"<tr>{''.join(f'<td>{c}</td>' for c in r)}</tr>" for r in rows]
        html = f"<html><body><h3>{title[0]}</h3><table border=1>{''.join(trs)}</table></body></html>"
        if seg != "body":
            attachments.append((fname, "text", "html", html.encode()))
            html = None
    else:
        blocks: list[tuple[str, object]] = [("h", title[0]), ("table", [header] + rows)]
        data = docs.docx(blocks) if fmt == "docx" else docs.pdf(blocks)
        mt = "vnd.openxmlformats-officedocument.wordprocessingml.document" if fmt == "docx" else "pdf"
        attachments.append((fname, "application", mt, data))
    b = d.part("body", "body")
    if html is not None:
        return assemble(d, "Driver roster for EPN renewal", None, html=html)
    text = f"{greet(d)}\n\n" + rng.choice((
        "Attached is the updated driver roster for the EPN renewal.",
        "Here are the drivers authorized for city vehicles this quarter.",
        "Roster for the insurance carrier attached, please check the licence columns.")) + \
        f"\n\n{close(d)}" + d.signature(b, "hr")
    return assemble(d, rng.choice(("Driver roster", "EPN roster", "fleet drivers list")), text, attachments=attachments)


def sc_dl_prose(d: Draft) -> bytes:
    """HR, risk management and fleet mail naming licences in sentences."""
    rng = d.rng
    b = d.part("body", "body")
    who = d.person()
    topic = rng.choice((
        f"Following up on the vehicle use authorization for {who}.",
        f"Claim for the damage at the {rng.choice(STREETS)} yard: the other driver's details below.",
        f"New hire {who} starts Monday in Streets; he needs a CDL check.",
        "Facility rental deposit for the community center - renter's ID below.",
        f"Business license application from {rng.choice(VENDORS)}, owner's info below.",
    ))
    lines = [greet(d), "", topic]
    for _ in range(rng.randint(1, 3)):
        lines.append(dl_sentence(d, b, d.person() if rng.random() < 0.5 else who))
    if rng.random() < 0.3:  # a licence plate is not a licence number
        plate = f"{rng.randint(5, 9)}{''.join(rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ') for _ in range(3))}{rng.randint(100, 999)}"
        lines.append(f"Vehicle: {rng.choice(('Ford F-150', 'Toyota Camry', 'Honda Civic'))}, license plate {b.neg('licence plate', plate)}.")
    if rng.random() < 0.3:
        lines.append(f"Case No. {b.neg('case number (licence-shaped)', b.fresh(lambda: licence_shaped(rng, 'C')))} in the risk file.")
    if rng.random() < 0.15:  # an out-of-state licence: configuration, not the default - grey
        st, make = rng.choice(OTHER_STATES)
        lines.append(f"The second driver has an {st} driver's license, {b.grey(f'{st} licence', b.fresh(lambda: make(rng)))}.")
    subj = rng.choice(("vehicle use authorization", "claim - other driver", "CDL check", "rental ID", "license check"))
    if rng.random() < 0.45:
        sp = d.part("subject", "subject")
        v = licence(sp)
        subj = rng.choice((f"DL {v} - EPN enrollment", f"Driver license {v} renewal", f"CDL# {v} medical card",
                           f"RE: driver's license {v}"))
    text = "\n".join(lines + ["", close(d)]) + d.signature(b, rng.choice(("hr", "hr", "cs")))
    return assemble(d, subj, text)


def dl_form_blocks(d: Draft, p: Part) -> list[tuple[str, object]]:
    rng = d.rng
    form = rng.choice(("Vehicle Use Authorization", "Facility Use Application", "Employment Application - Driver",
                       "Ride-Along Waiver", "Business License Application"))
    name = d.person()
    label = rng.choice(("Driver's License No.", "CA Driver License #", "DL/ID Number", "Driver License Number",
                        "CDL No.", "DL #", "Driver's License"))
    rows: list[list[str]] = [["Name", name], ["Address", f"{d.street()}, {d.org.city}, CA {d.zip4(p)}"],
                             ["Phone", p.put("PHONE_NUMBER", V.phone(rng))], [label, licence(p)],
                             ["State", "CA"], ["Expiration", d.date(p)]]
    if rng.random() < 0.4:
        rows.append(["Second driver / co-applicant DL", licence(p)])
    if rng.random() < 0.4:
        rows.append([rng.choice(("Permit No.", "Application #")),
                     p.neg("permit number (licence-shaped)", p.fresh(lambda: licence_shaped(rng)))])
    return [("h", f"City of {d.org.city} - {form}"), ("p", f"Received {d.date(p)}."), ("table", rows),
            ("p", "I certify that the information above is true and correct.")]


def sc_dl_form(d: Draft) -> bytes:
    rng = d.rng
    fmt = rng.choice(("docx", "pdf"))
    fname = rng.choice(("application", "vehicle_use_form", "signed_form")) + "." + fmt
    p = d.part(f"attachment:{fname}", fmt)
    blocks = dl_form_blocks(d, p)
    data = docs.docx(blocks) if fmt == "docx" else docs.pdf(blocks)
    mt = "vnd.openxmlformats-officedocument.wordprocessingml.document" if fmt == "docx" else "pdf"
    b = d.part("body", "body")
    text = f"{greet(d)}\n\nThe signed form is attached for processing.\n\n{close(d)}" + d.signature(b, "hr")
    subj = rng.choice(("signed form", "application attached", "form for processing"))
    if rng.random() < 0.3:
        sp = d.part("subject", "subject")
        subj = f"{subj} - DL# {licence(sp)}"
    return assemble(d, subj, text,
                    attachments=[(fname, "application", mt, data)])


def sc_dl_reply(d: Draft) -> bytes:
    """A resident's message quoted in the reply or forwarded as an attachment, licence inside."""
    rng = d.rng
    attach = d.ordinal % 2 == 1
    seg = "attachment:original.eml/body" if attach else "body"
    p = d.part(seg, "attached-message" if attach else "body")
    cust = d.person()
    v = licence(p)
    cit = p.neg("citation number", p.fresh(lambda: licence_shaped(rng, rng.choice("EPT"))))
    olines = [greet(d), "", rng.choice((
        f"I am appealing citation {cit}. I was not the driver; my driver license number is\n{v} and I was at work.",
        f"For the parking permit application, my driver's license is {v}.",
        f"I lost my library card. My DL number is {v} if you need to look me up.",
        f"Re citation # {cit}: my licence is a CA DL, {v}.",
        f"You asked for ID for the rental: CDL {v}.")), "", f"Thanks, {cust}"]
    if cit not in "\n".join(olines):
        d.negatives = [n for n in d.negatives if n.value != cit]
    olines.append(f"cell {p.put('PHONE_NUMBER', V.phone(rng))}")
    otext = "\n".join(olines)
    b = d.part("body", "body")
    if attach:
        inner = inner_message(d, "Request", otext, f"{cust} <{cust.split()[0].lower()}@{rng.choice(EXTERNAL)}>",
                              f"clerk@{d.org.domain}")
        text = f"{greet(d)}\n\nForwarding the resident's request (attached).\n\n{close(d)}" + d.signature(b, "cs")
        return assemble(d, "FW: resident request", text, messages=[("original.eml", inner)])
    quoted = "\n".join("> " + line if line else ">" for line in otext.splitlines())
    d.requote("body", "> ")
    text = (f"{greet(d)}\n\nWe received your request and passed it to the hearing officer.\n\n{close(d)}"
            f"{d.signature(b, 'cs')}\n\nOn {d.date()} {cust} wrote:\n{quoted}")
    return assemble(d, "RE: my request", text)


def sc_dl_spanish(d: Draft) -> bytes:
    rng = d.rng
    b = d.part("body", "body")
    lines = [rng.choice(("Hola,", "Buenas tardes,", "Estimada señora:")), ""]
    for _ in range(rng.randint(1, 2)):
        v = licence(b)
        lines.append(rng.choice((f"Mi licencia de conducir es {v}.", f"Número de licencia de conducir: {v}",
                                 f"licencia de manejo {v}",
                                 f"Le mando el número de mi licencia de conducir, {v}, para el permiso de estacionamiento.")))
    lines.append(f"Mi teléfono es {b.put('PHONE_NUMBER', V.phone(rng))}.")
    text = "\n".join(lines + ["", "Gracias,", d.person()])
    reply = f"Buenos días,\n\nRecibimos su solicitud.\n{d.signature(b, 'cs')}\n\n" + \
        "\n".join("> " + line for line in text.splitlines())
    return assemble(d, "RE: permiso de estacionamiento", reply)


def sc_dl_negatives(d: Draft) -> bytes:
    """Licence-shaped strings and the word DL where no licence is meant: nothing sensitive."""
    rng = d.rng
    b = d.part("body", "body")
    lines = [greet(d), ""]
    pool = ["dl", "dl", "part", "case", "permit", "citation", "sample", "plate", "ticket"]
    chosen = rng.sample(pool, k=rng.randint(2, 4))
    subj = {"dl": "distribution list", "part": "back-order", "case": "case status", "permit": "permits",
            "citation": "citation appeal", "sample": "training data", "plate": "tow report",
            "ticket": "service desk"}[chosen[0]]
    for what in chosen:
        if what == "dl":
            t = b.neg("ticket number (licence-shaped)", b.fresh(lambda: licence_shaped(rng, rng.choice("TW"))))
            lines.append(rng.choice((
                f"Please add {d.person()} to the Billing DL (ticket {t}).",
                f"I sent it to the Finance-All DL; the request is {t}.",
                f"DL for the council packet: Council-Agenda. Work order {t} covers the mailbox.",
                f"Can you remove me from the PW DL? Ref {t}.")))
        elif what == "part":
            lines.append(f"Part # {b.neg('part number (licence-shaped)', b.fresh(lambda: licence_shaped(rng, 'K')))} "
                         "(meter register) is back-ordered.")
        elif what == "case":
            lines.append(f"Code enforcement case {b.neg('case number (licence-shaped)', b.fresh(lambda: licence_shaped(rng, 'C')))} "
                         f"was closed {d.date(b)}.")
        elif what == "permit":
            lines.append(f"{rng.choice(('Encroachment', 'Building', 'Oversize load'))} permit "
                         f"{b.neg('permit number (licence-shaped)', b.fresh(lambda: licence_shaped(rng, rng.choice('BEP'))))} "
                         "was issued to the contractor.")
        elif what == "citation":
            lines.append(f"Citation No. {b.neg('citation number', b.fresh(lambda: licence_shaped(rng, 'P')))} "
                         "was issued to the driver of the vehicle; the owner may appeal.")
        elif what == "sample":
            s1 = b.neg("sample licence number", rng.choice(("I1234568", "A1234567")))
            s2 = b.neg("sample licence number", rng.choice(("X0000000", "A0000000", "Z9999999")))
            lines.append(f"For the training file use the DMV sample driver's license {s1} or a placeholder DL "
                         f"like {s2}, never a real number.")
        elif what == "plate":
            plate = f"{rng.randint(5, 9)}{''.join(rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ') for _ in range(3))}{rng.randint(100, 999)}"
            lines.append(f"The driver's vehicle, license plate {b.neg('licence plate', plate)}, was towed.")
        else:
            lines.append(f"Service desk ticket {b.neg('ticket number (licence-shaped)', b.fresh(lambda: licence_shaped(rng, 'T')))} "
                         "resolved.")
    if rng.random() < 0.25:  # out-of-state: configuration, not the default - grey
        st, make = rng.choice(OTHER_STATES)
        lines.append(f"The applicant moved from {st}; {st} driver license {b.grey(f'{st} licence', b.fresh(lambda: make(rng)))}.")
    text = "\n".join(lines + ["", close(d)]) + d.signature(b, rng.choice(("it", "hr", "cs")))
    if chosen[0] == "dl" and rng.random() < 0.5:
        subj = "DL membership"  # DL the distribution list, in the subject too
    return assemble(d, subj, text)


# --- issue 16: bank accounts ---------------------------------------------------
#
# A bank account is labelled when a reader connects a bank label to it: account
# or acct together with routing/ABA/checking/savings/direct deposit/ACH/bank, a
# bank account column beside a routing column, the row label of an ACH form,
# "cuenta bancaria". A utility label makes the same digits a UTILITY_ACCOUNT.

def bank_acct(p: Part, style: str | None = None) -> str:
    rng = p.draft.rng
    d = p.fresh(lambda: V.bank_account_any(rng))
    style = style or rng.choice(("plain", "plain", "plain", "plain", "dash", "space"))
    return p.put("US_BANK_ACCOUNT", V.fmt_bank_account(d, style))


def rtn(p: Part, style: str | None = None) -> str:
    rng = p.draft.rng
    style = style or rng.choice(("plain", "plain", "plain", "dash"))
    return p.put("US_BANK_ROUTING", p.fresh(lambda: V.routing(rng, style)))


def bank_sentence(d: Draft, p: Part, index: int) -> str:
    rng = d.rng
    bank = rng.choice(BANKS)
    forms = [
        lambda: f"checking account {bank_acct(p)} at routing {rtn(p)}",
        lambda: f"Please deposit my refund to my savings account {bank_acct(p)}, routing number {rtn(p)}.",
        lambda: f"Wire instructions: ABA {rtn(p)}, Acct {bank_acct(p)}, beneficiary {rng.choice(VENDORS)}.",
        lambda: f"Direct deposit: acct {bank_acct(p)} / RTN {rtn(p)}",
        lambda: f"Bank account number: {bank_acct(p)}",
        lambda: f"ACH info -\nRouting: {rtn(p)}\nAccount: {bank_acct(p)}\nType: Checking",
        lambda: f"My bank is {bank}, account {bank_acct(p)}, routing {rtn(p)}.",
        lambda: f"Routing {rtn(p)} and account {bank_acct(p)} are from the voided check.",
        lambda: f"Please send the ACH to acct# {bank_acct(p)} ({bank}).",
        lambda: f"her direct deposit account is {bank_acct(p)}",
        lambda: f"Savings acct {bank_acct(p)}, {bank}.",
        lambda: f"ABA routing {rtn(p)} / checking {bank_acct(p)}",
    ]
    return forms[index % len(forms)]()


def sc_bank_prose(d: Draft) -> bytes:
    """Payroll, AP and customer refunds in sentences, Spanish, subjects, quoted and forwarded."""
    rng = d.rng
    how = ("plain", "quoted", "attached", "spanish", "plain")[d.ordinal % 5]
    if how == "attached":
        p = d.part("attachment:request.eml/body", "attached-message")
    else:
        p = d.part("body", "body")
    olines = [greet(d), ""]
    start = rng.randint(0, 11)
    for i in range(rng.randint(1, 3)):
        if how == "spanish":
            forms = (lambda: f"Mi cuenta bancaria es {bank_acct(p)}.",
                     lambda: f"mi cuenta de cheques es {bank_acct(p)} y el número de ruta {rtn(p)}",
                     lambda: f"cuenta de ahorros {bank_acct(p)}, ruta {rtn(p)}",
                     lambda: f"Depósito directo a la cuenta bancaria {bank_acct(p)}, número de ruta {rtn(p)}.")
            olines.append(forms[(start + i) % len(forms)]())
        else:
            olines.append(bank_sentence(d, p, start + i * 5))
    if rng.random() < 0.3:
        olines.append(f"Employee ID {p.neg('employee ID', p.fresh(lambda: str(rng.randint(10000, 99999))))} - "
                      "effective next pay period.")
    olines += ["", d.person()]
    otext = "\n".join(olines)
    b = d.part("body", "body")
    subj = rng.choice(("direct deposit change", "refund", "ACH info", "banking update"))
    if rng.random() < 0.35:
        sp = d.part("subject", "subject")
        subj = rng.choice((lambda: f"Direct deposit change - acct {bank_acct(sp, 'plain')}",
                           lambda: f"ACH update: routing {rtn(sp)} account {bank_acct(sp, 'plain')}",
                           lambda: f"new checking account {bank_acct(sp, 'plain')}"))()
    if how == "attached":
        inner = inner_message(d, "banking", otext, f"{d.person()} <x@{rng.choice(EXTERNAL)}>", f"payroll@{d.org.domain}")
        text = f"{greet(d)}\n\nForwarding (attached).\n\n{close(d)}" + d.signature(b, "payroll")
        return assemble(d, "FW: " + subj, text, messages=[("request.eml", inner)])
    if how in ("quoted", "spanish"):
        quoted = "\n".join("> " + line if line else ">" for line in otext.splitlines())
        d.requote("body", "> ")
        text = f"{greet(d)}\n\nReceived, we will update it.\n\n{close(d)}{d.signature(b, 'payroll')}\n\n" \
               f"On {d.date()} {d.person()} wrote:\n{quoted}"
        return assemble(d, "RE: " + subj, text)
    text = otext + "\n" + d.signature(b, rng.choice(("payroll", "purchasing", "cs")))
    return assemble(d, subj, text)


def dd_form_rows(d: Draft, p: Part) -> list[list[str]]:
    """An employee's direct-deposit enrollment: a primary and often a second account."""
    rng = d.rng
    rows = [["Employee Name", d.person()],
            ["Employee ID", p.neg("employee ID", p.fresh(lambda: str(rng.randint(10000, 99999))))],
            ["Home Phone", p.put("PHONE_NUMBER", V.phone(rng))],
            ["Financial Institution", rng.choice(BANKS)],
            [rng.choice(("Routing Number (9 digits)", "ABA/Routing #", "Bank Routing No.")), rtn(p, "plain")],
            [rng.choice(("Account Number", "Checking Account Number", "Acct No.")), bank_acct(p)],
            ["Account Type", rng.choice(("Checking", "Savings"))]]
    if rng.random() < 0.6:
        rows += [["Second account - Routing", rtn(p, "plain")],
                 [rng.choice(("Second account - Account No.", "Savings Account Number")), bank_acct(p)],
                 ["Amount to second account", d.amount(p)]]
    return rows


def ach_form_rows(d: Draft, p: Part) -> list[list[str]]:
    rng = d.rng
    if rng.random() < 0.4:
        return dd_form_rows(d, p)
    acct_label = rng.choice(("Bank Account Number", "Account Number", "Account No.", "Checking Account #",
                             "DFI Account Number", "Acct #"))
    rows = [["Vendor Name", rng.choice(VENDORS)],
            ["Federal Tax ID (EIN)", p.put("US_EIN", V.ein(rng))],
            ["Remit Address", f"{d.street()}, {rng.choice(('Palmdale', 'Ontario', 'Whittier'))}, CA {d.zip4(p)}"],
            ["Contact Phone", p.put("PHONE_NUMBER", V.phone(rng))],
            ["Bank Name", rng.choice(BANKS)],
            [rng.choice(("Bank Routing/ABA Number", "Routing Number", "ABA #", "Transit Routing No.")), rtn(p)],
            [acct_label, bank_acct(p)],
            ["Account Type", rng.choice(("Checking", "Savings", "Business Checking"))]]
    if rng.random() < 0.3:  # "re-enter account number": the same value again
        rows.insert(7, ["Re-enter Account Number", rows[6][1]])
    if rng.random() < 0.4:
        rows.append(["Invoice / PO reference", p.neg("PO number", str(rng.randint(4500000000, 4509999999)))])
    return rows


def sc_ach_form(d: Draft) -> bytes:
    """The vendor's ACH/EFT authorization form: row labels and a routing row above the account."""
    rng = d.rng
    fmt = ("docx", "pdf", "html")[d.ordinal % 3]
    if fmt == "html":
        p = d.part("body", "html-table")
        rows = ach_form_rows(d, p)
        html = ("<html><body><p>A vendor submitted banking details through the supplier portal:</p><table>"
                + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows) + "</table></body></html>")
        return assemble(d, "Supplier portal: new ACH enrollment", None, html=html)
    fname = rng.choice(("ACH_authorization", "EFT_form", "vendor_direct_deposit")) + "." + fmt
    p = d.part(f"attachment:{fname}", fmt)
    rows = ach_form_rows(d, p)
    heading = "Direct Deposit Enrollment" if rows[0][0] == "Employee Name" else "Vendor ACH/EFT Payment Authorization"
    blocks: list[tuple[str, object]] = [("h", heading), ("table", rows),
                                        ("p", "Attach a voided check. Changes take effect after verification.")]
    data = docs.docx(blocks) if fmt == "docx" else docs.pdf(blocks)
    mt = "vnd.openxmlformats-officedocument.wordprocessingml.document" if fmt == "docx" else "pdf"
    b = d.part("body", "body")
    text = f"{greet(d)}\n\nAttached is the vendor's ACH form for setup.\n\n{close(d)}" + d.signature(b, "purchasing")
    return assemble(d, rng.choice(("ACH form", "vendor EFT setup", "banking form")), text,
                    attachments=[(fname, "application", mt, data)])


def sc_dd_register(d: Draft) -> bytes:
    """A payroll direct-deposit register: account column beside the routing column, split deposits."""
    rng = d.rng
    fmt = ("csv", "xlsx", "zip", "html")[d.ordinal % 4]
    rt_h, ac_h = rng.choice((("Routing Number", "Account Number"), ("Transit/ABA", "Acct No."), ("RTN", "DFI Account"),
                             ("DFI Routing", "Deposit Account"), ("Bank Routing", "Employee Acct #"), ("ABA", "Acct")))
    split = rng.random() < 0.4
    header = ["Emp ID", "Employee", rt_h, ac_h, "Type", "Amount"]
    if split:
        header += ["Routing 2", "Account 2", "Amount 2"]
    header.append("Check #")
    if fmt == "html":
        seg, kind, n = "body", "html-table", rng.randint(6, 18)
    elif fmt == "zip":
        seg, kind, n = "attachment:payroll.zip/dd_register.csv", "zip-member", rng.choice((20, 40, 70))
    else:
        ext = "csv" if fmt == "csv" else "xlsx"
        seg, kind, n = f"attachment:dd_register.{ext}", fmt, rng.choice((20, 40, 70, 110))
    p = d.part(seg, kind)

    def amt() -> str:
        return p.neg("amount", p.fresh(lambda: f"{rng.randint(20000, 650000) / 100:.2f}"))

    rows = []
    for _ in range(n):
        row = [p.fresh(lambda: str(rng.randint(10000, 99999))), f"{rng.choice(LAST)}, {rng.choice(FIRST)}",
               rtn(p, "plain"), bank_acct(p, "plain"), rng.choice(("Checking", "Savings", "C", "S", "22", "32")), amt()]
        if split:
            if rng.random() < 0.4:
                row += [rtn(p, "plain"), bank_acct(p, "plain"), amt()]
            else:
                row += ["", "", ""]
        # the check number of a paper check or of the deposit advice: a hard negative
        row.append(p.neg("check number", p.fresh(lambda: str(rng.randint(100000, 999999)))) if rng.random() < 0.15 else "")
        rows.append(row)
    title = [f"City of {d.org.city} - Direct Deposit Register", f"Pay date {d.date()}"]
    b = d.part("body", "body")
    if fmt == "html":
        trs = [f"<tr>{''.join(f'<th>{h}</th>' for h in header)}</tr>"]
        trs += [f"<tr>{''.join(f'<td>{c}</td>' for c in r)}</tr>" for r in rows]
        return assemble(d, "DD register (preview)", None,
                        html=f"<html><body><h3>{title[0]}</h3><table>{''.join(trs)}</table></body></html>")
    if fmt == "xlsx":
        sheet: list[list[docs.Cell]] = [[title[0]], [title[1]], [], [*header]]
        sheet += [list(r) for r in rows]
        att = ("dd_register.xlsx", "application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               docs.xlsx([("Totals", [["Employees", n]]), ("Register", sheet)]))
    else:
        data = docs.delimited(title, header, rows, delimiter=rng.choice((",", "\t")))
        att = ("payroll.zip", "application", "zip", docs.zipped([("dd_register.csv", data)])) if fmt == "zip" \
            else ("dd_register.csv", "text", "csv", data)
    text = f"{greet(d)}\n\nDirect deposit register for this pay date attached.\n\n{close(d)}" + d.signature(b, "payroll")
    return assemble(d, "DD register", text, attachments=[att])


def sc_autopay(d: Draft) -> bytes:
    """Utility accounts beside routing and bank accounts: the label decides which is which."""
    rng = d.rng
    if rng.random() < 0.5:
        fname = "autopay_enrollments.csv"
        p = d.part(f"attachment:{fname}", "csv")
        ua_h = rng.choice(("Utility Account", "Customer Account", "Service Acct", "CIS Account"))
        header = [ua_h, "Customer", "Bank Routing", "Bank Account", "Acct Type", "Start"]
        rows = []
        for _ in range(rng.choice((15, 30, 60))):
            ua = p.put("UTILITY_ACCOUNT", p.fresh(lambda: d.utility_account("plain" if d.org.accounts == "sce" else None)))
            rows.append([ua, f"{rng.choice(LAST).upper()}, {rng.choice(FIRST).upper()}", rtn(p, "plain"), bank_acct(p, "plain"),
                         rng.choice(("CHK", "SAV")), d.date(p)])
        data = docs.delimited([f"{d.org.utility} - AutoPay enrollments"], header, rows)
        b = d.part("body", "body")
        text = f"{greet(d)}\n\nNew AutoPay enrollments for the bank file.\n\n{close(d)}" + d.signature(b, "billing")
        return assemble(d, "AutoPay enrollments", text, attachments=[(fname, "text", "csv", data)])
    b = d.part("body", "body")
    ua = b.put("UTILITY_ACCOUNT", b.fresh(lambda: d.utility_account()))
    lines = [greet(d), ""]
    choice = rng.randint(0, 3)
    if choice == 0:
        lines.append(f"AutoPay is set up for utility account {ua}: bank routing {rtn(b)}, checking account {bank_acct(b)}.")
    elif choice == 1:
        lines.append(f"Customer account {ua} - the ACH payment was returned (R01). Routing on file {rtn(b)}.")
    elif choice == 2:
        last4 = b.neg("account last four", b.fresh(lambda: f"{rng.randint(1000, 9999)}"))
        lines.append(f"{d.org.short} account number {ua} will be drafted from the checking account ending in {last4}.")
    else:
        lines.append(f"Service for account {ua} is paid by AutoPay; the bank account on file is {bank_acct(b)} "
                     f"at ABA {rtn(b)}.")
    text = "\n".join(lines + ["", close(d)]) + d.signature(b, "billing")
    return assemble(d, "AutoPay", text)


def sc_bank_negatives(d: Draft) -> bytes:
    """Numbers beside bank words that are not bank accounts, and MICR lines (grey)."""
    rng = d.rng
    b = d.part("body", "body")
    lines = [greet(d), ""]
    pool = ["last4", "last4", "check", "gl", "invoice", "trace", "po", "micr", "unlabelled"]
    for what in rng.sample(pool, k=rng.randint(3, 5)):
        if what == "last4":
            l4 = b.neg("account last four", b.fresh(lambda: f"{rng.randint(1000, 9999)}"))
            lines.append(rng.choice((f"The refund went to the checking account ending in {l4}.",
                                     f"Direct deposit to acct ****{l4} confirmed.",
                                     f"Savings account x{l4} (last four only, per policy).",
                                     f"the bank account ending {l4} was closed, please send a paper check")))
        elif what == "check":
            c = b.neg("check number", b.fresh(lambda: f"{rng.randint(1, 999999):06d}" if rng.random() < 0.5
                                                  else str(rng.randint(1000, 99999))))
            date = d.date()
            lines.append(pick(b, rng.choice((f"Check #{c} cleared the bank on {date}.",
                                              f"Check no. {c} drawn on our operating account was voided.",
                                              f"Please stop payment on check number {c}.")), (("date", date),)))
        elif what == "gl":
            gl = b.fresh(lambda: f"{rng.randint(100, 999)}-{rng.randint(1000, 1099)}")
            gl2 = b.fresh(lambda: str(rng.randint(1010, 1099)))
            lines.append(pick(b, rng.choice((f"Post it to GL account {gl} (Cash in Bank).",
                                              f"Fund 601 account {gl2} - Bank of America operating - is short for the month.",
                                              f"Reclass from account {gl2} (cash with fiscal agent, US Bank) to {gl}.")),
                              (("GL account", gl), ("GL account", gl2))))
        elif what == "invoice":
            lines.append(f"{rng.choice(BANKS)} invoice {b.neg('invoice number', b.fresh(lambda: str(rng.randint(10000000, 99999999))))} "
                         "for the analysis fees is approved.")
        elif what == "trace":
            tr = b.neg("ACH trace number", b.fresh(lambda: V.routing(rng)[:8] + f"{rng.randint(1, 9999999):07d}"))
            lines.append(f"ACH trace number {tr} for the vendor payment of {d.amount(b)}.")
        elif what == "po":
            lines.append(f"PO {b.neg('PO number', b.fresh(lambda: str(rng.randint(4500000000, 4509999999))))} "
                         "covers the bank reconciliation software renewal.")
        elif what == "micr":
            # the line printed at the bottom of a check: routing, account, serial without their labels - grey
            r = b.grey("routing in a MICR line", b.fresh(lambda: V.routing(rng)))
            a = b.grey("account in a MICR line", b.fresh(lambda: V.bank_account(rng)))
            sn = b.neg("check number", b.fresh(lambda: str(rng.randint(1000, 9999))))
            lines.append(rng.choice((f"The bottom line of the returned item reads: ⑆{r}⑆ {a}⑈ {sn}",
                                     f"MICR: {r} {a} {sn}")))
        else:
            # "account" with no bank or utility label: a reader cannot tell - grey
            acct = b.grey("account of unknown kind", b.fresh(lambda: V.bank_account(rng)))
            lines.append(f"Please reference account {acct} in the memo line.")
    text = "\n".join(lines + ["", close(d)]) + d.signature(b, rng.choice(("purchasing", "payroll")))
    return assemble(d, rng.choice(("bank rec", "check status", "returned item", "cash posting")), text)


Scenario = Callable[[Draft], bytes]

SCENARIOS: tuple[tuple[str, Scenario, int], ...] = (
    # carrying sensitive data
    ("csv-export", sc_csv_export, 36),
    ("zip-export", sc_zip_export, 16),
    ("xlsx", sc_xlsx, 24),
    ("form", sc_form, 36),
    ("html-statement", sc_html_statement, 30),
    ("customer-service", sc_customer_service, 34),
    ("sce", sc_sce, 16),
    ("hr", sc_hr, 22),
    ("purchasing", sc_purchasing, 22),
    ("cards", sc_cards, 14),
    ("spanish", sc_spanish, 18),
    ("forward", sc_forward, 24),
    ("unlabelled", sc_unlabelled, 10),
    ("phone-vs-account", sc_phone_vs_account, 8),
    ("pasted-report", sc_pasted_report, 10),
    # nothing sensitive: hard negatives, phones, clean mail
    ("meeting", sc_meeting, 30),
    ("purchasing-clean", sc_purchasing_clean, 26),
    ("it", sc_it, 16),
    ("shipping", sc_shipping, 16),
    ("training", sc_training, 10),
    ("bad-card", sc_bad_card, 8),
    ("clean-export", sc_clean_export, 26),
    ("plain-clean", sc_plain_clean, 30),
    ("phone-only", sc_phone_only, 12),
)

SCENARIOS_16: tuple[tuple[str, Scenario, int], ...] = (
    # issue 16, appended after the scenarios above so that their messages stay byte-for-byte the same
    ("dl-roster", sc_dl_roster, 16),
    ("dl-prose", sc_dl_prose, 24),
    ("dl-form", sc_dl_form, 12),
    ("dl-reply", sc_dl_reply, 20),
    ("dl-spanish", sc_dl_spanish, 8),
    ("dl-negatives", sc_dl_negatives, 20),
    ("ach-form", sc_ach_form, 36),
    ("dd-register", sc_dd_register, 12),
    ("bank-prose", sc_bank_prose, 26),
    ("autopay", sc_autopay, 18),
    ("bank-negatives", sc_bank_negatives, 24),
)


def generate(seed: int = SEED, count: int | None = None) -> list[Case]:
    """The corpus, in memory. ``count`` keeps only the first N messages (for quick tests)."""
    plan = [(name, fn) for name, fn, n in SCENARIOS for _ in range(n)]
    random.Random(seed).shuffle(plan)
    plan16 = [(name, fn) for name, fn, n in SCENARIOS_16 for _ in range(n)]
    random.Random(seed + 16).shuffle(plan16)
    plan += plan16
    if count is not None:
        plan = plan[:count]
    cases = []
    ordinals: dict[str, int] = {}
    for i, (name, fn) in enumerate(plan):
        d = Draft(random.Random(seed * 7919 + i), i, name)
        d.ordinal = ordinals[name] = ordinals.get(name, -1) + 1
        raw = fn(d)
        cases.append(Case(f"{i:04d}-{name}.eml", name, raw, tuple(d.labels), tuple(d.negatives), tuple(d.grey)))
    return cases


def write(cases: Sequence[Case], outdir: Path) -> Path:
    """Write every message and ``labels.json``; returns the labels file."""
    outdir.mkdir(parents=True, exist_ok=True)
    for c in cases:
        (outdir / c.name).write_bytes(c.raw)
    labels = outdir / "labels.json"
    labels.write_text(json.dumps([c.meta() for c in cases], indent=1, ensure_ascii=False), encoding="utf-8")
    return labels


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--count", type=int, default=None)
    args = ap.parse_args(argv)
    cases = generate(args.seed, args.count)
    labels = write(cases, args.outdir)
    n_lab = sum(len(c.labels) for c in cases)
    print(f"{len(cases)} messages ({sum(c.sensitive for c in cases)} sensitive), {n_lab} labels -> {labels}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
