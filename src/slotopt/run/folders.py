"""The result-folder contract: ``summary.json`` plus the kind's tables, written whole or not at all.

Every result type provides ``summary() -> dict`` and ``tables() -> dict[str, DataFrame]`` (and may
provide ``figures() -> dict[str, matplotlib Figure]``); this module adds the keys every summary
carries (slotopt version, input hashes) and writes through :func:`slotopt._atomic.atomic_folder`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from slotopt._atomic import atomic_folder, write_json
from slotopt._version import __version__


def common_summary(instance: Any) -> dict[str, Any]:
    """Keys every summary.json has about its input."""
    source = getattr(instance, "source", None)
    return {
        "kind": getattr(instance, "kind", None),
        "name": getattr(instance, "name", None),
        "instance": None if source is None else str(Path(source).resolve()),
        "input_sha256": dict(getattr(instance, "input_sha256", {}) or {}),
        "slotopt_version": __version__,
    }


def write_result_folder(result: Any, out: str | Path, *, force: bool = False) -> Path:
    """Write ``result`` to ``out``: summary.json, one CSV per table, one PNG per figure.

    Raises
    ------
    OutputExistsError
        ``out`` exists and ``force`` is False; nothing is written.
    """
    out = Path(out)
    summary = result.summary()
    tables = result.tables()
    figures_fn = getattr(result, "figures", None)
    with atomic_folder(out, force=force) as tmp:
        for name, df in tables.items():
            df.to_csv(tmp / f"{name}.csv", index=False)
        if figures_fn is not None:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            for name, fig in figures_fn().items():
                fig.savefig(tmp / f"{name}.png", dpi=120, bbox_inches="tight")
                plt.close(fig)
        write_json(tmp / "summary.json", summary)
    return out
