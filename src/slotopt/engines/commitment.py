"""Commit-and-reveal for verifiable draws: a published hash now, the secret after the draw.

Before a request window closes the operator publishes ``commitment(secret)``; after the draw it
publishes ``secret``. Anyone can then check ``commitment(secret)`` against what was published and
recompute every lottery number from :func:`draw_seed`. Mixing in public randomness announced
after the window closed (a randomness-beacon value, or lottery numbers drawn in public in the
style of RFC 3797) means the operator could not have chosen the secret to favour anyone:

* ``commitment(secret) = SHA-256(b"slotopt-commit-v1\\0" + secret)`` as 64 lowercase hex digits;
* ``draw_seed(secret, public) = SHA-256(b"slotopt-seed-v1\\0" + secret + b"\\0" + public)`` read as
  a 256-bit big-endian integer (``public`` empty when none is mixed in); this integer is the
  ``seed`` of :mod:`slotopt.engines.lottery`.

For reproducible replays (``slotopt batch-run`` over an instance folder) the secret of each batch
is derived from one master seed: ``replay_secret(seed, batch)``. A live system draws its secret
with :func:`fresh_secret` and keeps it private until the draw.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["commitment", "draw_seed", "fresh_secret", "replay_secret", "reveal_matches"]

_COMMIT_TAG = b"slotopt-commit-v1\0"
_SEED_TAG = b"slotopt-seed-v1\0"
_REPLAY_TAG = b"slotopt-batch-secret-v1\0"


def fresh_secret() -> bytes:
    """32 bytes from the operating system's entropy."""
    return secrets.token_bytes(32)


def replay_secret(seed: int, batch: str) -> bytes:
    """The secret of ``batch`` in a replay seeded with ``seed`` (a non-negative integer)."""
    if int(seed) < 0:
        raise ValueError(f"a seed is a non-negative integer, got {seed}")
    return hashlib.sha256(_REPLAY_TAG + str(int(seed)).encode() + b"\0" + batch.encode()).digest()


def commitment(secret: bytes) -> str:
    """The published commitment to ``secret``: 64 lowercase hex digits."""
    return hashlib.sha256(_COMMIT_TAG + bytes(secret)).hexdigest()


def reveal_matches(published: str, secret: bytes) -> bool:
    """True when ``secret`` is the one ``published`` committed to (constant-time comparison)."""
    return hmac.compare_digest(commitment(secret), published.strip().lower())


def draw_seed(secret: bytes, public: bytes = b"") -> int:
    """The lottery seed of a draw: the secret mixed with the public randomness (may be empty)."""
    d = hashlib.sha256(_SEED_TAG + bytes(secret) + b"\0" + bytes(public)).digest()
    return int.from_bytes(d, "big")
