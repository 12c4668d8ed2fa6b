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


def corpus_segments() -> list[tuple[str, str]]:
    """Every extracted segment of a sample of both corpora (tests/corpus and the independent one)."""
    from detectors.segments import extract
    from tests.corpus import generate as corpus
    from tests.evalcorpus import generate as evalcorpus
    out = [(s.name, seg.text) for s in corpus.generate(seed=21, count=80) for seg in extract(s.message).segments]
    return out + [(c.name, seg.text) for c in evalcorpus.generate(count=60) for seg in extract(c.raw).segments]


def test_presidio_and_the_fast_path_return_the_same_findings() -> None:
    from detectors.engine import default_detector
    engine = analyzer()
    compared = 0
    for name, text in corpus_segments():
        fast = sorted((f.entity, f.start, f.end, round(f.score, 6)) for f in default_detector().find("x", text))
        slow = sorted((r.entity_type, r.start, r.end, round(r.score, 6)) for r in engine.analyze(text, language="en"))
        assert fast == slow, name
        compared += len(fast)
    assert compared > 100
