"""Labels at word distance, negatives, ambiguity, and table structure as context."""

from __future__ import annotations

import io
import random
import re

import docx
import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.context import may_be_row
from detectors.engine import Detector
from detectors.scan import Scanner

DETECTOR = Detector()
SCANNER = Scanner()


def found(text: str) -> list[tuple[str, str]]:
    return [(f.entity, f.value) for f in DETECTOR.find("body", text)]


CASES = [
    # prose labels, at the distance people write them
    ("Account number: 4417730982", [("UTILITY_ACCOUNT", "4417730982")]),
    ("my account is 00417730", [("UTILITY_ACCOUNT", "00417730")]),
    ("the account we looked at last week, for the Elm St. property, was 4417730982",
     [("UTILITY_ACCOUNT", "4417730982")]),
    ("Can you check the account for the tenant at 2514 Valinda Ave? It's 009836321",
     [("UTILITY_ACCOUNT", "009836321")]),
    ("> check the account for the tenant at 18700 10th St W? It's 3238897055", [("UTILITY_ACCOUNT", "3238897055")]),
    ("acct no. 00123456 and 00123457", [("UTILITY_ACCOUNT", "00123456"), ("UTILITY_ACCOUNT", "00123457")]),
    ("SS# 219456789", [("US_SSN", "219456789")]),
    ("soc sec no. 219456789", [("US_SSN", "219456789")]),
    ("RTN 021000021", [("US_BANK_ROUTING", "021000021")]),
    # Spanish
    ("Número de cuenta: 00417730", [("UTILITY_ACCOUNT", "00417730")]),
    ("su número de seguro social es 219456789", [("US_SSN", "219456789")]),
    ("ruta bancaria 021000021", [("US_BANK_ROUTING", "021000021")]),
    # too far, or another number between
    ("account " + "word " * 20 + "00417730", []),
    ("acct 61812446, order 799235527", [("UTILITY_ACCOUNT", "61812446")]),
    # negative labels win when nearest
    ("Meeting ID: 4417730982", []),
    ("Passcode 219456789 for the SSN training", []),
    ("PO 219-45-6789", []),
    ("Invoice 27-1234567", []),
    ("Tracking number 4111 1111 1111 1111", []),
    ("Check no. 00417730 for account", []),
    # the label decides between shapes
    ("EIN: 219-45-6789", [("US_EIN", "219-45-6789")]),
    ("FEIN 219456789", [("US_EIN", "219456789")]),
    ("SSN: 21-9456789", [("US_SSN", "21-9456789")]),
    ("TIN 219-45-6789", [("US_SSN", "219-45-6789")]),
    ("TIN 271234567", [("US_EIN", "271234567")]),
    ("TIN 912-50-1234", [("US_ITIN", "912-50-1234")]),
    ("SSN 912501234", [("US_ITIN", "912501234")]),
    ("Account: 2135552368", [("UTILITY_ACCOUNT", "2135552368")]),
    ("Phone: 2135552368", [("PHONE_NUMBER", "2135552368")]),
    # unlabelled: the written form
    ("27-1234567", [("US_EIN", "27-1234567")]),
    ("219-45-6789", [("US_SSN", "219-45-6789")]),
    ("(213) 555-2368", [("PHONE_NUMBER", "(213) 555-2368")]),
    # bill formats
    ("SCE customer account 2 12 345 6789", [("UTILITY_ACCOUNT", "2 12 345 6789")]),
    ("SCE account 2123456789", [("UTILITY_ACCOUNT", "2123456789")]),
    ("Edison service account 3-123-4567-89", [("UTILITY_ACCOUNT", "3-123-4567-89")]),
    ("Water account 000123456789", [("UTILITY_ACCOUNT", "000123456789")]),
    # the label line above a value alone on its line
    ("Employer identification number\n219456789\n", [("US_EIN", "219456789")]),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_labels(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


def entities_in(name: str, data: bytes) -> list[tuple[str, str]]:
    return [(f.entity, f.value) for f in SCANNER.scan(_message(name, data)).findings]


def _message(name: str, data: bytes) -> bytes:
    import base64
    return (b"From: a@x.example\r\nTo: b@y.example\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee\r\n"
            b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
            b"Content-Disposition: attachment; filename=" + name.encode() + b"\r\n\r\n"
            + base64.encodebytes(data) + b"--b--\r\n")


def rows(n: int) -> list[list[str]]:
    return [[f"Customer {i}", f"{i:08d}", f"{(i * 7919) % 10**9:09d}", "Paid"] for i in range(1, n + 1)]


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_csv_header_far_above_and_not_on_line_one(sep: str) -> None:
    lines = ["Billing export, March", "", sep.join(["Name", "Account Number", "SSN", "Status"])]
    lines += [sep.join(r) for r in rows(300)]
    found = entities_in("export.csv", "\n".join(lines).encode())
    assert ("UTILITY_ACCOUNT", "00000300") in found  # 300 rows below its header
    assert ("US_SSN", f"{(300 * 7919) % 10**9:09d}") in found
    assert not any(value == "00000300" and entity != "UTILITY_ACCOUNT" for entity, value in found)


def test_csv_without_header_gives_plain_digits_nothing() -> None:
    data = "\n".join(",".join(r) for r in rows(20)).encode()
    assert entities_in("export.csv", data) == []


def test_xlsx_every_sheet_header_below_a_title_and_empty_cells() -> None:
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.append(["Summary"])
    second = book.create_sheet("Detail")
    second.append(["Delinquent accounts"])
    second.append([])
    second.append(["Name", "Phone", "Acct No", "Service Address"])
    for i in range(1, 200):
        second.append([f"N{i}", None, f"{i:09d}", None])
    second.append(["last", "2135552368", "00000777", "1 Main St"])
    third = book.create_sheet("Refunds")
    third.append(["Bank routing", "021000021"])
    out = io.BytesIO()
    book.save(out)
    found = entities_in("book.xlsx", out.getvalue())
    assert ("UTILITY_ACCOUNT", "000000199") in found and ("UTILITY_ACCOUNT", "00000777") in found
    assert ("US_BANK_ROUTING", "021000021") in found and ("PHONE_NUMBER", "2135552368") in found


def test_html_table_with_th_and_broken_value() -> None:
    html = ("<p>Statement</p><table><tr><th>Account</th><th>Balance</th></tr>"
            + "".join(f"<tr><td>{i:08d}</td><td>$1.00</td></tr>" for i in range(1, 60))
            + "<tr><td>0041<span>77</span>30</td><td>$2.00</td></tr></table>")
    found = entities_in("statement.html", html.encode())
    assert ("UTILITY_ACCOUNT", "00000059") in found and ("UTILITY_ACCOUNT", "00417730") in found


def test_an_account_column_beside_a_routing_column_is_a_bank_account() -> None:
    lines = ["Name,Routing,Account", *(f"N{i},021000021,{i:08d}" for i in range(1, 30))]
    found = entities_in("ach.csv", "\n".join(lines).encode())
    assert ("US_BANK_ROUTING", "021000021") in found
    assert not any(entity == "UTILITY_ACCOUNT" for entity, _ in found)


def test_docx_key_value_table() -> None:
    document = docx.Document()
    document.add_paragraph("Form W-9")
    table = document.add_table(rows=3, cols=2)
    for row, (key, value) in zip(table.rows, [("Name", "Acme LLC"), ("Employer identification number", "219456789"),
                                              ("Social security number", "")]):
        row.cells[0].text, row.cells[1].text = key, value
    out = io.BytesIO()
    document.save(out)
    assert entities_in("w9.docx", out.getvalue()) == [("US_EIN", "219456789")]


def test_pasted_report_aligned_columns() -> None:
    report = ("Hi,\n\nCUST #         NAME           TEL             BALANCE\n"
              "-------------  -------------  --------------  -------\n"
              + "".join(f"00{i:08d}     SMITH, ANA     (213) 555-2368  12.00\n" for i in range(1, 40)))
    assert ("UTILITY_ACCOUNT", "0000000039") in found(report)
    assert ("PHONE_NUMBER", "(213) 555-2368") in found(report)


def test_fold_removes_every_combining_mark_and_nothing_else() -> None:
    # fold's mark pattern asks its class only of characters past ASCII (detectors.context._combining)
    import unicodedata

    from detectors.context import _COMBINING, fold
    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    assert _COMBINING.sub("", every) == "".join(ch for ch in every if not unicodedata.combining(ch))
    assert fold("Número de Cuenta, Tomás") == "numero de cuenta, tomas"
    assert fold("e\u0301\U0001D165x") == "ex"   # a mark past U+FFFF too


def test_labels_under_a_long_header_row_are_not_kept_a_row_each() -> None:
    # A context reuses the labels it judged (detectors.context.Context.label); a table's header
    # row is part of each label, so thousands of distinct rows under a 51 KB header row once kept
    # a copy a row: 300 MB for this 112 KB text.
    import tracemalloc
    header = "Name,SSN," + ",".join(f"Heading {i:04d} of the billing sheet" for i in range(1500))
    names = ["".join(chr(97 + (r // 26 ** k) % 26) for k in range(4)) for r in range(3000)]   # aaaa, baaa, ...
    rows = [f"Name {name},219{r % 100:02d}{r // 100:04d}" + ("," * 1500 if r == 0 else "")
            for r, name in enumerate(names)]
    text = header + "\n" + "\n".join(rows) + "\n"
    DETECTOR.find("body", "warm 123456789")
    tracemalloc.start()
    try:
        found = DETECTOR.find("body", text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(found) > 2000
    assert peak < 40_000_000


def test_label_word_spans_are_the_vocabulary_patterns_matches() -> None:
    # Vocabulary.spans finds a word after the character before it (a faster search); it must
    # give pattern.finditer's matches exactly, wherever words touch signs, digits and each other.
    vocab = DETECTOR.vocab
    words = sorted(vocab.owners)
    pieces = [*words, *(w[:-1] for w in words), *(w[1:] for w in words), "s", "es", "x", "9", "42",
              " ", "  ", "#", ".", "/", "-", "_", ":", "(", ")", "\n", "\t", "é", "ñ", "'", "ß"]
    rng = random.Random(13)
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        assert vocab.spans(text) == [(m.start(), m.end(), m.group()) for m in vocab.pattern.finditer(text)], text


def test_label_words_that_begin_past_ascii_are_found_side_by_side() -> None:
    # An administrator's account-format words may be in any script: "口座番号" is two words with
    # nothing between them, and the second begins with a character that is no ASCII letter.
    from detectors.context import Vocabulary
    vocab = Vocabulary({"UTILITY_ACCOUNT": ("口座", "番号", "account")})
    for text in ("口座番号", "account口座番号 x", "番号番号", "口座 account"):
        assert vocab.spans(text) == [(m.start(), m.end(), m.group()) for m in vocab.pattern.finditer(text)], text


def test_may_be_row_finds_what_the_row_pattern_finds() -> None:
    # context.may_be_row replaced the regex [\t,;|]|  (five substring searches instead)
    pattern = re.compile(r"[\t,;|]|  ")
    rng = random.Random(5)
    for _ in range(20_000):
        text = "".join(rng.choices("ab \t,;|\n", (8, 4, 6, 1, 1, 1, 1, 1), k=rng.randint(0, 30)))
        start = rng.randint(0, len(text))
        end = rng.randint(start, len(text))
        assert may_be_row(text, start, end) == (pattern.search(text, start, end) is not None), (text, start, end)


# What a label reads, written the plain way: the compiled module takes shortcuts (detectors.context),
# which must give the same answers on any text.
def _plain_after_unlike_number(head: str, groups: tuple[int, ...]) -> str:
    number = re.compile(r"\d(?<!\w\d)(?:[\-. ]*\d){5,}(?!\w)")
    cut = 0
    for match in number.finditer(head):
        if tuple(map(len, match.group().replace("-", " ").replace(".", " ").split())) != groups:
            cut = match.end()
    return head[cut:]


_NUMBERISH = st.text(alphabet=st.sampled_from(list("0123456789-. x_,\n") + ["٣", "５", "é", "\u00a0"]), max_size=60)
_GROUPS = st.lists(st.integers(min_value=0, max_value=9), max_size=5).map(tuple)


@given(_NUMBERISH, _GROUPS)
@settings(max_examples=3000, deadline=None)
def test_the_number_cut_is_the_plain_one(head: str, groups: tuple[int, ...]) -> None:
    from detectors.context import _after_unlike_number
    assert _after_unlike_number(head, groups) == _plain_after_unlike_number(head, groups)


def test_the_number_cut_is_the_plain_one_past_its_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    # once _MAX_ALIKE shapes are kept, a new one is split, not compiled
    from detectors import context
    monkeypatch.setattr(context, "_MAX_ALIKE", 0)
    monkeypatch.setattr(context, "_ALIKE", {})
    for head, groups in (("SSN 412-67-3301 and 523 18 7745, ", (3, 2, 4)), ("412-67-3301 ", (9,)), ("46. 44829-", (2, 0, 5))):
        assert context._after_unlike_number(head, groups) == _plain_after_unlike_number(head, groups)


@given(st.text(max_size=12))
@settings(max_examples=3000, deadline=None)
def test_a_word_is_what_the_word_pattern_finds(text: str) -> None:
    from detectors.context import _WORD, _has_word
    assert _has_word(text) == (_WORD.search(text) is not None)


def test_label_words_are_found_as_the_plain_pattern_finds_them() -> None:
    # spans skips the match at the first character when no label word starts with it
    from detectors.engine import HEADER_WORDS
    vocab = HEADER_WORDS
    rng = random.Random(7)
    pieces = sorted(vocab.owners) + ["x", "1", "-", " ", ".", "#", "/", "é", "\n", "s", "123"]
    for _ in range(5000):
        text = "".join(rng.choice(pieces) + rng.choice(["", " ", "-", ":", "s"]) for _ in range(rng.randint(0, 6)))
        plain = [(m.start(), m.end(), m.group()) for m in vocab.pattern.finditer(text)]
        assert vocab.spans(text) == plain, text
