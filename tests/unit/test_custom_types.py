"""Custom types: configuration errors with file and line, checks, and the
prefilter that keeps Presidio away from mail none of their patterns can match."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from detectors.custom import CustomType, CustomTypes
from detectors.engine import Detector
from gateway import config
from gateway.detection import custom_types, options

ROOT = Path(__file__).resolve().parents[2]
PRESIDIO_FILE = """recognizers:
  - name: "MRN"
    supported_entity: "MEDICAL_RECORD_NUMBER"
    patterns:
      - name: "mrn"
        regex: "\\\\bMRN-?\\\\d{7}\\\\b"
        score: 0.6
    context: ["patient"]
    deny_list: ["Patient Zero"]
"""


def problem(tmp_path: Path, gateway_yaml: str, files: dict[str, str] | None = None) -> str:
    (tmp_path / "gateway.yaml").write_text(gateway_yaml)
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(text)
    with pytest.raises(config.ConfigError) as error:
        config.load(tmp_path)
    return str(error.value)


@pytest.mark.parametrize(("text", "expected"), [
    ("detection:\n  custom_types:\n    - entity: EMPLOYEE_ID\n      regex: '(E\\d{6}'\n",
     "gateway.yaml:4: detection.custom_types.0.regex: not a valid regular expression"),
    ("detection:\n  custom_types:\n    - entity: US_SSN\n      regex: 'x'\n",
     "gateway.yaml:3: detection.custom_types.0.entity: US_SSN is a built-in entity"),
    ("detection:\n  custom_types:\n    - entity: employee\n      regex: 'x'\n",
     "gateway.yaml:3: detection.custom_types.0.entity: String should match pattern"),
    ("detection:\n  custom_types:\n    - entity: EMPLOYEE_ID\n",
     "gateway.yaml:3: detection.custom_types.0: give a regex, patterns or a deny_list"),
    ("detection:\n  custom_types:\n    - entity: EMPLOYEE_ID\n      regex: 'x'\n      check: crc\n",
     "gateway.yaml:5: detection.custom_types.0.check: Input should be 'luhn' or 'mod'"),
    ("detection:\n  custom_types:\n    - entity: EMPLOYEE_ID\n      regx: 'x'\n",
     "gateway.yaml:4: detection.custom_types.0.regx: unknown setting"),
    ("detection:\n  driver_licenses:\n    - {state: NY, layout: 'ddd-ddd-ddd'}\n    - {state: FL, layout: 'X123456'}\n",
     "gateway.yaml:4: detection.driver_licenses.1.layout: String should match pattern"),
    ("detection:\n  custom_types:\n    - presidio_yaml: missing.yaml\n",
     "gateway.yaml:3: detection.custom_types.0.presidio_yaml:"),
])
def test_errors_name_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in problem(tmp_path, text)


def test_an_error_inside_a_presidio_file_names_that_file_and_its_line(tmp_path: Path) -> None:
    bad = PRESIDIO_FILE.replace("score: 0.6", "score: 6").replace('supported_entity: "MEDICAL_RECORD_NUMBER"',
                                                                    'supported_entity: "MEDICAL_RECORD_NUMBER"')
    text = problem(tmp_path, "detection:\n  custom_types:\n    - presidio_yaml: mrn.yaml\n", {"mrn.yaml": bad})
    assert text.startswith(f"{tmp_path}/gateway.yaml:3: detection.custom_types.0.presidio_yaml: ")
    assert f"{tmp_path}/mrn.yaml:7: recognizers.0.patterns.0.score: Input should be less than or equal to 1" in text
    typo = PRESIDIO_FILE.replace("    context:", "    contxt:")
    text = problem(tmp_path, "detection:\n  custom_types:\n    - presidio_yaml: mrn.yaml\n", {"mrn.yaml": typo})
    assert f"{tmp_path}/mrn.yaml:8: recognizers.0.contxt: unknown setting" in text


def test_a_valid_presidio_file_loads_relative_to_the_config_dir(tmp_path: Path) -> None:
    (tmp_path / "gateway.yaml").write_text("detection:\n  custom_types:\n    - presidio_yaml: mrn.yaml\n")
    (tmp_path / "mrn.yaml").write_text(PRESIDIO_FILE)
    settings = config.load(tmp_path)
    types = custom_types(settings.detection.custom_types)
    assert types is not None and types.entities == ("MEDICAL_RECORD_NUMBER",)
    detector = Detector(custom=types)
    found = [(f.entity, f.value) for f in detector.find("body", "Patient MRN-1234567; Patient Zero arrived")]
    assert found == [("MEDICAL_RECORD_NUMBER", "MRN-1234567"), ("MEDICAL_RECORD_NUMBER", "Patient Zero")]


def test_the_shipped_example_is_off_and_presidio_is_not_imported() -> None:
    settings = config.load(ROOT / "config")
    [example] = settings.detection.custom_types
    assert example.entity == "EMPLOYEE_ID" and not example.enabled
    assert options(settings.detection).custom is None
    code = ("import sys; from gateway import config, detection; "
            "detection.options(config.load(__import__('pathlib').Path('config')).detection); "
            "print('presidio_analyzer' in sys.modules, 'spacy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["False", "False"]


def employee(check: str | None = None, modulus: int = 10, weights: tuple[int, ...] = ()) -> CustomTypes:
    return CustomTypes((CustomType("EMPLOYEE_ID", (("emp", r"\bE\d{6,8}\b", 0.6),), ("employee",),
                                   check=check, modulus=modulus, weights=weights),))


def values(types: CustomTypes, text: str) -> list[str]:
    return [text[start:end] for _, start, end, _, _ in types.hits(text)]


def test_checks_luhn_and_weighted_mod_n() -> None:
    assert values(employee("luhn"), "E79927398713 E79927390 E1234567") == []  # too long, Luhn-invalid
    assert values(employee("luhn"), "badge E79927398 and E1234566") == ["E79927398", "E1234566"]
    # ABA's 3-7-1 weights modulo 10: 021000021 passes, 021000022 does not
    aba = CustomTypes((CustomType("ROUTE", (("r", r"\bR\d{9}\b", 0.6),), check="mod", modulus=10,
                                  weights=(3, 7, 1)),))
    assert values(aba, "R021000021 R021000022") == ["R021000021"]


def test_context_words_lift_the_score_as_in_presidio() -> None:
    [(score, *_)] = employee().hits("Employee E204417 starts")
    [(alone, *_)] = employee().hits("Ticket E204417 closed")
    assert (alone, score) == (0.6, 0.95)


def test_mail_with_none_of_the_patterns_never_reaches_presidio() -> None:
    types = employee()
    calls = []
    real = types._engine.analyze
    types._engine.analyze = lambda *a, **k: calls.append(1) or real(*a, **k)
    assert types.hits("Quarterly report: 1,204 residents, invoice 88213, see you Monday. " * 200) == []
    assert calls == []
    assert values(types, "employee E204417") == ["E204417"] and calls == [1]


def test_one_span_one_entity_with_the_built_in_ones() -> None:
    # A custom pattern over an SSN: the stronger finding keeps the span.
    types = CustomTypes((CustomType("CASE_NO", (("case", r"\b\d{3}-\d{2}-\d{4}\b", 0.3),)),))
    found = [(f.entity, f.value) for f in Detector(custom=types).find("body", "SSN 219-45-6789")]
    assert found == [("US_SSN", "219-45-6789")]
