"""Priority-respecting maximum matching (Arnosti 2021, Algorithm 1) and baselines."""
