"""Code as it was before the array kernel and the vectorised certificates, kept as oracles: the
greedy on the type network of Python lists and dicts (the new kernel must select exactly the
same applicants), and the certificate loops (the vectorised checks must report exactly the same
violations, in the same order)."""

from __future__ import annotations

import numpy as np

from slotopt.instance.matching import ApplicantTypes, MatchingInstance
from slotopt.verify.matching import MAX_LISTED, Witnesses


# The type network the greedy and the witness builder used before the array kernel (moved here
# from slotopt.engines.matching.network, unchanged): a second, independent implementation.
class TypeNetwork:
    """Mutable residual network over slots; see the module docstring."""

    def __init__(self, types: ApplicantTypes, capacity: np.ndarray) -> None:
        n_slots = len(capacity)
        # Each type tries its slots least-contested first (applicants accepting the slot per
        # place). Where a committed applicant sits never changes who is committed, but sitting
        # where few others want to keeps contested slots free and augmenting paths short.
        demand = np.bincount(
            types.slots, weights=np.repeat(types.size, np.diff(types.indptr)), minlength=n_slots
        ) / np.maximum(capacity, 1)
        owner = np.repeat(np.arange(types.n_types), np.diff(types.indptr))
        order = np.lexsort((types.slots, demand[types.slots], owner))
        flat = types.slots[order].tolist()
        bounds = types.indptr.tolist()
        self.type_slots: list[list[int]] = [
            flat[bounds[t] : bounds[t + 1]] for t in range(types.n_types)
        ]
        self.free: list[int] = capacity.astype(np.int64).tolist()
        self.occ: list[dict[int, int]] = [{} for _ in range(n_slots)]
        self._ptr: list[int] = [0] * types.n_types
        self._stamp: list[int] = [0] * types.n_types
        self._seen: list[int] = [0] * n_slots
        self._parent_slot: list[int] = [0] * n_slots
        self._parent_type: list[int] = [0] * n_slots
        self._search_id = 0
        self.slot_comp: list[int] = [-1] * n_slots
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
        seen = self._seen
        parent_slot = self._parent_slot
        parent_type = self._parent_type
        frontier: list[int] = []
        refs: set[int] = set()
        for s in self.type_slots[t]:
            c = slot_comp[s]
            if c >= 0:
                refs.add(c)
            elif seen[s] != sid:
                seen[s] = sid
                parent_slot[s] = -1
                parent_type[s] = t
                frontier.append(s)
        reached = list(frontier)
        touched = [t]
        occ = self.occ
        type_slots = self.type_slots
        ptr = self._ptr
        free = self.free
        free_slot = self.free_slot
        # Level by level: first ask every occupant type of the frontier for a free slot (an O(1)
        # pointer test), and only expand their slot lists when none has one. Most successful
        # searches end one move away, so the expensive expansion rarely runs.
        while frontier:
            to_expand: list[tuple[int, int]] = []
            for s in frontier:
                for u in occ[s]:
                    if stamp[u] == sid:
                        continue
                    stamp[u] = sid
                    touched.append(u)
                    slots_u = type_slots[u]
                    p = ptr[u]
                    if p >= len(slots_u):
                        f = -1
                    elif free[slots_u[p]] > 0:
                        f = slots_u[p]
                    else:
                        f = free_slot(u)
                    if f >= 0:
                        return self._path(u, s, f)
                    to_expand.append((u, s))
            frontier = []
            for u, s in to_expand:
                for s2 in type_slots[u]:
                    if seen[s2] == sid:
                        continue
                    c = slot_comp[s2]
                    if c >= 0:
                        refs.add(c)
                    else:
                        seen[s2] = sid
                        parent_slot[s2] = s
                        parent_type[s2] = u
                        frontier.append(s2)
            reached.extend(frontier)
        k = len(self.comp_slots)
        self.comp_slots.append(reached)
        self.comp_refs.append(sorted(refs))
        for s in reached:
            slot_comp[s] = k
        for u in touched:
            self.type_comp[u] = k
        return None

    def _path(self, u: int, s: int, f: int) -> list[tuple[int, int, int]]:
        """The moves ending with type ``u`` moving from ``s`` to the free slot ``f``."""
        moves = [(u, s, f)]
        cur = s
        parent_slot, parent_type = self._parent_slot, self._parent_type
        while True:
            prev = parent_slot[cur]
            moves.append((parent_type[cur], prev, cur))
            if prev < 0:
                break
            cur = prev
        moves.reverse()
        return moves

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


