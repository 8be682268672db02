"""Certificates for a matching result, independent of the method that produced it.

* **feasible** — every matched applicant sits in a slot they accept, no slot over capacity (one
  slot per applicant holds by construction of ``slot_of``).
* **maximum** — the matched count equals the maximum-flow value computed by scipy on the
  type network (an algorithm that shares no code with ours), and the union of the priority
  witnesses is a Hall deficiency witness: a set X of slots, all full, whose occupants accept only
  slots in X, so no matching can serve more than ``capacity(X)`` of the applicants who accept only
  slots in X.
* **respects priorities** (Arnosti, Definition 3) — for each unmatched applicant ``a`` a witness X:
  a set of slots containing all of ``a``'s acceptable slots, filled to capacity by applicants of
  higher position whose acceptable slots all lie in X. Then no feasible matching serves ``a``
  together with every higher-priority matched applicant.

Witnesses are *built* with the same search the greedy uses (replaying the result in priority
order), but *checked* by :func:`check_witness`, a few lines of plain counting that trust nothing
else; a wrong witness cannot pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_flow

from slotopt.engines.matching.network import TypeNetwork
from slotopt.instance.matching import MatchingInstance

MAX_LISTED = 20


@dataclass(frozen=True)
class Witnesses:
    """Priority witnesses as a chain of dead components.

    ``components[k]`` are the slots (indices) that the ``k``-th failed search found full and
    closed, in the order the searches ran (that is, in priority order); they are disjoint.
    ``component_of[i]`` is the component of unmatched applicant ``i`` (-1 for matched applicants
    and for those who accepted nothing). The witness of ``i`` with component ``k`` is the union
    ``components[0] | ... | components[k]``; :meth:`tight` gives the smaller set actually reached
    from ``i``'s slots (``refs`` lists the earlier components each one ran into).
    """

    component_of: np.ndarray
    components: tuple[tuple[int, ...], ...]
    refs: tuple[tuple[int, ...], ...]

    def tight(self, i: int) -> tuple[int, ...]:
        """The slots reachable from applicant ``i``'s: a (usually much smaller) valid witness."""
        k = int(self.component_of[i])
        if k < 0:
            return ()
        seen = {k}
        stack = [k]
        out: list[int] = []
        while stack:
            c = stack.pop()
            out.extend(self.components[c])
            for r in self.refs[c]:
                if r not in seen:
                    seen.add(r)
                    stack.append(r)
        return tuple(sorted(out))


@dataclass(frozen=True)
class MatchingReport:
    """Outcome of :func:`check_matching`; ``violations`` lists every failed check (first 20 of
    each kind are spelled out)."""

    feasible: bool
    maximum: bool
    respects_priorities: bool
    n_matched: int
    max_flow: int
    violations: tuple[str, ...]
    witnesses: Witnesses | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.feasible and self.maximum and self.respects_priorities

    def describe(self) -> str:
        marks = {True: "ok", False: "FAILED"}
        lines = [
            f"feasible: {marks[self.feasible]}",
            f"maximum: {marks[self.maximum]} ({self.n_matched} matched, max flow {self.max_flow})",
            f"respects priorities: {marks[self.respects_priorities]}",
        ]
        lines += [f"  - {v}" for v in self.violations[:MAX_LISTED]]
        return "\n".join(lines)


def check_feasible(inst: MatchingInstance, slot_of: np.ndarray) -> list[str]:
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


