"""Reading the DATA body in the chunks the socket delivers, not a line at a time.

aiosmtpd reads DATA with one ``readuntil(b"\\r\\n")`` (an await, a slice and a
list append) per line: about 0.4 ms of CPU per 10 KB message, a third of a
whole relay transaction (benchmarks/relay/PROFILE.md). ``DataReader`` takes
the bytes as they arrive and gives the same result as aiosmtpd 1.4:

- lines end with CRLF only; a bare CR or LF is part of its line;
- the body ends at the first line that is a lone ``.``; the bytes after it
  (commands a client sent on) are handed back;
- a line that begins with ``.`` loses that dot (RFC 5321 4.5.2);
- a line longer than ``line_limit`` bytes with its CRLF answers
  ``500 Line too long``, and a body over ``size_limit`` bytes (dots and CRLFs
  counted, the final ``.`` line not) answers 552, whichever comes first in
  the stream, as aiosmtpd decides it; after either, the rest is read and dropped.

>>> reader = DataReader(size_limit=100, line_limit=20)
>>> reader.feed(b"Subject: x\\r\\n\\r\\n..dot\\r\\n.")
>>> reader.feed(b"\\r\\nQUIT\\r\\n")
b'QUIT\\r\\n'
>>> reader.state, reader.content()
('ok', b'Subject: x\\r\\n\\r\\n.dot\\r\\n')
"""

from __future__ import annotations

_END = b"\r\n.\r\n"

OK, TOO_LONG, TOO_MUCH = "ok", "too-long", "too-much"


class DataReader:
    """One DATA body, fed chunk by chunk (see the module doc)."""

    def __init__(self, size_limit: int | None, line_limit: int) -> None:
        self.size_limit = size_limit or 0   # 0: no limit (as aiosmtpd)
        self.line_limit = line_limit
        self.state = OK
        self.done = False
        self._chunks: list[bytes] = []
        self._counted = 0      # bytes of the complete lines so far (aiosmtpd's num_bytes)
        self._line = 0         # bytes of the line not yet ended (its CR included)
        self._cr = False       # the bytes so far end with a CR
        self._dots = False     # a line kept may begin with a dot (else nothing to unstuff)
        # The stream's last bytes, to find the end across chunks. It starts as
        # if after a line end: a body may be empty (".\r\n" at once).
        self._tail = b"\r\n"

    def feed(self, data: bytes) -> bytes | None:
        """Take the next bytes; once the body has ended, return what follows it."""
        assert not self.done
        stop, rest = self._end(data)
        if stop is None:
            body = data
        elif stop >= 0:
            body = data[:stop]
        else:   # the "." (and CR) of the last line came with the bytes before
            body = b""
            self._trim(-stop)
        if body and self.state == OK:
            self._account(body)
            if self.state == OK:
                if not self._dots:   # a false alarm (a dot at a chunk's end) only costs a replace
                    self._dots = b"\r\n." in body or b"\r\n." in self._tail[-2:] + body[:2]
                self._chunks.append(body)
            else:
                self._chunks = []   # refused: nothing more is kept
        if stop is None:
            self._tail = (self._tail + data[-4:])[-4:]
            return None
        self.done = True
        return rest

    def content(self) -> bytes:
        """The body as aiosmtpd's ``original_content``: dots unstuffed."""
        assert self.done and self.state == OK
        data = b"".join(self._chunks)
        self._chunks = []
        if data[:1] == b".":
            data = data[1:]
        return data.replace(b"\r\n.", b"\r\n") if self._dots else data

    def _end(self, data: bytes) -> tuple[int | None, bytes]:
        """Where in ``data`` the body ends (after its last CRLF; negative: that
        many bytes already taken are not the body's) and what follows the end."""
        joint = self._tail + data[:4]
        at = joint.find(_END)
        if at >= 0:
            at -= len(self._tail)
        else:
            at = data.find(_END)
            if at < 0:
                return None, b""
        return at + 2, data[at + 5:]

    def _trim(self, size: int) -> None:
        while size and self._chunks:
            last = self._chunks.pop()
            if len(last) > size:
                self._chunks.append(last[:-size])
                return
            size -= len(last)

    def _account(self, body: bytes) -> None:
        """Count ``body``'s lines against the limits (state OK on entry)."""
        if self._line + len(body) + 2 <= self.line_limit:
            # No line can be too long: only the size and where the last line ends matter.
            last = body.rfind(b"\r\n")
            ended = last + 2 if last >= 0 else (1 if self._cr and body[:1] == b"\n" else 0)
            counted = self._counted + self._line + ended if ended else self._counted
            if not self.size_limit or counted <= self.size_limit:
                self._counted = counted
                self._line = len(body) - ended if ended else self._line + len(body)
                self._cr = body[-1:] == b"\r"
                return
        ends: list[int] = []   # the length of each line that ends in ``body``, CRLF left out
        line = self._line
        if self._cr and body[:1] == b"\n":   # a CRLF split between two chunks
            ends.append(line - 1)
            line = 0
            body = body[1:]
        parts = body.split(b"\r\n")
        if len(parts) > 1:
            ends.append(line + len(parts[0]))
            ends.extend(map(len, parts[1:-1]))
            line = len(parts[-1])
        else:
            line += len(parts[0])
        cr = body[-1:] == b"\r"
        partial = line - 1 if cr else line   # the unfinished line, a final CR left out
        counted = self._counted + sum(ends) + 2 * len(ends)
        if ((not self.size_limit or counted <= self.size_limit)
                and (not ends or max(ends) + 2 <= self.line_limit) and partial <= self.line_limit):
            self._counted, self._line, self._cr = counted, line, cr
            return
        for content in ends:   # near or past a limit: line by line, in order, as aiosmtpd
            if content > self.line_limit:   # its readuntil overruns before the line is counted
                self.state = TOO_LONG
                return
            self._counted += content + 2
            if self.size_limit and self._counted > self.size_limit:
                self.state = TOO_MUCH
                return
            if content + 2 > self.line_limit:
                self.state = TOO_LONG
                return
        if partial > self.line_limit:
            self.state = TOO_LONG
        self._line, self._cr = line, cr
