"""``MatchingResult``: the schedule, how it was made, and plain-language explanations."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from slotopt.engines.matching.structure import total_rank
from slotopt.errors import VerificationError
from slotopt.formulations.solver import SolutionStatus, StopReason
from slotopt.instance.matching import MatchingInstance
from slotopt.run.folders import (
    LazyTables,
    common_summary,
    verification_note,
    write_result_folder,
)
from slotopt.run.outcome import StageOutcome, VerificationOutcome
from slotopt.verify.matching import MatchingReport, Witnesses, build_witnesses, check_witness


@dataclass(frozen=True)
class Explanation:
    """Why an applicant got what they got.

    ``witness_slots`` (unmatched applicants only) is a set of slots containing every slot the
    applicant accepted, all full with applicants of higher priority who accept nothing outside
    it: serving this applicant would displace one of them. Empty for matched applicants.
    """

    applicant_id: str
    position: int
    matched: bool
    slot_id: str | None
    accepted_slots: tuple[str, ...]
    witness_slots: tuple[str, ...]
    witness_capacity: int
    text: str


@dataclass(frozen=True, eq=False)
class MatchingResult:
    """A schedule for a matching instance.

    Attributes
    ----------
    assignment : DataFrame
        ``applicant_id``, ``slot_id`` (NA when unmatched), ``position`` (1 = served first), in
        position order.
    n_matched, method, seed, seconds
        As named; ``seconds`` is the solve time (priority order, method, second stage).
    verification : MatchingReport or None
        The certificates, when ``verify=True`` was asked for (None otherwise).
    second_stage : str or None
        The slot-choice rule applied after the matched set was fixed (``"min-rank"``) or None.
    total_rank : float or None
        Sum of the ranks of the assigned slots (unranked pairs count as rank 1 ... only when the
        instance has ranks; None otherwise).
    stages : tuple of StageOutcome
        How the method (and the second stage, when one was asked for and the method succeeded)
        ended, as :class:`~slotopt.formulations.solver.StopReason` and
        :class:`~slotopt.formulations.solver.SolutionStatus`.
    verification_outcome : VerificationOutcome
        ``not_run``, ``passed`` or ``failed``.
    failure : str or None
        What failed first (None when nothing did); only a run with ``on_failure="record"``
        returns a result with a failure. See docs/failures.md.
    """

    instance: MatchingInstance = field(repr=False)
    slot_of: np.ndarray = field(repr=False)
    position: np.ndarray = field(repr=False)
    method: str
    seed: int
    seconds: float
    verification: MatchingReport | None = None
    second_stage: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    stages: tuple[StageOutcome, ...] = ()
    verification_outcome: VerificationOutcome = VerificationOutcome.not_run
    failure: str | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:  # one line: the tables stay out of a notebook's output
        return (
            f"MatchingResult({self.instance.name!r}: {self.n_matched} of "
            f"{self.instance.n_applicants} matched, method {self.method}, seed {self.seed}"
            f"{verification_note(self.verification)})"
        )

    @property
    def ok(self) -> bool:
        """True when every step reached its proven answer and no certificate failed."""
        return self.failure is None

    @property
    def status(self) -> StopReason:
        """Why the first failed step stopped (``optimal`` when none failed)."""
        return next((st.stop for st in self.stages if not st.ok), StopReason.optimal)

    @property
    def solution(self) -> SolutionStatus:
        """``optimal``: every step proven; ``feasible``: a failed second stage left the method's
        (valid, but not rank-optimal) slots; ``none``: the method failed, nobody is scheduled."""
        failed = [st for st in self.stages if not st.ok]
        if not failed:
            return SolutionStatus.optimal
        return SolutionStatus.feasible if failed[0].stage == "second_stage" else SolutionStatus.none

    def _stage(self, stage: str) -> StageOutcome | None:
        return next((st for st in self.stages if st.stage == stage), None)

    def _stage_ok(self, stage: str) -> bool:
        st = self._stage(stage)
        return st is not None and st.ok

    @property
    def n_matched(self) -> int:
        return int((self.slot_of >= 0).sum())

    @property
    def matched(self) -> np.ndarray:
        """Boolean mask over applicants (instance order)."""
        return self.slot_of >= 0

    @property
    def assignment(self) -> pd.DataFrame:
        inst = self.instance
        order = _position_order(self.position)
        ids, slot, position = inst.applicant_ids[order], self.slot_of[order], self.position[order]
        return _assignment_frame(ids, inst.slot_ids, slot, position)

    @property
    def total_rank(self) -> float | None:
        """Sum of the ranks of the assigned slots (unranked pairs count as the applicant's worst
        given rank plus one); None when the instance has no ranks."""
        if "total_rank" not in self._cache:
            self._cache["total_rank"] = total_rank(self.instance, self.slot_of)
        return self._cache["total_rank"]

    def matched_by_priority(self) -> pd.DataFrame:
        """Applicants and matched applicants per priority level."""
        df = pd.DataFrame({"priority": self.instance.priority, "matched": self.slot_of >= 0})
        out = df.groupby("priority", sort=True)["matched"].agg(["size", "sum"]).reset_index()
        return out.rename(columns={"size": "applicants", "sum": "matched"})

    # -- output ----------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        inst = self.instance
        out = common_summary(inst)
        by_prio = self.matched_by_priority()
        out.update(
            {
                "method": self.method,
                "seed": self.seed,
                "n_applicants": inst.n_applicants,
                "n_slots": inst.n_slots,
                "total_capacity": inst.total_capacity,
                "n_matched": self.n_matched,
                "n_unmatched": inst.n_applicants - self.n_matched,
                "matched_by_priority": {
                    str(int(r.priority)): [int(r.matched), int(r.applicants)]
                    for r in by_prio.itertuples()
                },
                "second_stage": self.second_stage,
                "total_rank": self.total_rank,
                "seconds": round(self.seconds, 6),
                "ok": self.ok,
                "status": self.status.value,
                "solution": self.solution.value,
                "failure": self.failure,
                "stages": {st.stage: st.to_dict() for st in self.stages},
                "verification_outcome": self.verification_outcome.value,
                "verified": None if self.verification is None else self.verification.ok,
                "verification": None
                if self.verification is None
                else {
                    "feasible": self.verification.feasible,
                    "maximum": self.verification.maximum,
                    "respects_priorities": self.verification.respects_priorities,
                    "max_flow": self.verification.max_flow,
                    "violations": list(self.verification.violations),
                },
            }
        )
        out.update({k: v for k, v in self.extra.items() if k not in out})
        return out

    def tables(self) -> Mapping[str, pd.DataFrame]:
        """``{"assignment": ...}``, built when first looked up."""
        return LazyTables({"assignment": lambda: self.assignment})

    def to_folder(self, path: str | Path, *, force: bool = False) -> Path:
        """Write ``summary.json`` and ``assignment.csv`` atomically (see ARCHITECTURE.md)."""
        return write_result_folder(self, path, force=force)

    def write_table(self, name: str, path: Path) -> None:
        """Write one of :meth:`tables` as CSV: the text of ``table.to_csv(path, index=False)``;
        the assignment is written from the arrays, without building the table
        (:func:`write_assignment`)."""
        if name != "assignment":
            self.tables()[name].to_csv(path, index=False)
            return
        inst = self.instance
        order = _position_order(self.position)
        write_assignment(
            path, inst.applicant_ids, inst.slot_ids, self.slot_of, self.position, order=order
        )

    def report(self) -> str:
        inst = self.instance
        lines = [
            f"{inst.name}: matched {self.n_matched} of {inst.n_applicants} applicants "
            f"to {inst.total_capacity} appointments in {inst.n_slots} slots "
            f"(method {self.method}, seed {self.seed}, {self.seconds:.3f} s)"
        ]
        by_prio = self.matched_by_priority()
        if len(by_prio) <= 10:
            lines.append(
                "by priority: "
                + ", ".join(
                    f"{int(r.priority)}: {int(r.matched)}/{int(r.applicants)}"
                    for r in by_prio.itertuples()
                )
            )
        if self.total_rank is not None:
            lines.append(
                f"total rank of assigned slots: {self.total_rank:g}"
                + (f" (second stage {self.second_stage})" if self._stage_ok("second_stage") else "")
            )
        lines.extend(self._failure_lines())
        if self.verification is not None:
            lines.append(
                "verification: "
                + (
                    "all certificates hold"
                    if self.verification.ok
                    else "FAILED\n" + self.verification.describe()
                )
            )
        return "\n".join(lines)

    def _failure_lines(self) -> list[str]:
        lines: list[str] = []
        for st in self.stages:
            if st.ok:
                continue
            what = f"method {st.name}" if st.stage == "method" else f"second stage {st.name}"
            lines.append(
                f"FAILED: {what} stopped with {st.stop.value} (solution {st.solution.value}): "
                f"{st.message}"
            )
            if st.stage == "method":
                lines.append("nobody is scheduled: an unfinished solve proves nothing")
            else:
                lines.append(
                    f"kept the {self.method} method's schedule: its {self.n_matched} matched "
                    "applicants and its own slots (not the second stage's choice)"
                )
        if self.second_stage is not None and self._stage("second_stage") is None:
            lines.append(f"second stage {self.second_stage} not run: the method failed")
        return lines

    # -- explanations ----------------------------------------------------------------------
    def _witnesses(self) -> Witnesses:
        if self.verification is not None and self.verification.witnesses is not None:
            return self.verification.witnesses
        if "witnesses" not in self._cache:
            self._cache["witnesses"], _ = build_witnesses(
                self.instance, self.slot_of, self.position
            )
        return self._cache["witnesses"]

    def explain(self, applicant_id: str) -> Explanation:
        """Explain one applicant's outcome, with the witness that proves it for the unmatched.

        Raises
        ------
        KeyError
            ``applicant_id`` is not in the instance.
        """
        inst = self.instance
        idx = inst.applicant_index.get_indexer([str(applicant_id)])[0]
        if idx < 0:
            raise KeyError(f"no applicant {applicant_id!r} in instance {inst.name!r}")
        i = int(idx)
        pos = int(self.position[i])
        accepted = tuple(str(inst.slot_ids[s]) for s in inst.acceptable_slots(i))
        slot = int(self.slot_of[i])
        if slot >= 0:
            sid = str(inst.slot_ids[slot])
            text = (
                f"Applicant {applicant_id} (priority {int(inst.priority[i])}, position {pos} of "
                f"{inst.n_applicants}) has an appointment: {_describe_slot(inst, slot)}."
            )
            return Explanation(str(applicant_id), pos, True, sid, accepted, (), 0, text)
        if not accepted:
            text = (
                f"Applicant {applicant_id} listed no acceptable slots, so no appointment could be "
                "offered. Listing more slots can never make an applicant worse off."
            )
            return Explanation(str(applicant_id), pos, False, None, accepted, (), 0, text)
        ws = self._witnesses().tight(i)
        if not ws:
            text = (
                f"Applicant {applicant_id} (priority {int(inst.priority[i])}, position {pos}) was "
                f"not served, but this {self.method} schedule could have served them without "
                "turning away anyone of higher priority: it does not respect priorities "
                "(use method 'greedy' for a schedule that does)."
            )
            return Explanation(str(applicant_id), pos, False, None, accepted, (), 0, text)
        why = check_witness(inst, self.slot_of, self.position, i, ws)
        if why is not None:  # cannot happen for a feasible schedule; never explain with a bad proof
            raise VerificationError(f"cannot explain {applicant_id!r}: {why}")
        cap = int(inst.capacity[list(ws)].sum())
        own = sum(int(inst.capacity[s]) for s in inst.acceptable_slots(i))
        n_own = len(accepted)
        text = (
            f"Applicant {applicant_id} (priority {int(inst.priority[i])}, position {pos} of "
            f"{inst.n_applicants}) could not be given an appointment. "
        )
        if own == 0:
            text += f"None of the {_n(n_own, 'slot')} you accepted had any appointments to give."
        else:
            where = f"the {_n(n_own, 'site and time', 'sites and times')} you accepted"
            text += (
                f"All {own} appointments at {where} went to applicants with higher priority "
                "who could not be placed elsewhere"
                if own > 1
                else f"The only appointment at {where} went to an applicant with higher "
                "priority who could not be placed elsewhere"
            )
            if len(ws) > n_own:
                text += (
                    f" (counting the {_n(len(ws) - n_own, 'other slot')} those applicants could "
                    f"use, all {_n(cap, 'appointment')} are held by higher-priority applicants "
                    "who accept nothing else)"
                )
            text += ". Serving you would have meant turning one of them away."
        return Explanation(
            str(applicant_id),
            pos,
            False,
            None,
            accepted,
            tuple(str(inst.slot_ids[s]) for s in ws),
            cap,
            text,
        )


def _position_order(position: np.ndarray) -> np.ndarray:
    """``np.argsort(position, kind="stable")``, in one pass when the positions are 1..A."""
    n = len(position)
    order = np.full(n, -1, dtype=np.int64)
    if n and position.min() >= 1 and position.max() <= n:
        order[position - 1] = np.arange(n)
        if (order >= 0).all():  # each position once: the only order that sorts them
            return order
    return np.argsort(position, kind="stable")


def _assignment_frame(
    applicant_ids: np.ndarray, slot_ids: np.ndarray, slot: np.ndarray, position: np.ndarray
) -> pd.DataFrame:
    """The assignment table: row ``k`` is applicant ``applicant_ids[k]`` with slot
    ``slot_ids[slot[k]]`` (NA when ``slot[k] < 0``) and ``position[k]``."""
    names = np.full(len(slot), None, dtype=object)
    matched = slot >= 0
    names[matched] = slot_ids[slot[matched]]
    return pd.DataFrame(
        {
            "applicant_id": pd.array(applicant_ids, dtype="string"),
            "slot_id": pd.array(names, dtype="string"),
            "position": position,
        }
    )


def write_assignment(
    path: Path,
    applicant_ids: np.ndarray,
    slot_ids: np.ndarray,
    slot: np.ndarray,
    position: np.ndarray,
    order: np.ndarray | None = None,
) -> None:
    """Write the assignment table (rows as in :func:`_assignment_frame`; with ``order``, row
    ``k`` is that of applicant ``order[k]`` of the three per-applicant arrays) to ``path`` as
    exactly the text ``DataFrame.to_csv(path, index=False)`` writes.

    With pyarrow, its CSV writer writes it without quoting, straight from the arrays (at a
    million rows about 0.15 s against 0.8 s to build the table and join the text); a value it
    would have to quote (a delimiter, a quote or a line end) or an empty id makes it stop, and
    the table is written as before: our own join of its values when none needs quoting, else
    pandas' writer. The tests compare every route with pandas on arbitrary ids.
    """
    if order is not None:
        slot, position = slot[order], position[order]
    if _write_assignment_arrow(path, applicant_ids, slot_ids, slot, position, order):
        return
    if order is not None:
        applicant_ids = applicant_ids[order]
    table = _assignment_frame(applicant_ids, slot_ids, slot, position)
    text = _plain_csv(table)
    if text is None:
        table.to_csv(path, index=False)
    else:
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)


def _write_assignment_arrow(
    path: Path,
    applicant_ids: np.ndarray,
    slot_ids: np.ndarray,
    slot: np.ndarray,
    position: np.ndarray,
    order: np.ndarray | None = None,
) -> bool:
    """:func:`write_assignment` by pyarrow (``slot`` and ``position`` already in row order,
    ``applicant_ids`` taken by ``order`` when given); False (nothing written) when pyarrow is
    missing or a value would need quoting or is empty."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pcsv
    except ImportError:
        return False
    ids = pa.array(applicant_ids, type=pa.string())
    if order is not None:  # arrow's take: no million Python references moved
        ids = ids.take(pa.array(order))
    slots = pa.array(slot_ids, type=pa.string()).take(pa.array(np.maximum(slot, 0), mask=slot < 0))
    for column in (ids, slots):  # (a null, an unmatched applicant's slot, counts as no match)
        if len(column) and pc.any(pc.equal(pc.binary_length(column), 0)).as_py():
            return False  # pandas writes an empty string as ""
    table = pa.table({"applicant_id": ids, "slot_id": slots, "position": pa.array(position)})
    options = pcsv.WriteOptions(quoting_style="none", quoting_header="none", eol=os.linesep)
    try:
        with open(path, "wb") as f:
            pcsv.write_csv(table, f, options)
    except pa.ArrowInvalid:  # a value needs quotes: "none" refuses to write it
        return False
    return True