def max_flow_value(inst: MatchingInstance) -> int:
    """The maximum number of applicants matchable at once (scipy max flow over types)."""
    types = inst.types
    n_t, n_s = types.n_types, inst.n_slots
    source, sink = 0, 1 + n_t + n_s
    counts = np.diff(types.indptr)
    big = int(min(types.size.max(initial=0), np.iinfo(np.int32).max))
    rows = np.concatenate(
        [np.zeros(n_t, np.int64), 1 + np.repeat(np.arange(n_t), counts), 1 + n_t + np.arange(n_s)]
    )
    cols = np.concatenate(
        [1 + np.arange(n_t), 1 + n_t + types.slots, np.full(n_s, sink, dtype=np.int64)]
    )
    # scipy needs int32 capacities: a slot serves at most the applicants who accept it, so
    # clipping there keeps the flow exact for any capacity (2**40, 2**62)
    acceptors = np.bincount(inst.acc_slot, minlength=n_s)
    seats = np.minimum(inst.capacity, acceptors)
    caps = np.concatenate([types.size, np.full(len(types.slots), big), seats]).astype(np.int32)
    graph = csr_matrix((caps, (rows, cols)), shape=(sink + 1, sink + 1))
    return int(maximum_flow(graph, source, sink).flow_value)


def build_witnesses(
    inst: MatchingInstance,
    slot_of: np.ndarray,
    position: np.ndarray,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Witnesses, list[str]]:
    """Replay the result in priority order and find a witness for each unmatched applicant.

    Returns the witnesses and the priority violations found: an unmatched applicant for whom an
    augmenting path exists could have been served alongside every higher-priority matched one.
    Assumes ``slot_of`` is feasible (check that first).
    """
    types = inst.types
    net = TypeNetwork(types, inst.capacity)
    order = np.argsort(position, kind="stable")
    type_of = types.type_of
    component_of = np.full(inst.n_applicants, -1, dtype=np.int64)
    violations: list[str] = []
    n_violations = 0
    for k, i in enumerate(order.tolist()):
        if progress is not None and k % 256 == 0:
            progress(k, len(order))
        t = int(type_of[i])
        s = int(slot_of[i])
        if s >= 0:
            net.place(t, s)
            continue
        if inst.acc_indptr[i] == inst.acc_indptr[i + 1]:
            continue
        moves = net.search(t)
        if moves is None:
            component_of[i] = net.type_comp[t]
        else:
            n_violations += 1
            if n_violations <= MAX_LISTED:
                free = inst.slot_ids[moves[-1][2]]
                how = (
                    f"slot {free!r} has room"
                    if len(moves) == 1
                    else f"moving {len(moves) - 1} applicant(s) frees slot {free!r}"
                )
                violations.append(
                    f"applicant {inst.applicant_ids[i]!r} (position {position[i]}) is unmatched "
                    f"but could be served without displacing anyone of higher priority ({how})"
                )
    if n_violations > MAX_LISTED:
        violations.append(f"... and {n_violations - MAX_LISTED} more priority violation(s)")
    witnesses = Witnesses(
        component_of=component_of,
        components=tuple(tuple(c) for c in net.comp_slots),
        refs=tuple(tuple(r) for r in net.comp_refs),
    )
    return witnesses, violations


def check_witness(
    inst: MatchingInstance,
    slot_of: np.ndarray,
    position: np.ndarray,
    applicant: int,
    witness: tuple[int, ...] | list[int],
    *,
    occupants: list[list[int]] | None = None,
) -> str | None:
    """Check one priority witness in time linear in its size; None when it holds, else why not.

    ``occupants[s]`` (the applicants assigned to slot ``s``) may be passed in to share the work
    across many witnesses.
    """
    if occupants is None:
        occupants = occupants_by_slot(inst, slot_of)
    xs = set(int(s) for s in witness)
    me = inst.applicant_ids[applicant]
    for s in inst.acceptable_slots(applicant).tolist():
        if s not in xs:
            return f"witness for {me!r} misses their acceptable slot {inst.slot_ids[s]!r}"
    pos = position[applicant]
    for s in xs:
        occ = occupants[s]
        if len(occ) != inst.capacity[s]:
            return f"witness slot {inst.slot_ids[s]!r} for {me!r} is not full"
        for b in occ:
            if position[b] >= pos:
                return (
                    f"witness slot {inst.slot_ids[s]!r} for {me!r} holds "
                    f"{inst.applicant_ids[b]!r}, who has lower priority"
                )
            for s2 in inst.acceptable_slots(b).tolist():
                if s2 not in xs:
                    return (
                        f"{inst.applicant_ids[b]!r} in witness slot {inst.slot_ids[s]!r} for "
                        f"{me!r} could move to {inst.slot_ids[s2]!r}, outside the witness"
                    )
    return None


