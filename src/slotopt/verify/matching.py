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
order through :func:`slotopt.engines.matching.greedy.replay_schedule`, compiled when numba is
available), but *checked* by :func:`check_witness`, a few lines of plain counting that trust nothing
else; a wrong witness cannot pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from slotopt.engines.matching.flow import slot_flow
from slotopt.engines.matching.greedy import replay_schedule
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
    owner = _owner(inst)
    accepts = np.zeros(inst.n_applicants, dtype=bool)
    accepts[owner[inst.acc_slot == slot_of[owner]]] = True  # slot_of -1 never equals a slot
    for i in np.flatnonzero((slot_of >= 0) & ~accepts).tolist():
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


def _owner(inst: MatchingInstance) -> np.ndarray:
    """The applicant of each acceptable pair, aligned with ``inst.acc_slot``."""
    return np.repeat(np.arange(inst.n_applicants), np.diff(inst.acc_indptr))


def _label_range(inst: MatchingInstance, label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per applicant, the smallest and largest ``label`` of their acceptable slots (0 and -1
    for applicants who accept nothing, so that they pass every range test)."""
    lab = label[inst.acc_slot]
    lengths = np.diff(inst.acc_indptr)
    nonempty = np.flatnonzero(lengths > 0)
    low = np.zeros(inst.n_applicants, dtype=np.int64)
    high = np.full(inst.n_applicants, -1, dtype=np.int64)
    if len(nonempty):
        starts = inst.acc_indptr[:-1][nonempty]
        low[nonempty] = np.minimum.reduceat(lab, starts)
        high[nonempty] = np.maximum.reduceat(lab, starts)
    return low, high


def max_flow_value(inst: MatchingInstance) -> int:
    """The maximum number of applicants matchable at once (one max flow over types)."""
    types = inst.types
    return slot_flow(types.size, types.indptr, types.slots, inst.capacity).value


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
    order = np.argsort(position, kind="stable")
    if progress is not None and len(order):
        progress(0, len(order))  # the replay is one compiled pass: no finer steps to report
    replay = replay_schedule(inst, slot_of, order)
    violations: list[str] = []
    could = np.flatnonzero(replay.room >= 0)
    could = could[np.argsort(position[could], kind="stable")]  # in priority order
    for i in could[:MAX_LISTED].tolist():
        free = inst.slot_ids[replay.room[i]]
        n_moves = int(replay.moves[i])
        how = (
            f"slot {free!r} has room"
            if n_moves == 1
            else f"moving {n_moves - 1} applicant(s) frees slot {free!r}"
        )
        violations.append(
            f"applicant {inst.applicant_ids[i]!r} (position {position[i]}) is unmatched "
            f"but could be served without displacing anyone of higher priority ({how})"
        )
    if len(could) > MAX_LISTED:
        violations.append(f"... and {len(could) - MAX_LISTED} more priority violation(s)")
    witnesses = Witnesses(
        component_of=replay.component_of, components=replay.components, refs=replay.refs
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
    """``occupants[s]``: the applicants assigned to slot ``s``, in index order."""
    matched = np.flatnonzero(slot_of >= 0)
    by_slot = matched[np.argsort(slot_of[matched], kind="stable")].tolist()
    bounds = np.concatenate([[0], np.cumsum(np.bincount(slot_of[matched], minlength=inst.n_slots))])
    ends = bounds.tolist()
    return [by_slot[ends[s] : ends[s + 1]] for s in range(inst.n_slots)]


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
    # Vectorised; messages come out in the order (and with the early stops) of the plain loop
    # "for k, comp: for s in comp: check s; for b in occupants[s]: check b", then the loop
    # over unmatched applicants.
    problems: list[str] = []
    n_comp = len(witnesses.components)
    sizes = np.fromiter((len(c) for c in witnesses.components), dtype=np.int64, count=n_comp)
    occ_slot = np.fromiter(
        (s for c in witnesses.components for s in c), dtype=np.int64, count=int(sizes.sum())
    )
    occ_comp = np.repeat(np.arange(n_comp, dtype=np.int64), sizes)
    label = np.full(inst.n_slots, -1, dtype=np.int64)
    np.maximum.at(label, occ_slot, occ_comp)  # a slot listed twice keeps its last component
    order = np.argsort(occ_slot, kind="stable")
    repeated = np.zeros(len(occ_slot), dtype=bool)
    repeated[order[1:]] = occ_slot[order[1:]] == occ_slot[order[:-1]]
    for j in np.flatnonzero(repeated).tolist():
        problems.append(f"slot {inst.slot_ids[occ_slot[j]]!r} is in two witness components")

    matched = np.flatnonzero(slot_of >= 0)
    load = np.bincount(slot_of[matched], minlength=inst.n_slots)
    by_slot = matched[np.argsort(slot_of[matched], kind="stable")]
    first_occupant = np.cumsum(load) - load
    # every (listed slot, occupant) pair, listed slot by listed slot
    n_occ = load[occ_slot]
    pair_entry = np.repeat(np.arange(len(occ_slot)), n_occ)
    within = np.arange(int(n_occ.sum())) - np.repeat(np.cumsum(n_occ) - n_occ, n_occ)
    occupant = by_slot[first_occupant[occ_slot[pair_entry]] + within]
    low, high = _label_range(inst, label)
    leaks = (low[occupant] < 0) | (high[occupant] > occ_comp[pair_entry])
    not_full = load[occ_slot] != inst.capacity[occ_slot]
    # the largest position sitting in Y_k, for every k
    prefix_max = np.zeros(n_comp, dtype=np.int64)
    if len(occupant):
        np.maximum.at(prefix_max, occ_comp[pair_entry], position[occupant].astype(np.int64))
    prefix_max = np.maximum.accumulate(prefix_max) if n_comp else prefix_max
    bad_entries = np.union1d(np.flatnonzero(not_full), pair_entry[leaks])
    if len(bad_entries):
        leak_at = np.flatnonzero(leaks)
        leak_entry = pair_entry[leak_at]
        for k in np.unique(occ_comp[bad_entries]).tolist():
            if k > 0 and len(problems) > MAX_LISTED:  # the loop stops after component 0
                return problems
            for j in bad_entries[occ_comp[bad_entries] == k].tolist():
                slot = inst.slot_ids[occ_slot[j]]
                if not_full[j]:
                    problems.append(f"witness slot {slot!r} is not full")
                lo, hi = np.searchsorted(leak_entry, [j, j + 1])
                for b in occupant[leak_at[lo:hi]].tolist():
                    problems.append(
                        f"{inst.applicant_ids[b]!r} in witness slot {slot!r} accepts "
                        "a slot outside the witness"
                    )
            if len(problems) > MAX_LISTED:
                return problems
    if n_comp and len(problems) > MAX_LISTED:
        return problems

    comp_of = np.asarray(witnesses.component_of, dtype=np.int64)
    has = np.flatnonzero(comp_of >= 0)
    k_of = comp_of[has]
    missing = k_of >= n_comp
    k_safe = np.where(missing, 0, k_of)
    misses = ~missing & ((low[has] < 0) | (high[has] > k_safe))
    lower = (
        ~missing & ~misses & (prefix_max[k_safe] >= position[has])
        if n_comp
        else np.zeros(len(has), dtype=bool)
    )
    flagged = np.flatnonzero(missing | misses | lower)
    # the plain loop checks the limit after each applicant it does not skip as "missing"
    checked = np.flatnonzero(~missing)
    last = -1
    for j in flagged.tolist():
        if len(problems) > MAX_LISTED:
            between = np.searchsorted(checked, j) - np.searchsorted(checked, last, side="right")
            if between > 0:
                break
        last = j
        name = inst.applicant_ids[int(has[j])]
        if missing[j]:
            problems.append(f"witness of {name!r} refers to a missing component")
            continue
        if misses[j]:
            problems.append(f"witness of {name!r} misses one of their slots")
        else:
            problems.append(f"witness of {name!r} holds someone of lower priority")
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
