"""The batch allocation system over rolling periods (``kind: "batch"``).

``slotopt.batch.run(instance, *, seed, recorder=None)`` replays an instance folder's periods:
slots released, requests collected inside each window and de-duplicated by identity, a
commitment published, the draw at close, then confirmations, cancellations and no-shows feeding
the next batch. A :class:`Recorder` (the registry, or :class:`MemoryRecorder`) sees every step.
"""

from slotopt.batch.recorder import EVENTS, MemoryRecorder, Outcome, Recorder
from slotopt.batch.rolling import context_of, run

__all__ = ["EVENTS", "MemoryRecorder", "Outcome", "Recorder", "context_of", "run"]
