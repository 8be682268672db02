"""The MIP-layer matching methods, one module per algorithm.

* :mod:`.weighted_lp` -- ``method="lp"``: one weighted LP (models/weighted_lp.md);
* :mod:`.lexicographic` -- ``method="lexicographic"``: sequential LPs over levels = positions
  (Algorithm 1 exactly) or priority tiers (models/lexicographic.md);
* :mod:`.second_stage` -- ``second_stage="min-rank" | "rank-maximal"``: keep the matched set,
  choose the slots by rank (models/second_stage.md);
* :mod:`.flow` -- can a set be served at once, and how many can be (models/feasibility.md,
  models/max_appointments.md);
* :mod:`.solving` -- what they share: their options, one method's solves under one time limit,
  the one integrality check, failures; :mod:`.extract` -- an integral flow to one slot per
  served applicant.

The models themselves are built in :mod:`slotopt.formulations.matching_models`; every solve goes
through :mod:`slotopt.formulations.solver`. ``slotopt.methods`` names the functions by import
path.
"""
