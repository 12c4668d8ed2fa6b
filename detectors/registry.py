"""Presidio's side of the detectors: every recognizer class registered in one
AnalyzerEngine over a blank English spaCy pipeline.

No trained spaCy model can be downloaded where the gateway runs, so the
pipeline is ``spacy.blank("en")`` plus the lookup lemmatizer from
spacy-lookups-data: Presidio's context enhancement compares lemmas, and
without them context words silently stop working. The gateway's hot path
(detectors.engine) applies the same rules without this engine's per-token
cost; this engine is the extension point and the reference in benchmarks.

>>> engine = analyzer()
>>> [(r.entity_type, r.start, r.end) for r in engine.analyze("SSN 219-45-6789", language="en")]
[('US_SSN', 4, 15)]
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import spacy
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry
from presidio_analyzer.nlp_engine import SpacyNlpEngine

from detectors.bank_routing import DlpBankRoutingRecognizer
from detectors.credit_card import DlpCreditCardRecognizer
from detectors.phone import DlpPhoneRecognizer
from detectors.us_ein import DlpUsEinRecognizer
from detectors.us_itin import DlpUsItinRecognizer
from detectors.us_ssn import DlpUsSsnRecognizer
from detectors.utility_account import DlpUtilityAccountRecognizer

RECOGNIZERS: tuple[Callable[[], EntityRecognizer], ...] = (
    DlpUsSsnRecognizer, DlpUsItinRecognizer, DlpUsEinRecognizer, DlpCreditCardRecognizer,
    DlpBankRoutingRecognizer, DlpPhoneRecognizer, DlpUtilityAccountRecognizer,
)


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
        for recognizer in RECOGNIZERS:
            registry.add_recognizer(recognizer())
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine(), supported_languages=["en"])


def lemmas(text: str) -> list[Any]:
    """The lemmas the engine sees (a check that context words can match)."""
    return [token.lemma_ for token in nlp_engine().get_nlp("en")(text)]
