"""Run lm-eval in-process on a model object and write its usual output layout (one owner)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness_ext.lmeval.tasks import task_manager
from harness_ext.model.runtime import offline_defaults


def evaluate_and_save(
    lm: Any,
    tasks: list[str],
    out_dir: str | Path,
    seed: int = 0,
    manager=None,
    before_save: Callable[[dict[str, Any], Any], None] | None = None,
    **kwargs: Any,
) -> tuple[dict[str, Any], Path]:
    """lm-eval's simple_evaluate (samples logged, every seed = ``seed``), then the saves that
    `lm_eval --output_path --log_samples` makes, traces included.

    ``before_save(results, tracker)`` may edit what is written. Returns the results (samples
    removed) and the run folder holding results_*.json, samples_*.jsonl and traces_*.jsonl.
    """
    offline_defaults()
    from lm_eval import simple_evaluate

    from harness_ext.lmeval.tracker import DQTracker, run_folder, save_run

    tracker = DQTracker(output_path=str(out_dir))
    seeds = {k: seed for k in ("random_seed", "numpy_random_seed", "torch_random_seed", "fewshot_random_seed")}
    results = simple_evaluate(
        model=lm, tasks=tasks, log_samples=True, evaluation_tracker=tracker,
        task_manager=manager or task_manager(), **seeds, **kwargs,
    )  # fmt: skip
    if before_save is not None:
        before_save(results, tracker)
    save_run(tracker, results)
    return results, run_folder(tracker)


def evaluate_to_dir(lm: Any, tasks: list[str], out_dir: str | Path, **kwargs: Any) -> Path:
    """evaluate_and_save(), returning only the run folder."""
    return evaluate_and_save(lm, tasks, out_dir, **kwargs)[1]
