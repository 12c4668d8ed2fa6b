"""Text layer of a PDF, through pypdf.

A PDF encrypted with an empty user password (only "owner" restrictions, which
every viewer ignores) is opened and read; one needing a password is
Unreadable("encrypted"). AES needs the ``cryptography`` package; without it
such files also count as encrypted. A file pypdf cannot parse is
Unreadable("corrupt"); one whose pages hold no text at all (a scan) is
Unreadable("image"). pypdf warns about odd files; those warnings are
silenced here, around these calls only.
"""

from __future__ import annotations

import io
import warnings

from pypdf import PageObject, PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError

from detectors.extract import Unreadable


def pdf_text(data: bytes, max_pages: int, max_chars: int) -> tuple[str, str | None]:
    """Return a PDF's text and why it is incomplete ("corrupt", "too-large") or None."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reader = _open(data)
        pages: list[str] = []
        problem: str | None = None
        size = 0
        try:
            for number, page in enumerate(reader.pages):
                if number == max_pages or size > max_chars:
                    problem = "too-large"
                    break
                page_text = _page_text(page)
                if page_text is None:
                    problem = "corrupt"
                    continue
                pages.append(page_text)
                size += len(page_text)
        except Exception:  # pypdf raises many types on malformed files
            problem = "corrupt"
    text = "\n\n".join(pages).strip()
    if not text and problem is None:
        raise Unreadable("image")
    return text, problem


def _open(data: bytes) -> PdfReader:
    """Return a reader on ``data``, decrypted with the empty password if needed."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise Unreadable("encrypted")
    except (DependencyError, FileNotDecryptedError, NotImplementedError):
        raise Unreadable("encrypted") from None
    except LimitReachedError:
        raise Unreadable("too-large") from None
    except Unreadable:
        raise
    except Exception:  # pypdf raises many types on malformed files
        raise Unreadable("corrupt") from None
    return reader


def _page_text(page: PageObject) -> str | None:
    """Return one page's text, or None when that page cannot be read."""
    try:
        return page.extract_text()
    except Exception:  # pypdf raises many types on malformed pages
        return None
