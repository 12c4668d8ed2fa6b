"""Accounts of the review app: roles, profile limits and Argon2 password hashes.

Accounts live in the quarantine database (table ``review_users``), so every
gateway sharing one PostgreSQL store knows the same people. A reviewer may be
limited to some profiles; an admin sees every profile and manages accounts.
Hashes use argon2-cffi's defaults (Argon2id, RFC 9106 low-memory profile).

Passwords are judged by strength, not only length (NIST SP 800-63B 5.1.1.2:
refuse what is commonly used, expected or compromised): zxcvbn estimates the
guesses needed, with the account name among the words it tries, and a
password below ``MIN_SCORE`` or containing the account name is refused with
zxcvbn's advice. zxcvbn judges at most ``ZXCVBN_MAX`` characters (its cost
grows faster than the length): a longer password is judged by its start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from gateway.quarantine.records import AuditEntry, LastAdminError, ReviewUser
from gateway.quarantine.store import ReviewStore

ROLES = ("reviewer", "admin")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
MIN_SCORE = 3          # zxcvbn: "safely unguessable", about 10^10 guesses
ZXCVBN_MAX = 72        # zxcvbn 4.5 refuses longer input
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_hasher = PasswordHasher()
# Verified against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class UserError(Exception):
    """An account cannot be created or changed; the text says why."""


@dataclass(frozen=True, slots=True)
class Access:
    """Who is acting and what they may see."""

    name: str
    role: str
    profiles: tuple[str, ...]

    @property
    def admin(self) -> bool:
        return self.role == "admin"

    @property
    def allowed(self) -> tuple[str, ...] | None:
        """The profiles this person may see; None for all of them."""
        return None if self.admin or not self.profiles else self.profiles

    def may_see(self, profile: str) -> bool:
        allowed = self.allowed
        return allowed is None or profile in allowed

    @classmethod
    def of(cls, user: ReviewUser) -> Access:
        return cls(user.name, user.role, user.profiles)


def add(store: ReviewStore, name: str, role: str, profiles: tuple[str, ...], password: str,
        known_profiles: set[str], actor: str) -> ReviewUser:
    """Create an account (audited as "user-add"); UserError says what is wrong."""
    if not _NAME.match(name):
        raise UserError("names are 1-64 letters, digits and . _ @ -, starting with a letter or digit")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    unknown = sorted(set(profiles) - known_profiles)
    if unknown:
        raise UserError(f"unknown profile(s): {', '.join(unknown)} (known: {', '.join(sorted(known_profiles))})")
    check_password(password, name)
    user = ReviewUser(name, role, tuple(sorted(set(profiles))), _hasher.hash(password))
    entry = AuditEntry("user-add", actor, {"user": name, "role": role, "profiles": list(user.profiles)})
    if not store.add_user(user, entry):
        raise UserError(f"an account named {name!r} already exists")
    return user


def check_password(password: str, name: str) -> None:
    """Refuse a password that is short, contains the account name, or is easy to guess.

    >>> check_password("correct horse battery staple", "alice")
    >>> check_password("alice-2026-alice-2026", "alice")
    Traceback (most recent call last):
    ...
    gateway.review.users.UserError: the password must not contain the account name
    >>> check_password("password1234", "bob")
    Traceback (most recent call last):
    ...
    gateway.review.users.UserError: the password is too easy to guess: This is a very common password. Add another word or two. Uncommon words are better.
    """
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise UserError(f"the password must have at most {MAX_PASSWORD} characters")
    if len(name) >= 3 and name.lower() in password.lower():   # shorter names: zxcvbn weighs them
        raise UserError("the password must not contain the account name")
    judged = zxcvbn(password[:ZXCVBN_MAX], user_inputs=[name, *re.split(r"[._@-]+", name)])
    if judged["score"] < MIN_SCORE:
        feedback = judged.get("feedback") or {}
        advice = " ".join([feedback.get("warning") or "", *feedback.get("suggestions", [])]).strip()
        raise UserError("the password is too easy to guess" + (f": {advice}" if advice else ""))


def disable(store: ReviewStore, name: str, actor: str) -> None:
    """Disable an account (audited as "user-disable"); UserError when there is none to disable, it
    is the acting person's own, or it is the last enabled admin (nobody could manage accounts then)."""
    if name == actor:
        raise UserError("you cannot disable your own account")
    try:
        disabled = store.disable_user(name, AuditEntry("user-disable", actor, {"user": name}))
    except LastAdminError:
        raise UserError(f"{name!r} is the last enabled admin; add another admin first") from None
    if not disabled:
        raise UserError(f"no enabled account named {name!r}")


def authenticate(store: ReviewStore, name: str, password: str) -> ReviewUser | None:
    """Return the enabled account whose password this is, or None."""
    user = store.get_user(name)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        store.set_password_hash(user.name, _hasher.hash(password))
    return user
