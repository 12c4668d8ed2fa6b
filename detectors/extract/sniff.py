"""How to read an attachment: from its leading bytes first, then type and name.

Content wins over labels, which senders control: a spreadsheet renamed
``notes.txt`` is still read as a spreadsheet, and a text file renamed
``photo.jpg`` is still read as text. The answer is a reader ("zip", "pdf",
"message", "html", "text") or, for what cannot be read, an Unscannable
reason. Sources: the formats' signatures (PKWARE APPNOTE 4.3.7, ISO 32000-1
7.5.2, MS-CFB 2.2, PNG, JFIF, GIF, TIFF, WebP, RFC 1952, POSIX ustar).

>>> sniff(b"PK\\x03\\x04...", "a.xlsx", "application/octet-stream")
'zip'
>>> sniff(b"Name,SSN\\n", "photo.jpg", "image/jpeg"), sniff(b"\\x89PNG\\r\\n\\x1a\\n\\0", "", "")
('text', 'image')
>>> sniff(b"\\x00\\x01garbage\\xff", "q1.pdf", "application/pdf")
'corrupt'
"""

from __future__ import annotations

from detectors.extract.text import looks_like_text

READERS = frozenset({"zip", "pdf", "message", "html", "text"})

_ZIP = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_CFB = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CFB_ENCRYPTED = "EncryptionInfo".encode("utf-16-le")
_IMAGES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*")
_PACKED = (b"\x1f\x8b", b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c", b"BZh", b"\xfd7zXZ\x00")
_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_REASON_BY_TYPE = {
    "application/pkcs7-signature": "signature",
    "application/x-pkcs7-signature": "signature",
    "application/pgp-signature": "signature",
    "application/pkcs7-mime": "encrypted",
    "application/x-pkcs7-mime": "encrypted",
    "application/pgp-encrypted": "encrypted",
}
_STRUCTURED = frozenset({".pdf", ".zip", ".docx", ".docm", ".dotx", ".xlsx", ".xlsm", ".xltx", ".pptx", ".pptm"})
_STRUCTURED_TYPES = ("application/pdf", "application/zip", "application/vnd.openxmlformats")


def sniff(data: bytes, name: str, content_type: str) -> str:
    """Return the reader for ``data`` or the reason it cannot be read."""
    ext = extension(name)
    kind = _by_signature(data)
    if kind is not None:
        return kind
    if content_type in _MESSAGE_TYPES or ext == ".eml":
        return "message"
    if looks_like_text(data):
        return "html" if content_type in _HTML_TYPES or ext in (".html", ".htm") else "text"
    if content_type in _REASON_BY_TYPE:
        return _REASON_BY_TYPE[content_type]
    if content_type.startswith("image/"):
        return "image"
    if ext in _STRUCTURED or content_type.startswith(_STRUCTURED_TYPES):
        return "corrupt"
    return "unknown-binary"


def extension(name: str) -> str:
    """Return the lowercased extension of the last component of ``name``."""
    last = name.rpartition("/")[2]
    dot = last.rfind(".")
    return last[dot:].lower() if dot > 0 else ""


def _by_signature(data: bytes) -> str | None:
    """Return the reader or reason that the leading bytes alone decide."""
    head = data[:8]
    if head.startswith(_ZIP):
        return "zip"
    if head.startswith(b"%PDF-") or (b"%PDF-" in data[:1024] and not looks_like_text(data)):
        return "pdf"
    if head.startswith(_CFB):
        return "encrypted" if _CFB_ENCRYPTED in data else "unsupported-format"
    if head.startswith(_IMAGES) or (head.startswith(b"RIFF") and data[8:12] == b"WEBP"):
        return "image"
    if head.startswith(_PACKED) or data[257:262] == b"ustar":
        return "unsupported-format"
    return None
