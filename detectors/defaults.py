"""The detectors' defaults, defined once: extraction limits and the utility account
formats. Plain data that imports nothing, so the configuration (gateway.config)
takes its defaults from here and the detectors run with them when not configured.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on the work and memory one extraction may take."""

    max_depth: int = 3  # ZIP and attached-message containers inside one another
    max_members: int = 1000  # files read per archive
    max_inflated_bytes: int = 100 * 1024 * 1024  # decompressed, whole message
    max_ratio: int = 100  # inflated / compressed, per member ...
    ratio_floor_bytes: int = 1024 * 1024  # ... once it inflates past this
    max_text_chars: int = 20_000_000  # extracted, whole message
    max_mime_depth: int = 30  # multiparts inside one another
    max_parts: int = 2000  # MIME parts, whole message
    max_pdf_pages: int = 500  # pages read per PDF


@dataclass(frozen=True, slots=True)
class AccountFormat:
    """One utility's account number shape: grouped (``d-dd-ddd-dddd``) or plain digits.

    ``context`` words label the format (beside the module's CONTEXT words);
    ``window`` is kept for configuration files but distance is now counted in
    words (detectors.context.MAX_WORDS).
    """

    name: str
    utility: str
    context: tuple[str, ...]
    window: int = 60
    layout: str | None = None  # "d-dd-ddd-dddd": digit groups and their separator
    digits: tuple[int, int] | None = None  # plain digits, min and max
    check: str | None = None  # "luhn"

    @property
    def groups(self) -> tuple[int, ...]:
        return tuple(len(part) for part in (self.layout or "").replace(".", "-").replace(" ", "-").split("-"))


DEFAULT_FORMATS = (
    AccountFormat("sce-customer", "Southern California Edison",
                  ("account", "acct", "customer", "sce", "edison"), layout="d-dd-ddd-dddd"),
    AccountFormat("sce-service", "Southern California Edison",
                  ("account", "acct", "service", "sce", "edison"), layout="d-ddd-dddd-dd"),
    AccountFormat("water", "Water utility (generic)",
                  ("account", "acct", "acct#", "account no", "account number"), window=30, digits=(8, 12)),
)
