"""XFORWARD: the MTA in front tells us who its client was, and we tell the MTA
behind us, so its re-injection logs name the user's client, not the gateway.

Postfix's XFORWARD_README defines the command: ``XFORWARD attr=value ...``
with the values xtext-encoded (RFC 3461 section 4), accepted only outside a
mail transaction, and kept until the transaction ends. We take NAME, ADDR,
PROTO, HELO and SOURCE, validated so nothing odd reaches logs or the
downstream; a value may also be ``[UNAVAILABLE]`` or ``[TEMPUNAVAIL]``.

>>> parse("NAME=mail.example.org ADDR=192.0.2.7 PROTO=ESMTP HELO=pc7.example.org SOURCE=REMOTE")
XForward(name='mail.example.org', addr='192.0.2.7', proto='ESMTP', helo='pc7.example.org', source='REMOTE')
>>> parse("ADDR=IPV6:2001:db8::7").addr
'IPV6:2001:db8::7'
>>> parse("HELO=[192.0.2.7]+2B").helo   # xtext: +2B is "+"
'[192.0.2.7]+'
>>> parse("ADDR=not-an-address")
Traceback (most recent call last):
...
gateway.xforward.XForwardError: 501 5.5.4 Bad XFORWARD attribute value: ADDR
>>> command(XForward(addr="192.0.2.7", helo="a b"), "NAME ADDR HELO")
'NAME=[UNAVAILABLE] ADDR=192.0.2.7 HELO=a+20b'
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from dataclasses import dataclass

ATTRIBUTES = ("NAME", "ADDR", "PROTO", "HELO", "SOURCE")
EXTENSION = "XFORWARD " + " ".join(ATTRIBUTES)
UNAVAILABLE = ("[UNAVAILABLE]", "[TEMPUNAVAIL]")
OK = "250 2.0.0 Ok"
IN_TRANSACTION = "503 5.5.1 Error: MAIL transaction in progress"

_XTEXT = re.compile(r"\+([0-9A-F]{2})")
_HOSTNAME = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,253}[A-Za-z0-9_.])?$")
_PROTO = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_HELO = re.compile(r"^[\x21-\x7e]{1,255}$")


class XForwardError(ValueError):
    """The command is not acceptable; the text is the SMTP reply."""


@dataclass(frozen=True, slots=True)
class XForward:
    """What the MTA in front said about its client (None: not said)."""

    name: str | None = None
    addr: str | None = None
    proto: str | None = None
    helo: str | None = None
    source: str | None = None

    def merged(self, other: XForward) -> XForward:
        """These attributes with ``other``'s given ones in place (several commands add up)."""
        given = {f.name: getattr(other, f.name) for f in dataclasses.fields(other)
                 if getattr(other, f.name) is not None}
        return dataclasses.replace(self, **given)

    def fields(self) -> dict[str, str]:
        """The attributes given, for the log line."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if getattr(self, f.name) is not None}


def _decode(text: str) -> str:
    return _XTEXT.sub(lambda m: chr(int(m.group(1), 16)), text)


def _encode(text: str) -> str:
    return "".join(c if "!" <= c <= "~" and c not in "+=" else f"+{ord(c):02X}" for c in text)


def _valid(attr: str, value: str) -> bool:
    if value in UNAVAILABLE:
        return True
    if attr == "NAME":
        return bool(_HOSTNAME.match(value))
    if attr == "ADDR":
        try:
            ipaddress.ip_address(value[5:] if value.upper().startswith("IPV6:") else value)
        except ValueError:
            return False
        return True
    if attr == "PROTO":
        return bool(_PROTO.match(value))
    if attr == "HELO":
        return bool(_HELO.match(value))
    return value in ("LOCAL", "REMOTE")


def parse(arg: str) -> XForward:
    """The attributes of one XFORWARD command, validated; XForwardError if not."""
    found: dict[str, str] = {}
    parts = arg.split()
    if not parts:
        raise XForwardError("501 5.5.4 Syntax: XFORWARD attribute=value...")
    for part in parts:
        attr, sep, raw = part.partition("=")
        attr = attr.upper()
        if not sep or attr not in ATTRIBUTES:
            raise XForwardError(f"501 5.5.4 Bad XFORWARD attribute name: {attr[:20] if attr.isalnum() else '?'}")
        value = _decode(raw)
        if not _valid(attr, value):
            raise XForwardError(f"501 5.5.4 Bad XFORWARD attribute value: {attr}")
        found[attr.lower()] = value
    return XForward(**found)


def command(attrs: XForward, offered: str) -> str | None:
    """The XFORWARD arguments for a downstream that offers ``offered`` (its EHLO
    keyword's parameters), or None when it takes none of ours."""
    wanted = {word.upper() for word in offered.split()}
    given = {name.upper(): value for name, value in attrs.fields().items()}
    parts = [f"{attr}={_encode(given.get(attr, UNAVAILABLE[0]))}" for attr in ATTRIBUTES if attr in wanted]
    return " ".join(parts) if parts else None
