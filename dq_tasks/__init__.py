"""dq-harness task package: lm-eval task YAMLs (this directory is an lm-eval include_path),
their loaders, scoring and the synthetic depth-controlled generator."""

from __future__ import annotations

from dq_tasks.registry import GROUPS, TASKS, catalog

__all__ = ["GROUPS", "TASKS", "catalog"]
