"""Progress on a terminal, and only there.

Long steps (the naive method, the lexicographic sequences, a second stage, the certificates of a
large schedule, the offer-set DP and its rules, ``slotopt verify``) report progress through a
plain callback ``progress(done, total)``; engines and formulations accept such a callback and
never print. This module turns the callbacks into one line on stderr, redrawn in place, when
stderr is a terminal. Anywhere else -- pytest, CI logs, a pipe, a notebook whose stderr is not a
terminal -- it prints nothing at all, so logs stay clean. ``SLOTOPT_PROGRESS=0`` silences it on a
terminal too.

The bar is hand-written (a dozen lines; no dependency): ``label [#####.....] 45% 1,234/2,742
12 s``, or ``label ... 12 s`` for a step whose size is unknown (a single HiGHS solve; a small
background thread redraws the elapsed time), and a final ``label: done in 12.3 s`` line. Steps
that finish within a second draw nothing at all.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

__all__ = ["Callback", "Progress", "on_terminal"]

Callback = Callable[[int, int], None]
"""``progress(done, total)``: ``done`` of ``total`` units finished."""

WIDTH = 24
INTERVAL = 0.2  # seconds between redraws: cheap enough for a callback in a tight loop
DELAY = 1.0  # seconds before the first draw: quick steps stay silent
TICK = 1.0  # seconds between redraws of a step that reports no progress of its own


def on_terminal(stream: TextIO | None = None) -> bool:
    """True when progress should be drawn on ``stream`` (default: stderr)."""
    if os.environ.get("SLOTOPT_PROGRESS", "1") == "0":
        return False
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or not a real stream
        return False


class Progress:
    """One step's progress line on a terminal (nothing elsewhere).

    Use it as a context manager and pass it (it is a :data:`Callback`) to the step::

        with Progress("certificates", total=n) as bar:
            check_matching(inst, slot_of, position, progress=bar)

    Parameters
    ----------
    label
        What is running.
    total
        Number of units, when known up front (a callback may also pass it).
    stream
        Where to draw (default: stderr at the time of the call).
    enabled
        Force drawing on or off; None asks :func:`on_terminal`.
    """

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        stream: TextIO | None = None,
        enabled: bool | None = None,
    ) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.stream = sys.stderr if stream is None else stream
        self.enabled = on_terminal(self.stream) if enabled is None else enabled
        self.start = time.perf_counter()
        self._drawn = 0.0
        self._width = 0
        self._shown = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        if self.enabled:
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        """Redraw now and then, so a step without callbacks still shows it is alive."""
        wait = DELAY
        while not self._stop.wait(wait):
            self._maybe_draw(force=True)
            wait = TICK

    def __call__(self, done: int, total: int | None = None) -> None:
        self.done = done
        if total is not None:
            self.total = total
        if self.enabled:
            self._maybe_draw()

    def _maybe_draw(self, *, force: bool = False) -> None:
        now = time.perf_counter()
        if now - self.start < DELAY:
            return
        with self._lock:
            if self.enabled and (force or now - self._drawn >= INTERVAL):
                self._draw(now)

    def _draw(self, now: float | None = None) -> None:
        now = time.perf_counter() if now is None else now
        self._drawn = now
        elapsed = f"{now - self.start:.0f} s"
        total = self.total
        if total:
            share = min(max(self.done / total, 0.0), 1.0)
            filled = int(round(share * WIDTH))
            bar = "#" * filled + "." * (WIDTH - filled)
            text = f"{self.label} [{bar}] {share:4.0%} {self.done:,}/{total:,} {elapsed}"
        else:
            text = f"{self.label} ... {elapsed}"
        self._write(text)

    def _write(self, text: str, end: str = "") -> None:
        self._shown = True
        pad = max(self._width - len(text), 0)
        self._width = len(text)
        self.stream.write("\r" + text + " " * pad + end)
        self.stream.flush()

    def close(self, outcome: str = "done") -> None:
        """Replace the line with ``label: outcome in N s`` (nothing when not drawing, or when
        the step ended before anything was drawn)."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None
        with self._lock:
            if self.enabled and self._shown:
                seconds = time.perf_counter() - self.start
                self._write(f"{self.label}: {outcome} in {seconds:.1f} s", end="\n")
            self.enabled = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close("done" if exc_type is None else "stopped")
