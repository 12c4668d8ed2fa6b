"""Bytes to text: charset decoding that never fails, and a test for text-like data.

A declared charset is tried first, then a byte-order mark, then UTF-8, then
cp1252, then latin-1 (which decodes anything), so a wrong or unknown label
costs accuracy, never an exception. Supersets replace their subsets the way
mail readers do (WHATWG Encoding Standard, "labels").

>>> decode_text("Café".encode("utf-8"), "us-ascii")
'Café'
>>> decode_text(b"caf\\xe9 \\x80", "utf-8")
'café €'
>>> decode_text(b"\\xef\\xbb\\xbf219", None), decode_text(b"x", "no-such-charset")
('219', 'x')
>>> decode_text(b"SSN 219", "utf-8\\x00"), decode_text(b"\\xff", "rot13")   # junk labels are ignored
('SSN 219', 'ÿ')
>>> looks_like_text(b"Name,SSN\\r\\nAna,219-45-6789\\r\\n")
True
>>> looks_like_text(b"\\x89PNG\\r\\n\\x1a\\n\\x00\\x00\\x00\\rIHDR")
False
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache

from detectors.extract.lines import has_bare_cr

_FALLBACKS = ("utf-8", "cp1252")
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "windows-874": "cp874",
    "tis-620": "cp874",
    "iso-8859-8-i": "iso-8859-8",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "ascii": "utf-8",
    "us-ascii": "utf-8",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
}
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_BOM_STARTS = b"\x00\xef\xfe\xff"
# Bytes that text does not contain: C0 controls other than \t \n \f \r ESC, and DEL.
_CONTROL = bytes([*range(0, 9), 11, *range(14, 27), *range(28, 32), 127])
_NOT_CONTROL = bytes(b for b in range(256) if b not in _CONTROL)
_SAMPLE = 8192
_MAX_CONTROL_SHARE = 0.02


def decode_text(data: bytes, charset: str | None) -> str:
    """Return ``data`` as text, trying ``charset``, a BOM, UTF-8, cp1252, latin-1."""
    bom = bom_codec(data)
    if bom is not None:
        return data.decode(bom, "replace")
    codec = _codec(charset)
    for name in (codec, *_FALLBACKS) if codec else _FALLBACKS:
        try:
            return data.decode(name)
        except (UnicodeError, LookupError, ValueError, TypeError):  # a codec is not a text codec
            continue
    return data.decode("latin-1")


# Codecs that give CR a byte of its own, never part of another character's
# bytes, and decode it as itself: where every CR is one of a CRLF, deleting
# the CR bytes is making CRLF LF in the text.
_LINE_SAFE = frozenset({"utf-8", "ascii", "cp1252", "iso8859-1", "iso8859-15", "cp1250", "cp1251"})
_CRLF = re.compile("\r\n")


def decode_lines(data: bytes, charset: str | None, crlf_only: bool = False) -> str:
    """``decode_text`` with CRLF line ends made LF (so offsets match either form).

    Where every codec that may be tried is one of ``_LINE_SAFE`` and every
    CR stands before an LF, the CR bytes are deleted before decoding: a
    byte pass, several times cheaper than rewriting the text. With
    ``crlf_only`` the caller knows that every CR but maybe the last stands
    before an LF (a slice of a message made all CRLF).

    >>> decode_lines(b"a\\r\\nb\\rc", "utf-8"), decode_lines(b"a\\r\\nb", "utf-8")
    ('a\\nb\\rc', 'a\\nb')
    >>> decode_lines("a\\r\\nb".encode("utf-16"), None)
    'a\\nb'
    """
    if bom_codec(data) is None and b"\r" in data:
        codec = _codec(charset)
        lone_cr = data.endswith(b"\r") if crlf_only else has_bare_cr(data)
        if (codec is None or codec in _LINE_SAFE) and not lone_cr:  # then utf-8, cp1252, latin-1
            return decode_text(data.replace(b"\r", b""), charset)
    text = decode_text(data, charset)
    return _CRLF.sub("\n", text) if "\r" in text else text


def bom_codec(data: bytes) -> str | None:
    """Return the codec named by the byte-order mark that starts ``data``."""
    if data[:1] not in _BOM_STARTS:
        return None
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return codec
    return None


def looks_like_text(data: bytes) -> bool:
    """Return whether ``data`` reads as text: no NUL, almost no control bytes."""
    if bom_codec(data) is not None:
        return True
    sample = data[:_SAMPLE]
    if b"\x00" in sample:
        return False
    controls = len(sample.translate(None, _NOT_CONTROL))
    return controls <= len(sample) * _MAX_CONTROL_SHARE


@lru_cache(maxsize=256)  # a message names its charset several times; codecs.lookup is not free
def _codec(charset: str | None) -> str | None:
    """Return a codec name for a MIME charset label, or None when unusable."""
    if not charset:
        return None
    label = charset.strip().strip("\"'").lower()
    if not label or len(label) > 40 or not label.isprintable() or not label.isascii():
        return None
    label = _SUPERSETS.get(label, label)
    try:
        codec = codecs.lookup(label)
    except (LookupError, ValueError):  # ValueError: a NUL in the label
        return None
    return codec.name if getattr(codec, "_is_text_encoding", True) else None
