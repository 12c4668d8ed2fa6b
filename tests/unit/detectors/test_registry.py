"""Presidio's side: our recognizers in one AnalyzerEngine over a blank spaCy
pipeline, whose lookup lemmas make context words work."""

from __future__ import annotations

from detectors.registry import analyzer, lemmas


def results(text: str, threshold: float = 0.3) -> list[tuple[str, str]]:
    return [(r.entity_type, text[r.start:r.end])
            for r in analyzer().analyze(text, language="en", score_threshold=threshold)]


def test_the_blank_pipeline_has_lemmas() -> None:
    assert lemmas("numbers were cards") == ["number", "be", "card"]


def test_context_words_lift_a_weak_plain_number() -> None:
    assert ("US_SSN", "219456789") in results("Her social security number is 219456789")
    assert ("US_SSN", "219456789") not in results("Her order number is 219456789")


def test_invalid_structure_is_dropped_and_checksums_count() -> None:
    assert results("Sample 078-05-1120") == []
    assert ("CREDIT_CARD", "4111 1111 1111 1111") in results("Visa 4111 1111 1111 1111")
    assert all(entity != "CREDIT_CARD" for entity, _ in results("Ref 4111 1111 1111 1112"))


def test_predefined_recognizers_load_beside_ours() -> None:
    engine = analyzer(predefined=True)
    names = {r.name for r in engine.registry.recognizers}
    assert "UsSsnRecognizer" in names and not any(n.startswith("Dlp") for n in names)
