"""The slot network with type-level occupancy, shared by the greedy and the witness builder.

Applicants with the same acceptable set are one *type*. The network holds how many applicants of
each type sit in each slot and each slot's free capacity. ``search(t)`` looks for an augmenting
path that makes room for one more applicant of type ``t``: a chain of occupants each moving to
another slot they accept, ending in a free slot. It is a breadth-first search over slots in which
each type is expanded once (moving any one member of a type is as good as any other).

Two facts make it fast (both follow from free capacity never increasing along the greedy):

* a type with no free acceptable slot stays that way, so "first free slot of a type" is a
  pointer that only moves forward;
* when a search fails, every slot it reached is full and every occupant of those slots accepts
  only slots it reached (or slots already dead): that set is closed and full, and stays so for
  the rest of the run. Its slots are marked *dead* and never explored again, and every type it
  touched can never be added again. The closed set is also exactly the certificate (witness)
  that the applicant could not be added without displacing a higher-priority one.

Dead sets are recorded as *components*: component ``k`` holds the slots that search ``k`` marked
dead and refers to the earlier components it ran into; the witness set is the union over the
references (``closure``).
"""

from __future__ import annotations

import numpy as np

from slotopt.instance.matching import ApplicantTypes


class TypeNetwork:
    """Mutable residual network over slots; see the module docstring."""

    def __init__(self, types: ApplicantTypes, capacity: np.ndarray) -> None:
        flat = types.slots.tolist()
        bounds = types.indptr.tolist()
        self.type_slots: list[list[int]] = [
            flat[bounds[t] : bounds[t + 1]] for t in range(types.n_types)
        ]
        self.free: list[int] = capacity.astype(np.int64).tolist()
        self.occ: list[dict[int, int]] = [{} for _ in range(len(capacity))]
        self._ptr: list[int] = [0] * types.n_types
        self._stamp: list[int] = [0] * types.n_types
        self._search_id = 0
        self.slot_comp: list[int] = [-1] * len(capacity)
        self.type_comp: list[int] = [-1] * types.n_types
        self.comp_slots: list[list[int]] = []
        self.comp_refs: list[list[int]] = []

    # -- occupancy -------------------------------------------------------------------------
    def place(self, t: int, s: int) -> None:
        """Put one applicant of type ``t`` into slot ``s`` (which must have room)."""
        self.free[s] -= 1
        occ = self.occ[s]
        occ[t] = occ.get(t, 0) + 1

    def _move(self, t: int, src: int, dst: int) -> None:
        occ = self.occ[src]
        left = occ[t] - 1
        if left:
            occ[t] = left
        else:
            del occ[t]
        self.free[src] += 1
        self.place(t, dst)

    def free_slot(self, t: int) -> int:
        """A free slot type ``t`` accepts (the first in its list), or -1."""
        slots = self.type_slots[t]
        p = self._ptr[t]
        free = self.free
        n = len(slots)
        while p < n and free[slots[p]] <= 0:
            p += 1
        self._ptr[t] = p
        return slots[p] if p < n else -1

    def is_dead(self, t: int) -> bool:
        return self.type_comp[t] >= 0

    # -- search ----------------------------------------------------------------------------
    def search(self, t: int) -> list[tuple[int, int, int]] | None:
        """Find room for one more applicant of type ``t``.

        Returns
        -------
        list of (type, from_slot, to_slot) moves, or None
            The moves that make room; the last move's ``to_slot`` is free and the first move is
            ``(t, -1, slot)`` (the newcomer). None when no room exists; then the reached slots are
            recorded as a dead component and ``type_comp[t]`` points at it.
        """
        if self.type_comp[t] >= 0:
            return None
        f = self.free_slot(t)
        if f >= 0:
            return [(t, -1, f)]
        self._search_id += 1
        sid = self._search_id
        stamp = self._stamp
        stamp[t] = sid
        slot_comp = self.slot_comp
        parent: dict[int, tuple[int, int]] = {}
        queue: list[int] = []
        refs: set[int] = set()
        for s in self.type_slots[t]:
            c = slot_comp[s]
            if c >= 0:
                refs.add(c)
            elif s not in parent:
                parent[s] = (-1, t)
                queue.append(s)
        touched = [t]
        head = 0
        occ = self.occ
        type_slots = self.type_slots
        while head < len(queue):
            s = queue[head]
            head += 1
            for u in occ[s]:
                if stamp[u] == sid:
                    continue
                stamp[u] = sid
                touched.append(u)
                f = self.free_slot(u)
                if f >= 0:
                    moves = [(u, s, f)]
                    cur = s
                    while True:
                        prev, mover = parent[cur]
                        moves.append((mover, prev, cur))
                        if prev < 0:
                            break
                        cur = prev
                    moves.reverse()
                    return moves
                for s2 in type_slots[u]:
                    if s2 in parent:
                        continue
                    c = slot_comp[s2]
                    if c >= 0:
                        refs.add(c)
                    else:
                        parent[s2] = (s, u)
                        queue.append(s2)
        k = len(self.comp_slots)
        self.comp_slots.append(queue)
        self.comp_refs.append(sorted(refs))
        for s in queue:
            slot_comp[s] = k
        for u in touched:
            self.type_comp[u] = k
        return None

    def augment(self, moves: list[tuple[int, int, int]]) -> None:
        """Apply the moves returned by :meth:`search` (last move first, so each has room)."""
        for u, src, dst in reversed(moves):
            if src < 0:
                self.place(u, dst)
            else:
                self._move(u, src, dst)

    # -- witnesses -------------------------------------------------------------------------
    def closure(self, k: int) -> list[int]:
        """All slots of component ``k`` and the components it refers to, sorted."""
        seen = {k}
        stack = [k]
        out: list[int] = []
        while stack:
            c = stack.pop()
            out.extend(self.comp_slots[c])
            for r in self.comp_refs[c]:
                if r not in seen:
                    seen.add(r)
                    stack.append(r)
        return sorted(out)
