"""Encryption at rest for quarantined content: AES-256-GCM with a file key.

Each message is sealed with a fresh random 96-bit nonce and its quarantine id as
associated data, so a ciphertext copied onto another row fails to decrypt. The
stored blob is ``nonce || ciphertext+tag``; beside it the store keeps the key id
(first 8 hex digits of SHA-256 of the key) that sealed it.

Key rotation (not automated yet): create a new key file and point the gateway at
it; keep the old key files, read-only (mode 0400), and pass them as
``old_keys`` so rows sealed under their key ids still decrypt. New rows always
use the current key. A re-encryption job can later move old rows forward, after
which the old key files can be destroyed.

Source: NIST SP 800-38D (GCM); cryptography's ``AESGCM``.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12


class KeyFileError(Exception):
    """A key file is missing, malformed or has unsafe permissions."""


class ContentDecryptError(Exception):
    """Stored content cannot be decrypted with the keys we hold."""


@dataclass(frozen=True, slots=True)
class Key:
    """A 256-bit AES-GCM key; the material never appears in repr."""

    material: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.material) != KEY_BYTES:
            raise KeyFileError(f"key must be {KEY_BYTES} bytes")

    @property
    def key_id(self) -> str:
        """Return the first 8 hex digits of SHA-256 of the key."""
        return hashlib.sha256(self.material).hexdigest()[:8]

    @classmethod
    def generate(cls) -> Key:
        """Return a new random key (not saved anywhere)."""
        return cls(secrets.token_bytes(KEY_BYTES))

    @classmethod
    def load_existing(cls, path: Path) -> Key:
        """Load an existing key file (an old key kept for decryption)."""
        try:
            return cls(_read_key_file(path))
        except FileNotFoundError:
            raise KeyFileError(f"key file {path} does not exist") from None

    @classmethod
    def load_or_create(cls, path: Path) -> Key:
        """Load the key at ``path``, creating it (mode 0600) if it does not exist."""
        try:
            return cls(_create_key_file(path))
        except FileExistsError:
            return cls(_read_key_file(path))


def _create_key_file(path: Path) -> bytes:
    """Write a new random key with O_EXCL so an existing key is never overwritten."""
    path.parent.mkdir(parents=True, exist_ok=True)
    material = secrets.token_bytes(KEY_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, material)
        os.fsync(fd)
    finally:
        os.close(fd)
    return material


def _read_key_file(path: Path) -> bytes:
    """Read a key file, refusing one that group or others can access."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(
            f"key file {path} has mode {mode:04o}; it must not be accessible by "
            f"group or others (run: chmod 600 {path})"
        )
    material = path.read_bytes()
    if len(material) != KEY_BYTES:
        raise KeyFileError(f"key file {path} must hold exactly {KEY_BYTES} bytes")
    return material


def seal(key: Key, message_id: str, plaintext: bytes) -> bytes:
    """Return ``nonce || ciphertext`` for ``plaintext`` bound to ``message_id``."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(key.material).encrypt(nonce, plaintext, message_id.encode())


def unseal(keys: Iterable[Key], key_id: str, message_id: str, blob: bytes) -> bytes:
    """Return the plaintext of a sealed blob, or raise ContentDecryptError."""
    key = next((k for k in keys if k.key_id == key_id), None)
    if key is None:
        raise ContentDecryptError(
            f"content of {message_id} was sealed with key id {key_id}, "
            "which is not among the configured keys"
        )
    nonce, body = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
    try:
        return AESGCM(key.material).decrypt(nonce, body, message_id.encode())
    except InvalidTag:
        raise ContentDecryptError(
            f"content of {message_id} failed authentication under key id {key_id} "
            "(wrong key or tampered row)"
        ) from None
