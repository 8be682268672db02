"""SHA-256 of many short messages in one compiled loop, for the lotteries at a million ids.

Python's ``hashlib.sha256(m).digest()`` costs about 400 ns a message, almost all of it object
handling: the hashing itself (OpenSSL, with the CPU's SHA instructions where it has them) takes
a tenth of that. :func:`compiled_digests` calls the same OpenSSL library that ``hashlib`` loaded,
through its ``SHA256_Init`` / ``SHA256_Update`` / ``SHA256_Final`` functions, from one
numba-compiled loop over a flat buffer: the same digests, about 60 ns each.

It is used only when everything it needs is there: Linux (where the loaded library is found by
its name without loading a second copy), numba, the three functions, and a self-test that
compares its digests with ``hashlib``'s on messages of every length up to three blocks. Anything
else (or :data:`slotopt.engines.matching.kernel.DISABLE_ENV` set) means ``None``, and callers
use ``hashlib``. The digests are SHA-256's either way; the self-test only guards the wiring.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from slotopt._jit import DISABLE_ENV

#: The sonames of OpenSSL's libcrypto that Python's hashlib links against (3.x, then 1.1).
SONAMES = ("libcrypto.so.3", "libcrypto.so.1.1")
_CTX_BYTES = 512  # SHA256_CTX is 112 bytes; room to spare

_state: dict[str, Any] = {}


def _functions() -> tuple[Any, Any, Any]:
    """SHA256_Init, SHA256_Update, SHA256_Final of the libcrypto hashlib uses, as numba
    first-class functions (their addresses are arguments, so the compiled loop can be cached)."""
    import numba.experimental.function_type  # noqa: F401 - registers the protocol's typing
    from numba import types

    class Address(types.WrapperAddressProtocol):
        def __init__(self, fn: Any, sig: Any) -> None:
            self._address = ctypes.cast(fn, ctypes.c_void_p).value
            self._sig = sig

        def __wrapper_address__(self) -> int:
            return int(self._address or 0)

        def signature(self) -> Any:
            return self._sig

    hashlib.sha256(b"")  # hashlib has loaded libcrypto: the soname below finds that copy
    for name in SONAMES:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        ptr = types.int64  # pointers are passed as 64-bit integers
        return (
            Address(lib.SHA256_Init, types.intc(ptr)),
            Address(lib.SHA256_Update, types.intc(ptr, ptr, types.int64)),
            Address(lib.SHA256_Final, types.intc(ptr, ptr)),
        )
    raise OSError(f"none of {', '.join(SONAMES)} could be loaded")


def digest_loop(
    init: Any, update: Any, final: Any, prefix: Any, data: Any, offsets: Any, out: Any, ctx: Any
) -> None:
    """Row ``k`` of ``out`` = SHA-256 of ``prefix + data[offsets[k]:offsets[k+1]]`` (compiled)."""
    c = np.int64(ctx.ctypes.data)
    p = np.int64(prefix.ctypes.data)
    d = np.int64(data.ctypes.data)
    o = np.int64(out.ctypes.data)
    for k in range(len(offsets) - 1):
        init(c)
        update(c, p, len(prefix))
        update(c, d + offsets[k], offsets[k + 1] - offsets[k])
        final(o + 32 * k, c)


def _build() -> Callable[..., None]:
    import numba

    init, update, final = _functions()
    loop = numba.njit(cache=True, nogil=True)(digest_loop)

    def run(prefix: Any, data: Any, offsets: Any, out: Any, ctx: Any) -> None:
        loop(init, update, final, prefix, data, offsets, out, ctx)

    return run


def _run(fn: Callable[..., None], prefix: bytes, data: bytes, lengths: np.ndarray) -> np.ndarray:
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.frombuffer(data + b"\0", dtype=np.uint8)  # never empty
    out = np.zeros((len(lengths), 32), dtype=np.uint8)
    fn(np.frombuffer(prefix, dtype=np.uint8), flat, offsets, out, np.zeros(_CTX_BYTES, np.uint8))
    return out


def _self_test(fn: Callable[..., None]) -> bool:
    prefix = b"slotopt-self-test\0"
    parts = [bytes(range(33, 33 + k % 90)) * (1 + k // 90) for k in range(200)]
    parts += ["Zoë-ß-試験".encode(), b""]
    got = _run(fn, prefix, b"".join(parts), np.array([len(p) for p in parts], dtype=np.int64))
    want = [hashlib.sha256(prefix + p).digest() for p in parts]
    return [bytes(row) for row in got] == want


def compiled_digests() -> Callable[[bytes, bytes, np.ndarray], np.ndarray] | None:
    """``f(prefix, data, lengths)`` -> (N, 32) uint8 digests of ``prefix + message_k``, where
    message ``k`` is the next ``lengths[k]`` bytes of ``data``; None when not usable (module
    docstring). Compiled and self-tested on first use (about a second), then kept."""
    if os.environ.get(DISABLE_ENV) or not sys.platform.startswith("linux"):
        return None
    if "fn" not in _state:
        fn: Callable[..., None] | None
        try:
            fn = _build()
            if not _self_test(fn):
                fn = None
        except Exception:  # numba missing or unusable, no libcrypto, no such functions
            fn = None
        _state["fn"] = fn
    compiled = _state["fn"]
    if compiled is None:
        return None

    def run(prefix: bytes, data: bytes, lengths: np.ndarray) -> np.ndarray:
        return _run(compiled, prefix, data, lengths)

    return run
