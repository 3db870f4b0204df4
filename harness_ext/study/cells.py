"""One cell of a study grid: a (task, decomposer, solver), the two_stage config it runs with
(parsed once, when grid.py plans it) and the model_args lm-eval records for it (the unit that
grid.py plans, plan.py shares out and the executors run)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from harness_ext.study_record import CellResult

if TYPE_CHECKING:
    from harness_ext.model.spec import TwoStageConfig


@dataclass
class Cell:
    task: str
    decomposer: str
    solver: str
    model_args: dict[str, Any] = field(default_factory=dict)  # what results_*.json records
    config: TwoStageConfig | None = None  # model_args, validated (grid.plan)
    skip: str | None = None  # why the cell does not apply

    @property
    def label(self) -> str:
        return f"{self.decomposer}/{self.solver}"

    @property
    def id(self) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{self.task}__{self.decomposer}__{self.solver}")

    def pending(self) -> CellResult:
        """The cell's record before it runs."""
        return CellResult(self.id, self.task, self.decomposer, self.solver, self.label)

    def with_model_args(self, model_args: dict[str, Any]) -> Cell:
        """The cell with these args, validated by the model's own parser (once, here)."""
        from harness_ext.lmeval.models import parse_model_args

        return replace(self, model_args=model_args, config=parse_model_args(model_args))

    def planned_config(self) -> TwoStageConfig:
        """The validated config: the one planned, or parsed now for a cell whose args changed
        after planning (a Ray cell replaying its group's pass sets ``config=None``)."""
        if self.config is not None:
            return self.config
        from harness_ext.lmeval.models import parse_model_args

        return parse_model_args(self.model_args)
