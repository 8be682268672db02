"""Code as it was before the array kernel and the vectorised certificates, kept as oracles: the
greedy on the type network of Python lists and dicts (the new kernel must select exactly the
same applicants), and the certificate loops (the vectorised checks must report exactly the same
violations, in the same order)."""

from __future__ import annotations

import numpy as np

from slotopt.engines.matching.network import TypeNetwork
from slotopt.instance.matching import MatchingInstance
from slotopt.verify.matching import MAX_LISTED, Witnesses


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
