"""Presidio's side of the detectors: our entity rules as Presidio recognizers.

Each entity is defined once, in its module (detectors.us_ssn, ...): its
label words, its structure checks, its judge. ``recognizers()`` wraps those
same definitions, through the same engine (detectors.engine), as one
``EntityRecognizer`` per entity, so a Presidio ``AnalyzerEngine`` returns
exactly the findings the gateway's fast path does (tests/unit/detectors/
test_registry.py checks that on both corpora). To add them to your own
engine::

    from detectors.registry import recognizers
    for recognizer in recognizers():
        analyzer.registry.add_recognizer(recognizer)

This module imports Presidio and, through it, spaCy; the gateway's hot path
(detectors.engine, detectors.scan) imports neither.

No trained spaCy model can be downloaded where the gateway runs, so the
engine built here runs on ``spacy.blank("en")`` plus the lookup lemmatizer
from spacy-lookups-data (Presidio's predefined recognizers compare context
words with lemmas, and without them context words silently stop working).

>>> engine = analyzer()
>>> [(r.entity_type, r.start, r.end) for r in engine.analyze("SSN 219-45-6789", language="en")]
[('US_SSN', 4, 15)]
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import spacy
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts, SpacyNlpEngine

from detectors.engine import MODULES, Detector
from detectors.findings import Finding

NAMES = {
    "US_SSN": "DlpUsSsnRecognizer", "US_ITIN": "DlpUsItinRecognizer", "US_EIN": "DlpUsEinRecognizer",
    "CREDIT_CARD": "DlpCreditCardRecognizer", "US_BANK_ROUTING": "DlpBankRoutingRecognizer",
    "UTILITY_ACCOUNT": "DlpUtilityAccountRecognizer", "PHONE_NUMBER": "DlpPhoneRecognizer",
    "US_BANK_ACCOUNT": "DlpBankAccountRecognizer", "US_DRIVER_LICENSE": "DlpDriverLicenseRecognizer",
}


class _Shared:
    """One detector run per text, shared by the entity recognizers (the last text is kept)."""

    def __init__(self, detector: Detector) -> None:
        self.detector = detector
        self.last: tuple[str, list[Finding]] = ("", [])

    def findings(self, text: str) -> list[Finding]:
        last = self.last
        if last[0] == text and text:
            return last[1]
        found = self.detector.find("text", text)
        self.last = (text, found)
        return found


class DlpRecognizer(EntityRecognizer):
    """One entity's rules (its module's definitions, run by the engine) as a Presidio recognizer."""

    def __init__(self, entity: str, shared: _Shared) -> None:
        module = next(m for m in MODULES if m.ENTITY == entity)
        self.shared = shared
        self.label_name: str = NAMES[entity]
        super().__init__(supported_entities=[entity], name=NAMES[entity], supported_language="en",
                         context=list(module.CONTEXT))

    def load(self) -> None:
        """Nothing to load: the definitions are Python."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
                ) -> list[RecognizerResult]:
        entity = self.supported_entities[0]
        if entities and entity not in entities:
            return []
        return [self._result(f) for f in self.shared.findings(text) if f.entity == entity]

    def _result(self, f: Finding) -> RecognizerResult:
        # The label already counted in the score: Presidio must not add context again.
        metadata = {RecognizerResult.RECOGNIZER_NAME_KEY: self.label_name,
                    RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                    RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY: True}
        return RecognizerResult(f.entity, f.start, f.end, f.score, recognition_metadata=metadata)


def recognizers(detector: Detector | None = None) -> list[DlpRecognizer]:
    """One recognizer per entity, sharing ``detector`` (the default formats, no EDM list, if None)."""
    shared = _Shared(detector or Detector())
    return [DlpRecognizer(m.ENTITY, shared) for m in MODULES]


class BlankSpacyEngine(SpacyNlpEngine):
    """Presidio's spaCy engine on a blank English pipeline with lookup lemmas."""

    def __init__(self) -> None:
        super().__init__(models=[{"lang_code": "en", "model_name": "blank:en"}])

    def load(self) -> None:
        nlp = spacy.blank("en")
        nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        nlp.initialize()
        self.nlp = {"en": nlp}  # type: ignore[assignment]


def nlp_engine() -> BlankSpacyEngine:
    engine = BlankSpacyEngine()
    engine.load()
    return engine


@lru_cache(maxsize=2)
def analyzer(predefined: bool = False) -> AnalyzerEngine:
    """An AnalyzerEngine with our recognizers, or with Presidio's predefined ones."""
    registry = RecognizerRegistry(supported_languages=["en"])
    if predefined:
        registry.load_predefined_recognizers(languages=["en"])
    else:
        for recognizer in recognizers():
            registry.add_recognizer(recognizer)
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine(), supported_languages=["en"])


def lemmas(text: str) -> list[Any]:
    """The lemmas the engine sees (a check that context words can match)."""
    return [token.lemma_ for token in nlp_engine().get_nlp("en")(text)]
