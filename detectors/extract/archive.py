"""ZIP members, read one at a time within the limits of a shared Budget.

Before a member is inflated its declared size is checked against what the
message may still inflate, and its declared compression ratio against the
bomb threshold; while it inflates both are checked again on the bytes
actually produced, since headers can lie (zipfile also stops at the declared
size and then fails the CRC). Encrypted members are never read. Sources:
PKWARE APPNOTE.TXT 4.4.4 (general purpose bit 0: encrypted) and 4.3.7.

>>> import io, zipfile
>>> buf = io.BytesIO()
>>> with zipfile.ZipFile(buf, "w") as z:
...     z.writestr("a/march.csv", "219-45-6789")
>>> budget = Budget(inflated=1000, text=1000, parts=10, max_ratio=100, ratio_floor=100)
>>> [(m.name, m.data, m.reason) for m in members(open_zip(buf.getvalue()), 10, budget)]
[('a/march.csv', b'219-45-6789', None)]
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from detectors.extract import Budget, Unreadable

_CHUNK = 1 << 16
_ENCRYPTED = 0x1


@dataclass(frozen=True, slots=True)
class Member:
    """One archive member: its path and bytes, or why they were not read."""

    name: str
    data: bytes | None
    reason: str | None = None


class Archive(zipfile.ZipFile):
    """A ZIP archive read from memory, knowing its real size."""

    def __init__(self, data: bytes) -> None:
        super().__init__(io.BytesIO(data))
        self.size = len(data)


def open_zip(data: bytes) -> Archive:
    """Return ``data`` opened as a ZIP archive; Unreadable("corrupt") if it is not.

    A "version needed to extract" that zipfile refuses (``zip file version
    8.4``) is only a label, which archivers ignore: such an archive is opened
    with the labels lowered, and each member read by its real method.
    """
    try:
        try:
            return Archive(data)
        except NotImplementedError:
            return Archive(_lower_versions(data))
    except NotImplementedError:
        raise Unreadable("unsupported-format") from None
    except Exception:  # zipfile raises many types on hostile directories
        raise Unreadable("corrupt") from None


def _lower_versions(data: bytes) -> bytes:
    """Return ``data`` with each central directory entry's version needed made 2.0."""
    end = data.rfind(b"PK\x05\x06")
    if end < 0 or end + 22 > len(data):
        raise zipfile.BadZipFile
    count, size, offset = struct.unpack_from("<HLL", data, end + 10)
    out = bytearray(data)
    pos = offset
    for _ in range(count):
        if out[pos : pos + 4] != b"PK\x01\x02":
            break
        struct.pack_into("<H", out, pos + 6, 20)
        name, extra, comment = struct.unpack_from("<HHH", out, pos + 28)
        pos += 46 + name + extra + comment
    return bytes(out)


def members(archive: Archive, max_members: int, budget: Budget) -> Iterator[Member]:
    """Yield each file member in turn, its bytes read under ``budget``.

    Past ``max_members`` files, yields one last Member named "" with reason
    "too-many-members".
    """
    count = 0
    for info in archive.infolist():
        if info.filename.endswith("/"):  # not is_dir(), which fails on an empty name
            continue
        if count == max_members:
            yield Member("", None, "too-many-members")
            return
        count += 1
        try:
            yield Member(info.filename, read_member(archive, info, budget))
        except Unreadable as problem:
            yield Member(info.filename, None, problem.reason)


def read_member(archive: Archive, info: zipfile.ZipInfo, budget: Budget) -> bytes:
    """Return a member's inflated bytes, or raise Unreadable before a limit breaks.

    The declared compressed size counts at most the archive's real size, so
    a header claiming more cannot excuse a bomb's ratio.
    """
    if info.flag_bits & _ENCRYPTED:
        raise Unreadable("encrypted")
    compressed = min(info.compress_size, archive.size)
    _check(info.file_size, compressed, budget)
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                budget.inflated_left -= len(chunk)
                _check(size, compressed, budget, spent=True)
                chunks.append(chunk)
    except NotImplementedError:
        raise Unreadable("unsupported-format") from None
    except Unreadable:
        raise
    except Exception:  # zlib, bz2, lzma and zipfile errors: this member is damaged, not the rest
        raise Unreadable("corrupt") from None
    return b"".join(chunks)


def _check(size: int, compressed: int, budget: Budget, spent: bool = False) -> None:
    """Raise Unreadable when ``size`` inflated bytes break the budget or the ratio."""
    if budget.ratio_exceeded(size, compressed):
        raise Unreadable("compression-ratio")
    if budget.inflated_left < (0 if spent else size):
        raise Unreadable("too-large")
