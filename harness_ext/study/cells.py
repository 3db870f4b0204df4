"""One cell of a study grid: a (task, decomposer, solver) and the two_stage model_args it runs
with (the unit that grid.py plans, plan.py shares out and the executors run)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Cell:
    task: str
    decomposer: str
    solver: str
    model_args: dict[str, Any] = field(default_factory=dict)
    skip: str | None = None  # why the cell does not apply

    @property
    def label(self) -> str:
        return f"{self.decomposer}/{self.solver}"

    @property
    def id(self) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{self.task}__{self.decomposer}__{self.solver}")
