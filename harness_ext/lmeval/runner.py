"""Run lm-eval in-process on a model object and write its usual output layout."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dq_tasks.constants import TASKS_DIR


def task_manager():
    from lm_eval.tasks import TaskManager

    # Only our tasks: indexing lm-eval's built-in ones costs ~15 s per process.
    return TaskManager(include_path=str(TASKS_DIR), include_defaults=False)


def evaluate_to_dir(
    lm: Any,
    tasks: list[str],
    out_dir: str | Path,
    limit: int | None = None,
    apply_chat_template: bool = False,
    gen_kwargs: dict | None = None,
    seed: int = 0,
    manager=None,
) -> Path:
    """lm-eval's simple_evaluate + EvaluationTracker saves, as `lm_eval --output_path` does.

    Returns the folder holding results_*.json, samples_*.jsonl (and traces for two_stage).
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    from lm_eval import simple_evaluate
    from lm_eval.loggers import EvaluationTracker

    tracker = EvaluationTracker(output_path=str(out_dir))
    results = simple_evaluate(
        model=lm,
        tasks=tasks,
        limit=limit,
        log_samples=True,
        evaluation_tracker=tracker,
        apply_chat_template=apply_chat_template,
        gen_kwargs=gen_kwargs,
        task_manager=manager or task_manager(),
        random_seed=seed,
        numpy_random_seed=seed,
        torch_random_seed=seed,
        fewshot_random_seed=seed,
    )
    samples = results.pop("samples")
    tracker.save_results_aggregated(results=results, samples=samples)
    for task_name in results["configs"]:
        tracker.save_results_samples(task_name=task_name, samples=samples[task_name])
    return Path(out_dir) / str(tracker.general_config_tracker.model_name_sanitized)