def network_greedy(inst: MatchingInstance, order: np.ndarray) -> np.ndarray:
    """Algorithm 1 on :class:`TypeNetwork`; returns the boolean matched mask."""
    types = inst.types
    net = TypeNetwork(types, inst.capacity)
    matched = np.zeros(inst.n_applicants, dtype=bool)
    for i in order.tolist():
        t = int(types.type_of[i])
        if net.is_dead(t):
            continue
        moves = net.search(t)
        if moves is not None:
            net.augment(moves)
            matched[i] = True
    return matched


def loop_check_feasible(inst: MatchingInstance, slot_of: np.ndarray) -> list[str]:
    """Violations of feasibility (acceptable slots only, capacities)."""
    problems: list[str] = []
    if slot_of.shape != (inst.n_applicants,):
        return [f"assignment has {slot_of.shape[0]} rows, expected {inst.n_applicants}"]
    matched = np.flatnonzero(slot_of >= 0)
    if len(matched) and slot_of[matched].max() >= inst.n_slots:
        return ["assignment refers to a slot index outside the instance"]
    counts = np.diff(inst.acc_indptr)
    owner = np.repeat(np.arange(inst.n_applicants), counts)
    accepted = set(zip(owner.tolist(), inst.acc_slot.tolist(), strict=True))
    for i in matched.tolist():
        if (i, int(slot_of[i])) not in accepted:
            problems.append(
                f"applicant {inst.applicant_ids[i]!r} is in slot {inst.slot_ids[slot_of[i]]!r}, "
                "which they did not accept"
            )
    load = np.bincount(slot_of[matched], minlength=inst.n_slots)
    for s in np.flatnonzero(load > inst.capacity).tolist():
        problems.append(
            f"slot {inst.slot_ids[s]!r} holds {load[s]} applicants but has capacity "
            f"{inst.capacity[s]}"
        )
    return problems


def _occupants(inst: MatchingInstance, slot_of: np.ndarray) -> list[list[int]]:
    occ: list[list[int]] = [[] for _ in range(inst.n_slots)]
    for i, s in enumerate(slot_of.tolist()):
        if s >= 0:
            occ[s].append(i)
    return occ


def loop_check_witness_chain(
    inst: MatchingInstance, slot_of: np.ndarray, position: np.ndarray, witnesses: Witnesses
) -> list[str]:
    """Check every priority witness in one pass, linear in the instance size.

    With ``Y_k = components[0] | ... | components[k]`` the claims are: the components are
    disjoint; every slot of ``components[k]`` is full; every applicant sitting in it accepts only
    slots of ``Y_k`` (so each ``Y_k`` is closed); and each unmatched applicant with component
    ``k`` accepts only slots of ``Y_k`` and comes after everyone sitting in ``Y_k``. Nothing here
    uses the search that built the witnesses.
    """
    problems: list[str] = []
    label = np.full(inst.n_slots, -1, dtype=np.int64)
    load = np.bincount(slot_of[slot_of >= 0], minlength=inst.n_slots)
    occupants = _occupants(inst, slot_of)
    n_comp = len(witnesses.components)
    prefix_max = np.zeros(n_comp, dtype=np.int64)
    running = 0
    for k, comp in enumerate(witnesses.components):
        for s in comp:
            if label[s] >= 0:
                problems.append(f"slot {inst.slot_ids[s]!r} is in two witness components")
            label[s] = k
    for k, comp in enumerate(witnesses.components):
        for s in comp:
            if load[s] != inst.capacity[s]:
                problems.append(f"witness slot {inst.slot_ids[s]!r} is not full")
            for b in occupants[s]:
                running = max(running, int(position[b]))
                lab = label[inst.acceptable_slots(b)]
                if ((lab < 0) | (lab > k)).any():
                    problems.append(
                        f"{inst.applicant_ids[b]!r} in witness slot {inst.slot_ids[s]!r} accepts "
                        "a slot outside the witness"
                    )
        prefix_max[k] = running
        if len(problems) > MAX_LISTED:
            return problems
    for i in np.flatnonzero(witnesses.component_of >= 0).tolist():
        k = int(witnesses.component_of[i])
        if not 0 <= k < n_comp:
            problems.append(f"witness of {inst.applicant_ids[i]!r} refers to a missing component")
            continue
        lab = label[inst.acceptable_slots(i)]
        if ((lab < 0) | (lab > k)).any():
            problems.append(f"witness of {inst.applicant_ids[i]!r} misses one of their slots")
        elif prefix_max[k] >= position[i]:
            problems.append(f"witness of {inst.applicant_ids[i]!r} holds someone of lower priority")
        if len(problems) > MAX_LISTED:
            break
    return problems
