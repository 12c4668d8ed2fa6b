"""HTML to the text a reader sees, keeping numbers whole, neighbours apart, tables as tables.

Block elements and table rows become line breaks and table cells become
tabs, so digits of neighbouring cells never merge and a table reads as rows
of cells under its header row (detectors.tables finds the header); a table
is set apart by blank lines. Inline elements vanish without a trace, so a
number split by markup (``219-<b>45</b>-6789``) reads whole, as on screen.
Script, style, title, template and Outlook ``<xml>`` islands and comments
are dropped; the content of Outlook conditional comments
(``<!--[if mso]>...<![endif]-->``) is kept, since Outlook shows it.
Whitespace runs, no-break spaces included, become one space, as a browser
renders them.

The markup is tokenized by lxml's HTML parser (libxml2) in event mode: no
tree is built and its cost grows linearly with the input, whatever the
markup (a 300,000-letter tag name, 500,000 unclosed ``<td>``). Before it,
one linear pass with ``str.find`` removes closed comments and hidden
elements; an unclosed comment or script shows its text, where a browser
would hide it to the end, so nothing is hidden from detection.

>>> html_to_text("<p>SSN 219-<b>45</b>-<span>6789</span></p><P>next&nbsp;line &amp; more</P>")
'SSN 219-45-6789\\nnext line & more'
>>> html_to_text("<table><tr><td>123</td><td>456</td></tr><tr><td>7<td>8</table>")
'123\\t456\\n7\\t8'
>>> html_to_text("<style>p{x:1}</style><script>var a=1;</script>A<!-- 999 -->B&#8209;C")
'AB‑C'
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

from lxml import etree

_BLOCK = "\ue000"  # private-use code points mark separators until whitespace
_CELL = "\ue001"  # is collapsed, then become "\n" and "\t"
_TABLE = "\ue002"  # a table's edge: a blank line
_HIDDEN_ELEMENTS = ("script", "style", "title", "xml", "template")
_CONDITIONAL = ("<!--[if", "<![endif]")
_NAME_ENDS = frozenset((" ", "\t", "\n", "\r", "\f", "/", ">"))
_BLOCK_NAMES = frozenset((
    "address article aside blockquote body br caption center dd details dialog dir div dl dt"
    " fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr html legend"
    " li main menu nav ol option p pre section summary tbody tfoot thead tr ul"
).split())
_CELLS = frozenset(("td", "th"))
# A run of marks and the spaces after them, from its first mark: a search that
# skips to the next mark (a pattern starting with spaces is tried at every
# character); the one space a run may have before it is taken off after.
_MARKS = re.compile(f"[{_BLOCK}{_CELL}{_TABLE}][ {_BLOCK}{_CELL}{_TABLE}]*")
# An unclosed hidden element or comment left after the cuts: shown as text.
# An unclosed comment is shown as text; an unclosed hidden element becomes
# an unknown one, whose content shows.
_UNCLOSED = re.compile(r"<(?:(!--)|(?=(script|style|title|xml|template)[\s/>]))", re.IGNORECASE)
# A "<" that opens no tag is text: kept aside as a private-use character, it
# reaches the parser as part of one run of text, not one event per character.
_LONE_LT = re.compile(r"<<*(?![a-zA-Z/!?])")  # "<<*", not "<+": a literal first, found by a fast search
_LT = "\ue003"


def html_to_text(markup: str) -> str:
    """Return the visible text of ``markup``, blocks on lines, cells tab-separated."""
    for mark in (_BLOCK, _CELL, _TABLE, _LT):
        markup = markup.replace(mark, "")
    if "<" not in markup and "&" not in markup:
        return " ".join(markup.split())
    markup = _LONE_LT.sub(_lone, _UNCLOSED.sub(_unclosed, _drop_hidden(markup)))
    text = " ".join(_parse(markup).split()).replace(_LT, "<")
    if not text:
        return text
    # Whitespace is single spaces now, and the only line breaks and tabs are the separators.
    text = _MARKS.sub(_separator, text)
    if " \n" in text or " \t" in text:
        text = text.replace(" \n", "\n").replace(" \t", "\t")  # the space a run of marks had before it
    return text.strip("\t\n")


_LOCAL = threading.local()  # a parser serves one document at a time: one a thread


def _parse(markup: str) -> str:
    """The text and marks of ``markup``, through this thread's parser (made once: making one costs more
    than a short document's parse)."""
    reader: tuple[etree.HTMLParser, _Collector] | None = getattr(_LOCAL, "reader", None)
    # Taken while in use, given back only after a whole parse: a parse cut short (an error, or the
    # scan's time budget, delivered between any two bytecodes) never leaves a parser mid-document.
    _LOCAL.reader = None
    if reader is None:
        collector = _Collector()
        reader = (etree.HTMLParser(target=collector, recover=True, no_network=True,  # type: ignore[arg-type]
                                   remove_comments=True, remove_pis=True), collector)
    parser, collector = reader
    parser.feed(markup)
    parser.close()
    text = "".join(collector.out)
    collector.out.clear()
    _LOCAL.reader = reader
    return text


