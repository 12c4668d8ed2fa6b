"""Profiles as configuration: config/policies.yaml, validated at start.

Each profile names the senders it covers, the domains that count as
internal (partners such as the CPUC or a collections agency among them),
the sensitive entities with a minimum score and count, the purpose codes it
accepts, its chain of (rule, action), the statement its disclaimer appends,
and a monitor mode that decides and records but delivers.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator

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


class EntityRule(_Section):
    min_score: float = Field(0.5, ge=0, le=1)
    min_count: int = Field(1, ge=1)


class LinkSettings(_Section):
    rule: RuleName
    action: ActionName


_SENSITIVE = {entity: EntityRule() for entity in sorted(rules.SENSITIVE)}


class ProfileSettings(_Section):
    senders: tuple[str, ...] = ()
    internal_domains: tuple[str, ...] = ()
    partner_domains: tuple[str, ...] = ()
    entities: dict[str, EntityRule] = Field(default_factory=lambda: dict(_SENSITIVE))
    purposes: tuple[Code, ...] = CODES  # type: ignore[assignment]
    chain: tuple[LinkSettings, ...] = Field(min_length=1)
    statement: str | None = None
    monitor: bool = False
    notify_sender: bool = False
    retention_days: int = Field(30, ge=1)
    on_expiry: Literal["delete", "release"] = "delete"

    @model_validator(mode="after")
    def _ends_with_always(self) -> "ProfileSettings":
        if self.chain[-1].rule != "always":
            raise ValueError("the chain must end with rule 'always', so every message gets an action")
        return self


class PoliciesSettings(_Section):
    statements: dict[str, str]
    profiles: dict[str, ProfileSettings]

    @model_validator(mode="after")
    def _consistent(self) -> "PoliciesSettings":
        if "default" not in self.profiles:
            raise ValueError("a profile named 'default' is required (senders no other profile covers)")
        for name, profile in self.profiles.items():
            if profile.statement is not None and profile.statement not in self.statements:
                raise ValueError(f"profile {name!r} names statement {profile.statement!r}, "
                                 f"which is not under statements")
        return self


@dataclass(frozen=True, slots=True)
class Profiles:
    """The loaded profiles: who falls under which, and each one's chain."""

    settings: PoliciesSettings

    def profile_for(self, sender: str) -> str:
        address = sender.lower()
        domain = address.rpartition("@")[2]
        for name, profile in self.settings.profiles.items():
            for entry in profile.senders:
                entry = entry.lower()
                if address == entry or domain == entry or domain.endswith("." + entry):
                    return name
        return "default"

    def chain(self, name: str) -> Chain:
        profile = self.settings.profiles[name]
        return Chain(name, tuple(Link(RULES[link.rule], link.action) for link in profile.chain))


SHIPPED = Path(__file__).with_name(POLICIES_FILE)   # the defaults; config/policies.yaml is a copy


def load(config_dir: Path | None) -> Profiles:
    """Profiles from ``config_dir/policies.yaml`` (the shipped defaults when there
    is no such directory or file); ConfigError names file, line, key and why."""
    if config_dir is None or not (config_dir / POLICIES_FILE).exists():
        return defaults()
    return _load(config_dir / POLICIES_FILE)


@functools.cache
def defaults() -> Profiles:
    """The shipped profiles: CONTRACT.md's table."""
    return _load(SHIPPED)


def _load(path: Path) -> Profiles:
    raw, document = read_yaml(path)
    try:
        return Profiles(PoliciesSettings.model_validate(raw))
    except ValidationError as exc:
        raise ConfigError(describe(exc, path, document)) from None
