"""The pure parts of issue 17: removing sender-written X-DLP-* fields, masking
what the gateway does not scan, audit details as fields, the release rules of
a profile."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest
import yaml

from detectors.engine import default_detector
from gateway import headers, masking
from gateway.config import ConfigError
from gateway.pipeline import Envelope
from gateway.policy import profiles
from gateway.quarantine.release import clean, note_required
from gateway.review.overview import detail_fields
from tests.e2e.harness import ROOT


def dlp_names(content: bytes) -> list[str]:
    """What a lenient parser (Python's, which also breaks lines at a lone CR) takes for X-DLP-* fields."""
    parsed = email.message_from_bytes(content, policy=email.policy.compat32)
    return [name for name in parsed.keys() if name.lower().startswith("x-dlp-")]


@pytest.mark.parametrize(("raw", "kept"), [
    # plain, any case, with space before the colon
    (b"X-DLP-Verdict: deliver\r\nSubject: a\r\n\r\nbody\r\n", b"Subject: a\r\n\r\nbody\r\n"),
    (b"Subject: a\r\nx-dlp-released-by: boss\r\nX-Dlp-Exception : p; ref=1\r\n\r\nb", b"Subject: a\r\n\r\nb"),
    # folded over several lines: every line of it goes
    (b"X-DLP-Released-By: boss;\r\n\tnote=ok\r\n more\r\nTo: x\r\n\r\nb", b"To: x\r\n\r\nb"),
    # bare LF line ends
    (b"Subject: a\nX-DLP-Verdict: deliver\n\nb", b"Subject: a\n\nb"),
    # a lone CR: the field a lenient parser would see becomes part of the subject
    (b"Subject: a\rX-DLP-Verdict: deliver\r\n\r\nb", b"Subject: a X-DLP-Verdict: deliver\r\n\r\nb"),
    # in the body, or a continuation line: not a field, left alone
    (b"Subject: a\r\n\r\nX-DLP-Verdict: deliver\r\n", b"Subject: a\r\n\r\nX-DLP-Verdict: deliver\r\n"),
    (b"Subject: a\r\n X-DLP-Verdict: deliver\r\n\r\nb", b"Subject: a\r\n X-DLP-Verdict: deliver\r\n\r\nb"),
    # the declared purpose stays for the pipeline, which reads it (delivery removes it)
    (b"X-DLP-Purpose: collections\r\nX-DLP-Verdict: x\r\n\r\nb", b"X-DLP-Purpose: collections\r\n\r\nb"),
    # nothing to do: the same object back
    (b"Subject: X-DLP-Verdict in a subject\r\n\r\nb", b"Subject: X-DLP-Verdict in a subject\r\n\r\nb"),
])
def test_sender_written_dlp_fields_are_removed(raw: bytes, kept: bytes) -> None:
    assert headers.from_sender(raw) == kept
    assert dlp_names(headers.from_sender(raw)) in ([], ["X-DLP-Purpose"])
    assert dlp_names(headers.without_dlp(raw)) == []


def test_removing_is_one_pass_over_a_huge_header_block() -> None:
    raw = b"".join(b"X-DLP-Verdict: %d\r\nSubject: \r" % n for n in range(50_000)) + b"\r\nbody"
    assert headers.without_dlp(raw).count(b"X-DLP-Verdict") == 49_999   # the first was a field; the rest sit in subjects
    assert dlp_names(headers.without_dlp(raw)) == []


@pytest.mark.parametrize(("text", "shown"), [
    ("219-45-6789@cerritos.example", "***-**-6789@cerritos.example"),
    ("x@219-45-6789.example", "x@***-**-6789.example"),
    ("4111111111111111@x.example", "************1111@x.example"),
    ("219456789@x.example", "*****6789@x.example"),          # bare: the detector would need context
    ("219.45.6789@x.example", "***.**.6789@x.example"),
    ("4111_1111_1111_1111@x.example", "****_****_****_1111@x.example"),
    ("clerk2026@cerritos.example", "clerk2026@cerritos.example"),   # under six digits: not a value
    ("550 5.1.1 <219-45-6789@x.example>: no such user", "550 5.1.1 <***-**-6789@x.example>: no such user"),
    ("", ""),
])
def test_addresses_never_show_six_digits_in_a_row(text: str, shown: str) -> None:
    assert masking.address(text) == shown
    # whatever the detector finds in an address, the rule masks too
    assert all(f.value not in shown for f in default_detector().find("header", text))


def test_header_values_use_the_detector_and_the_findings_of_their_message() -> None:
    assert masking.masked_text("Date: 1 Jan 2026 10:00:00", default_detector()) == "Date: 1 Jan 2026 10:00:00"
    assert masking.masked_text("ref 219456789", default_detector(), masks={"*****6789"}) == "ref *****6789"
    assert masking.masked_text("ref 219456789", default_detector()) == "ref 219456789"


def test_the_envelope_is_masked() -> None:
    env = Envelope("219456789@cerritos.example", ("a@x.example", "219-45-6789@y.example"), "127.0.0.1", "h")
    assert masking.envelope(env) == Envelope("*****6789@cerritos.example", ("a@x.example", "***-**-6789@y.example"),
                                             "127.0.0.1", "h")


def test_audit_details_read_as_fields_with_addresses_masked() -> None:
    details = masking.details({"sender": "219-45-6789@x.example", "recipient_domains": ["219-45-6789.example"],
                               "downstream": "550 5.1.1 <219-45-6789@x.example> unknown", "note": "ok",
                               "entities": {"US_SSN": 2, "CREDIT_CARD": 1}})
    assert detail_fields(details) == [
        ("downstream", "550 5.1.1 <***-**-6789@x.example> unknown"),
        ("entities", "CREDIT_CARD ×1, US_SSN ×2"), ("note", "ok"),
        ("recipient domains", "***-**-6789.example"), ("sender", "***-**-6789@x.example")]


def test_release_notes_are_required_where_the_policy_makes_a_release_an_authorization(tmp_path: Path) -> None:
    shipped = profiles.defaults()
    assert {name for name in shipped.settings.profiles if note_required(name, shipped)} == {"cerritos",
                                                                                            "palos-verdes"}
    assert not note_required("retired-profile", shipped)   # falls under default
    assert clean(" \t\r\n ") is None and clean("ok\r\nX-Injected: 1") == "ok X-Injected: 1"
    policies = yaml.safe_load((ROOT / "config" / "policies.yaml").read_text())
    policies["profiles"]["default"]["release_note"] = "sometimes"
    (tmp_path / "policies.yaml").write_text(yaml.safe_dump(policies))
    with pytest.raises(ConfigError, match="release_note"):
        profiles.load(tmp_path)
