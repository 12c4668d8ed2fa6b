"""Types of the administrator's own: entities added in configuration, run by Presidio.

A city has numbers no product ships: a permit or case number scheme, an
employee ID, a medical record number. gateway.yaml's
``detection.custom_types`` adds them, each either as a regular expression
with a score, context words and an optional check (Luhn, or a weighted sum
modulo N), or as a file in presidio-analyzer's own recognizer YAML (patterns
with scores, context words, deny lists). Each becomes one Presidio
``PatternRecognizer`` in one ``AnalyzerEngine``; a profile counts the entity
as sensitive when it lists it (config/policies.yaml ``entities``).

Cost on mail that holds none of it: every pattern and deny-list word is
compiled once into one hyperscan database in prefilter mode
(detectors.prefilter), and a text is handed to Presidio only when that one
pass sees a possible match. Presidio's engine wants an NLP engine, and its
default is spaCy with a trained model; pattern recognizers need only words
(context words are compared with the words around a match), so the engine
here is ``WordsNlpEngine``: a Presidio ``NlpEngine`` with no model that
splits the text into words, whose lower case stands in for the lemma. No spaCy
pipeline or model is loaded; presidio-analyzer itself (and the spaCy module
it imports) is imported only when a custom type is enabled.

>>> types = CustomTypes((CustomType("EMPLOYEE_ID", (("employee id", r"\\bE\\d{6}\\b", 0.4),),
...                                 context=("employee",)),))
>>> [(e, s) for s, _, _, e, _ in types.hits("Employee E204417 starts Monday")]
[('EMPLOYEE_ID', 0.75)]
>>> types.hits("Nothing of ours here")
[]
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from stdnum import luhn

from detectors.prefilter import Prefilter

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?|[^\w\s]")
_Hit = tuple[float, int, int, str, str]  # score, start, end, entity, recognizer


@dataclass(frozen=True, slots=True)
class CustomType:
    """One recognizer of an administrator's entity (from gateway.yaml or a Presidio YAML file)."""

    entity: str
    patterns: tuple[tuple[str, str, float], ...]  # name, regex, score
    context: tuple[str, ...] = ()
    deny_list: tuple[str, ...] = ()
    deny_list_score: float = 1.0
    check: str | None = None  # "luhn" or "mod"
    modulus: int = 10
    weights: tuple[int, ...] = ()
    name: str = ""  # the recognizer's name

    def passes(self, value: str) -> bool:
        """Whether the digits of a matched ``value`` pass the type's check (True without one)."""
        if self.check is None:
            return True
        digits = [int(ch) for ch in value if ch.isdigit()]
        if not digits:
            return False
        if self.check == "luhn":
            return luhn.is_valid("".join(map(str, digits)))
        weights = self.weights or (1,)
        return sum(d * weights[i % len(weights)] for i, d in enumerate(digits)) % self.modulus == 0


def prefilter_patterns(types: tuple[CustomType, ...]) -> list[str]:
    """Every pattern and deny-list word, as regular expressions for the prefilter."""
    out = [regex for t in types for _, regex, _ in t.patterns]
    out += [r"(?:^|\W)" + re.escape(word) + r"(?:\W|$)" for t in types for word in t.deny_list]
    return out


class CustomTypes:
    """The administrator's types: a prefilter, and Presidio's engine behind it (safe to share)."""

    def __init__(self, types: tuple[CustomType, ...]) -> None:
        self.types = types
        self.entities = tuple(dict.fromkeys(t.entity for t in types))
        self.patterns = prefilter_patterns(types)
        self.prefilter = Prefilter(self.patterns)
        self._engine = _engine(types) if types else None
        self._lock = threading.Lock()  # Presidio's engine is not documented as thread-safe

    def hits(self, text: str, prefiltered: bool = False) -> list[_Hit]:
        """(score, start, end, entity, recognizer) of every custom finding in ``text``;
        ``prefiltered``: the caller's prefilter has already said a pattern may match."""
        if self._engine is None or not (prefiltered or self.prefilter.found(text)):
            return []
        with self._lock:
            results = self._engine.analyze(text, language="en", entities=list(self.entities))
        return [(round(r.score, 4), r.start, r.end, r.entity_type,
                 str((r.recognition_metadata or {}).get("recognizer_name", "Custom")))
                for r in results if r.score > 0]


def _engine(types: tuple[CustomType, ...]) -> Any:
    """Presidio's AnalyzerEngine with one pattern recognizer per type, on WordsNlpEngine."""
    # Here, not at the top: presidio-analyzer loads only once a custom type is enabled.
    from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry  # noqa: PLC0415
    from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine  # noqa: PLC0415

    class WordsNlpEngine(NlpEngine):
        """No model: the words of the text, lower-cased as their lemmas (for context words)."""

        def load(self) -> None:
            """Nothing to load."""

        def is_loaded(self) -> bool:
            return True

        def process_text(self, text: str, language: str) -> NlpArtifacts:
            words = list(_WORD.finditer(text))
            tokens = [m.group() for m in words]
            # A list of words where Presidio types a spaCy Doc: its enhancer only iterates them.
            return NlpArtifacts(entities=[], tokens=tokens,  # type: ignore[arg-type]
                                tokens_indices=[m.start() for m in words],
                                lemmas=[t.lower() for t in tokens], nlp_engine=self, language=language)

        def process_batch(self, texts: Any, language: str, batch_size: int = 1, n_process: int = 1,
                          as_tuples: bool = False, **kwargs: Any) -> Any:
            for text in texts:
                yield text, self.process_text(str(text), language)

        def is_stopword(self, word: str, language: str) -> bool:
            return False

        def is_punct(self, word: str, language: str) -> bool:
            return not any(ch.isalnum() for ch in word)

        def get_supported_entities(self) -> list[str]:
            return []

        def get_supported_languages(self) -> list[str]:
            return ["en"]

    class CustomRecognizer(PatternRecognizer):
        def __init__(self, spec: CustomType) -> None:
            self.spec = spec
            super().__init__(supported_entity=spec.entity, name=spec.name or f"Custom{spec.entity}",
                             patterns=[Pattern(n, r, s) for n, r, s in spec.patterns],
                             context=list(spec.context), deny_list=list(spec.deny_list),
                             deny_list_score=spec.deny_list_score, supported_language="en")

        def invalidate_result(self, pattern_text: str) -> bool:
            return not self.spec.passes(pattern_text)

    registry = RecognizerRegistry(supported_languages=["en"])
    for spec in types:
        registry.add_recognizer(CustomRecognizer(spec))
    return AnalyzerEngine(registry=registry, nlp_engine=WordsNlpEngine(), supported_languages=["en"])