#: Characters that make pandas quote a CSV field (delimiter, quote, line ends).
_NEEDS_QUOTES = (",", '"', "\n", "\r")


def _plain_csv(table: pd.DataFrame) -> str | None:
    """The CSV text pandas writes for ``table`` (string and integer columns, NA as empty), or
    None when a value might be quoted or written otherwise (then pandas writes it)."""
    columns: list[list[str]] = []
    for name in table.columns:
        col = table[name]
        if pd.api.types.is_integer_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
            if col.isna().any():
                return None
            columns.append(list(map(str, col.to_numpy().tolist())))
            continue
        if not isinstance(col.dtype, pd.StringDtype):
            return None
        values = col.to_numpy(dtype=object, na_value="").tolist()
        present = col.notna().to_numpy()
        text = "".join(values)
        if any(c in text for c in _NEEDS_QUOTES) or (col[present].str.len() == 0).any():
            return None
        columns.append(values)
    if any(c in name for name in map(str, table.columns) for c in _NEEDS_QUOTES):
        return None
    end = os.linesep
    rows = [",".join(map(str, table.columns))]
    rows += map(",".join, zip(*columns, strict=True))
    return end.join(rows) + end


def _n(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


def _describe_slot(inst: MatchingInstance, s: int) -> str:
    row = inst.slots.iloc[s]
    parts = [f"slot {inst.slot_ids[s]}"]
    for col in ("location", "start", "end"):
        if col in inst.slots.columns and pd.notna(row[col]):
            parts.append(f"{col} {row[col]}")
    return ", ".join(parts)