def _lone(match: re.Match[str]) -> str:
    return _LT * (match.end() - match.start())


def _unclosed(match: re.Match[str]) -> str:
    if match.group(1):
        return "&lt;!--"
    return "<x-"


def _separator(match: re.Match[str]) -> str:
    """The strongest separator of a run of marks: a blank line, a line break or a tab."""
    run = match.group()
    if _TABLE in run:
        return "\n\n"
    return "\n" if _BLOCK in run else "\t"


class _Collector:
    """lxml parser target: keeps text and marks block, cell and table edges."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.data = self.out.append  # text as it comes: no Python call of ours a piece

    def start(self, tag: str, attrib: object) -> None:
        mark = _START_MARKS.get(tag)
        if mark is not None:
            self.out.append(mark)

    def end(self, tag: str) -> None:
        mark = _END_MARKS.get(tag)
        if mark is not None:
            self.out.append(mark)

    def comment(self, text: str) -> None:  # comments are not shown
        pass

    def close(self) -> None:
        pass


def _mark(tag: str) -> str:
    if tag in _CELLS:
        return _CELL
    if tag == "table":
        return _TABLE
    return _BLOCK if tag in _BLOCK_NAMES else ""


# The mark an element's start and end leave (none for inline elements; a cell's end leaves none).
_START_MARKS = {tag: _mark(tag) for tag in (*_BLOCK_NAMES, *_CELLS, "table")}
_END_MARKS = {tag: mark for tag, mark in _START_MARKS.items() if tag not in _CELLS}


def _drop_hidden(markup: str) -> str:
    """Return ``markup`` without comments, scripts, styles and other unseen elements."""
    lower = markup.replace("\u0130", "I").lower()  # U+0130 alone lowers to two characters
    cuts = [*_comment_cuts(lower)]
    for name in _HIDDEN_ELEMENTS:
        cuts.extend(_element_cuts(lower, name))
    if not cuts:
        return markup
    kept: list[str] = []
    pos = 0
    for start, end in sorted(cuts):
        if start >= pos:  # a cut inside an earlier one is gone already
            kept.append(markup[pos:start])
            pos = end
    kept.append(markup[pos:])
    return "".join(kept)


def _element_cuts(lower: str, name: str) -> Iterator[tuple[int, int]]:
    """Yield the spans of closed ``name`` elements; from an unclosed one on, none."""
    opener, closer = "<" + name, "</" + name
    at = lower.find(opener)
    while at >= 0:
        after = at + len(opener)
        if lower[after : after + 1] in _NAME_ENDS:
            close = lower.find(closer, after)
            end = lower.find(">", close) if close >= 0 else -1
            if end < 0:
                return
            yield at, end + 1
            after = end + 1
        at = lower.find(opener, after)


def _comment_cuts(lower: str) -> Iterator[tuple[int, int]]:
    """Yield the spans of comments, but of conditional-comment markers only."""
    at = lower.find("<!")
    while at >= 0:
        end = at + 2
        if lower.startswith(_CONDITIONAL, at):
            end = lower.find(">", at) + 1
        elif lower.startswith(("<!-->", "<!--->"), at):
            end = lower.find(">", at) + 1
        elif lower.startswith("<!--", at):
            end = lower.find("-->", at + 4) + 3
        if end <= 2:
            return
        if end > at + 2:
            yield at, end
        at = lower.find("<!", end)
