"""What every test of one `dq compare` report shares: the runs, the pairs, the levels."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Setup:
    names: list[str]
    pairs: list[tuple[int, int]]
    alpha: float
    power_alpha: float  # alpha / m: the threshold the smallest p must beat under Holm or BH
    iterations: int
    mid_p: bool
    truncation: list[dict[str, float | None]]  # per run: task -> rate
