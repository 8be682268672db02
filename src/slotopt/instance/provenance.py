"""Where an instance came from: one value that every instance kind carries.

Every kind (matching, offer set, batch, market, choice observations) records the same four
facts: the seed to use when a solve is given none, the folder or file it was read from, the
SHA-256 of each input file, and the ``instance.json`` keys slotopt does not interpret. They
live in one frozen :class:`Provenance`, and each kind exposes them as read-only attributes
through :class:`HasProvenance`, so ``inst.seed``, ``inst.source``, ``inst.input_sha256`` and
``inst.meta`` read the same on every kind.

An instance derived in memory from a loaded one (``MatchingInstance.restrict``) keeps the
hashes of the files it came from and says so in :attr:`Provenance.restricted`: the files
are what it was derived from, not its exact content.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["FrozenMap", "HasProvenance", "Provenance"]


class FrozenMap(Mapping[str, Any]):
    """A read-only copy of a mapping (picklable, equal to a ``dict`` with the same items).

    The copy is shallow: nested values (``meta``'s JSON objects) are shared with the
    argument, as ``dict(mapping)`` would share them.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any] | None = None) -> None:
        self._items = dict(items or {})

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return repr(self._items)

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenMap, (self._items,))


@dataclass(frozen=True)
class Provenance:
    """The provenance of an instance, shared by every kind.

    Attributes
    ----------
    seed : int or None
        The seed a solve uses when it is given none (``instance.json``'s ``seed``).
    source : Path or None
        The folder (or file) the instance was read from, as the caller named it.
    input_sha256 : Mapping of str to str
        SHA-256 of every input file, by file name.
    meta : Mapping of str to Any
        The ``instance.json`` keys slotopt does not interpret, kept and written back.
    restricted : Mapping of str to Any or None
        None for an instance read as it is from its files. For an instance derived in memory
        (``MatchingInstance.restrict``), what was changed: ``{"applicants": "k of n",
        "capacity_changed": bool}``, where ``n`` counts the applicants of the files that
        ``input_sha256`` names. A result records it beside the hashes.
    """

    seed: int | None = None
    source: Path | None = None
    input_sha256: Mapping[str, str] = field(default_factory=FrozenMap)
    meta: Mapping[str, Any] = field(default_factory=FrozenMap)
    restricted: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        # frozen copies: a caller's dict edited later never changes the provenance
        object.__setattr__(self, "input_sha256", FrozenMap(self.input_sha256))
        object.__setattr__(self, "meta", FrozenMap(self.meta))
        if self.restricted is not None:
            object.__setattr__(self, "restricted", FrozenMap(self.restricted))

    def replace(self, **changes: Any) -> Provenance:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)


class HasProvenance:
    """The provenance attributes of every instance kind, read from its ``provenance`` field."""

    provenance: Provenance

    @property
    def seed(self) -> int | None:
        return self.provenance.seed

    @property
    def source(self) -> Path | None:
        return self.provenance.source

    @property
    def input_sha256(self) -> Mapping[str, str]:
        return self.provenance.input_sha256

    @property
    def meta(self) -> Mapping[str, Any]:
        return self.provenance.meta