def occupants_by_slot(inst: MatchingInstance, slot_of: np.ndarray) -> list[list[int]]:
    occ: list[list[int]] = [[] for _ in range(inst.n_slots)]
    for i, s in enumerate(slot_of.tolist()):
        if s >= 0:
            occ[s].append(i)
    return occ


def check_matching(
    inst: MatchingInstance,
    slot_of: np.ndarray,
    position: np.ndarray,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> MatchingReport:
    """Run every certificate on a schedule.

    Parameters
    ----------
    inst
        The instance.
    slot_of : ndarray of shape (A,)
        Slot index per applicant, -1 when unmatched.
    position : ndarray of shape (A,)
        1-based place of each applicant in the final priority order.
    progress
        Called as ``progress(done, total)`` while the witnesses are built (the long part).

    Returns
    -------
    MatchingReport
        With the witnesses, so ``explain`` can reuse them.
    """
    slot_of = np.asarray(slot_of, dtype=np.int64)
    violations = check_feasible(inst, slot_of)
    feasible = not violations
    n_matched = int((slot_of >= 0).sum())
    flow = max_flow_value(inst)
    if not feasible:
        return MatchingReport(
            feasible=False,
            maximum=False,
            respects_priorities=False,
            n_matched=n_matched,
            max_flow=flow,
            violations=tuple(violations + ["maximality and priority not checked: infeasible"]),
        )
    witnesses, prio = build_witnesses(inst, slot_of, position, progress=progress)
    prio.extend(check_witness_chain(inst, slot_of, position, witnesses))
    maximum = n_matched == flow
    if not maximum:
        violations.append(
            f"{n_matched} applicants matched but {flow} can be matched at once (maximum flow)"
        )
    # The union of the witnesses proves maximality only when every unmatched applicant has one.
    hall = hall_deficiency(inst, slot_of, witnesses) if not prio else None
    if maximum and hall is not None:
        violations.append(hall)
    return MatchingReport(
        feasible=True,
        maximum=maximum and hall is None,
        respects_priorities=not prio,
        n_matched=n_matched,
        max_flow=flow,
        violations=tuple(violations + prio),
        witnesses=witnesses,
    )


def check_witness_chain(
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
    occupants = occupants_by_slot(inst, slot_of)
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


def hall_deficiency(
    inst: MatchingInstance, slot_of: np.ndarray, witnesses: Witnesses
) -> str | None:
    """Check that the union X of the priority witnesses proves maximality (None when it does).

    With X full and closed, the applicants who accept only slots in X number at least
    ``capacity(X) + #unmatched``, so any matching leaves at least ``#unmatched`` of them out.
    """
    x = np.zeros(inst.n_slots, dtype=bool)
    for comp in witnesses.components:
        x[list(comp)] = True
    counts = np.diff(inst.acc_indptr)
    owner = np.repeat(np.arange(inst.n_applicants), counts)
    outside = np.zeros(inst.n_applicants, dtype=bool)
    np.logical_or.at(outside, owner, ~x[inst.acc_slot])
    only_x = ~outside
    unmatched = int((slot_of < 0).sum())
    if int(only_x.sum()) - int(inst.capacity[x].sum()) >= unmatched:
        return None
    return (
        f"the witnesses do not prove maximality: {int(only_x.sum())} applicants accept only the "
        f"{int(x.sum())} witness slots ({int(inst.capacity[x].sum())} places), "
        f"but {unmatched} are unmatched"
    )
