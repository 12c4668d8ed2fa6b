"""Profiles as configuration: config/policies.yaml, validated at start.

Each profile names the senders it covers, the domains that count as
internal (partners such as the CPUC or a collections agency among them),
the sensitive entities with a minimum score and count, the purpose codes it
accepts, its chain of (rule, action), the statement its disclaimer appends,
and a monitor mode that decides and records but delivers.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, ValidationError, ValidationInfo, model_validator

from gateway.config import ConfigError, _Section, describe, read_yaml
from gateway.policy import rules
from gateway.policy.chains import Chain, Link
from gateway.policy.purpose import CODES

POLICIES_FILE = "policies.yaml"
RULES = {"internal-only": rules.all_internal, "unscannable": rules.unreadable_part,
         "business-purpose": rules.sensitive_with_purpose, "card-data": rules.has_card,
         "sensitive-data": rules.has_sensitive, "always": rules.always}
RuleName = Literal["internal-only", "unscannable", "business-purpose", "card-data", "sensitive-data", "always"]
ActionName = Literal["deliver", "disclaimer", "quarantine", "block", "redact"]
Code = Literal["legal-compliance", "customer-service", "collections", "credit-reporting",
               "dispute-resolution", "program-communication", "imminent-threat"]


def _read_sender_file(value: object, info: ValidationInfo) -> tuple[str, ...]:
    """A group list: one address or domain per line, ``#`` comments; the path
    is relative to the policies file."""
    if not isinstance(value, str):
        raise ValueError("give a file path")
    base = (info.context or {}).get("base", Path("."))
    path = Path(value) if Path(value).is_absolute() else base / value
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeError) as exc:
        raise ValueError(f"cannot read sender list {str(path)!r}: {getattr(exc, 'strerror', None) or exc}") from None
    entries = tuple(line.split("#", 1)[0].strip().lower() for line in lines)
    bad = [n for n, e in enumerate(entries, 1) if e and (" " in e or e.count("@") > 1)]
    if bad:
        raise ValueError(f"{path}:{bad[0]}: not an address or domain")
    return tuple(e for e in entries if e)


SenderFile = Annotated[tuple[str, ...], BeforeValidator(_read_sender_file)]


class EntityRule(_Section):
    min_score: float = Field(0.5, ge=0, le=1)
    min_count: int = Field(1, ge=1)


class LinkSettings(_Section):
    rule: RuleName
    action: ActionName


_SENSITIVE = {entity: EntityRule() for entity in sorted(rules.SENSITIVE)}


class ProfileSettings(_Section):
    senders: tuple[str, ...] = ()
    sender_files: tuple[SenderFile, ...] = ()   # after loading: the entries of each file
    internal_domains: tuple[str, ...] = ()
    partner_domains: tuple[str, ...] = ()
    entities: dict[str, EntityRule] = Field(default_factory=lambda: dict(_SENSITIVE))
    purposes: tuple[Code, ...] = CODES  # type: ignore[assignment]
    chain: tuple[LinkSettings, ...] = Field(min_length=1)
    statement: str | None = None
    monitor: bool = False
    sender_domain_internal: bool = True
    notify_sender: bool = False
    retention_days: int = Field(30, ge=1)
    on_expiry: Literal["delete", "release"] = "delete"
    release_note: Literal["optional", "required"] = "optional"   # the note names who authorized a release

    @model_validator(mode="after")
    def _ends_with_always(self) -> ProfileSettings:
        if self.chain[-1].rule != "always":
            raise ValueError("the chain must end with rule 'always', so every message gets an action")
        if self.statement is None and any(link.action == "disclaimer" for link in self.chain):
            raise ValueError("the chain has a disclaimer action but the profile names no statement")
        if self.release_note == "required" and self.on_expiry == "release":
            raise ValueError("on_expiry: release would release without the authorization that "
                             "release_note: required asks for; use on_expiry: delete")
        return self


class PoliciesSettings(_Section):
    statements: dict[str, str]
    profiles: dict[str, ProfileSettings]

    @model_validator(mode="after")
    def _consistent(self) -> PoliciesSettings:
        if "default" not in self.profiles:
            raise ValueError("a profile named 'default' is required (senders no other profile covers)")
        owner: dict[str, str] = {}
        for name, profile in self.profiles.items():
            if profile.statement is not None and profile.statement not in self.statements:
                raise ValueError(f"profile {name!r} names statement {profile.statement!r}, "
                                 f"which is not under statements")
            for entry in (*profile.senders, *(e for group in profile.sender_files for e in group)):
                other = owner.setdefault(entry.lower(), name)
                if other != name:
                    raise ValueError(f"sender {entry!r} is listed by profiles {other!r} and {name!r}; "
                                     f"a sender belongs to one profile")
        return self


@dataclass(frozen=True, slots=True)
class Plan:
    """One profile, ready to decide with."""

    settings: ProfileSettings
    chain: Chain
    internal: tuple[str, ...]       # internal and partner domains
    accepted: tuple[str, ...]       # purpose codes, when the chain has a business-purpose link
    statement: str | None           # the statement's text


@dataclass(frozen=True, slots=True)
class Profiles:
    """The loaded profiles: who falls under which, and each one's chain."""

    settings: PoliciesSettings
    _senders: dict[str, str] = field(default_factory=dict, repr=False)
    _plans: dict[str, Plan] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # An address or domain named by two profiles belongs to the first.
        for name, profile in self.settings.profiles.items():
            for entry in (*profile.senders, *(e for group in profile.sender_files for e in group)):
                self._senders.setdefault(entry.lower(), name)

    def profile_for(self, sender: str) -> str:
        """The profile of ``sender``: its address, else its domain or the nearest
        parent domain that a profile names, else ``default``."""
        address = sender.lower()
        found = self._senders.get(address)
        if found is not None:
            return found
        domain = address.rpartition("@")[2]
        while domain:
            found = self._senders.get(domain)
            if found is not None:
                return found
            domain = domain.partition(".")[2]
        return "default"

    def chain(self, name: str) -> Chain:
        return self.plan(name).chain

    def plan(self, name: str) -> Plan:
        """What deciding under profile ``name`` needs, computed once per profile."""
        plan = self._plans.get(name)
        if plan is None:
            profile = self.settings.profiles[name]
            chain = Chain(name, tuple(Link(RULES[link.rule], link.action) for link in profile.chain))
            uses_purpose = any(link.rule == "business-purpose" for link in profile.chain)
            statement = self.settings.statements[profile.statement] if profile.statement else None
            plan = self._plans[name] = Plan(
                profile, chain, profile.internal_domains + profile.partner_domains,
                profile.purposes if uses_purpose else (), statement)
        return plan


SHIPPED = Path(__file__).with_name(POLICIES_FILE)   # the defaults; config/policies.yaml is a copy


def load(config_dir: Path | None) -> Profiles:
    """Profiles from ``config_dir/policies.yaml`` (the shipped defaults when there
    is no such directory or file); ConfigError names file, line, key and why."""
    if config_dir is None or not (config_dir / POLICIES_FILE).exists():
        return defaults()
    return _load(config_dir / POLICIES_FILE)


def load_file(path: Path) -> Profiles:
    """Profiles from one policies file (a candidate to compare with, say); ConfigError as load()."""
    return _load(path)


@functools.cache
def defaults() -> Profiles:
    """The shipped profiles: CONTRACT.md's table."""
    return _load(SHIPPED)


def _load(path: Path) -> Profiles:
    raw, document = read_yaml(path)
    try:
        return Profiles(PoliciesSettings.model_validate(raw, context={"base": path.parent}))
    except ValidationError as exc:
        raise ConfigError(describe(exc, path, document)) from None
