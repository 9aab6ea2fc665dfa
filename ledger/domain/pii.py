"""Identity numbers at rest: a keyed HMAC for lookup and AES-256-GCM ciphertext for display.

Numbers are normalised (spaces and dashes dropped, upper case) before hashing, so `1234-567890`
and `1234567890` find the same person. The ciphertext is bound to its context (what it is and
whose) as associated data, so it cannot be moved to another row and still decrypt.
Clear numbers never leave this module except to callers allowed to display them.

Keys rotate online (ADR 0055): a vault may hold the previous key pair beside the current one.
It writes with the current pair only; it opens a ciphertext under either (AES-GCM's tag says
which), and a lookup tries both hashes, until `clmtv db rotate-identity-keys` has re-hashed
and re-sealed every row under the current pair.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger.domain.errors import DomainError, ErrorCode

_NONCE_BYTES = 12


def normalise_number(number: str) -> str:
    return "".join(ch for ch in number if ch not in " -").upper()


class PiiVault:
    def __init__(self, hmac_key: str, encryption_key_b64: str,
                 previous: PiiVault | None = None) -> None:
        key = base64.b64decode(encryption_key_b64)
        if len(key) != 32:
            raise ValueError("the PII encryption key must be 32 bytes (base64-encoded)")
        self._hmac_key = hmac_key.encode()
        self._aead = AESGCM(key)
        # Only the previous vault's own pair is used (never a pair before that).
        self.previous = previous

    @property
    def rotating(self) -> bool:
        """A previous key pair is held: rows may still be hashed and sealed under it."""
        return self.previous is not None

    def lookup_hash(self, kind: str, number: str) -> str:
        """The hash under the current key: what is written."""
        message = f"{kind}\x00{normalise_number(number)}".encode()
        return hmac.new(self._hmac_key, message, hashlib.sha256).hexdigest()

    def lookup_hashes(self, kind: str, number: str) -> list[str]:
        """Every hash a row of this number may carry: the current one first, then the
        previous key's during a rotation."""
        found = [self.lookup_hash(kind, number)]
        if self.previous is not None:
            found.append(self.previous.lookup_hash(kind, number))
        return found

    def seal(self, context: str, number: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, number.encode(), context.encode())

    def open_current(self, context: str, sealed: bytes) -> str | None:
        """The clear number if `sealed` was sealed under the current key (for this context),
        else None."""
        try:
            clear = self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:],
                                       context.encode())
        except Exception:
            return None
        return clear.decode()

    def open(self, context: str, sealed: bytes) -> str:
        clear = self.open_current(context, sealed)
        if clear is None and self.previous is not None:
            clear = self.previous.open_current(context, sealed)
        if clear is None:
            raise DomainError(ErrorCode.FORBIDDEN, "identity number cannot be decrypted")
        return clear


def mask(number: str) -> str:
    """What everyone else sees: the last three characters."""
    tail = normalise_number(number)[-3:]
    return "*" * max(0, len(normalise_number(number)) - 3) + tail
