"""Traces beside lm-eval's samples, through a tracker subclass (lm-eval has no post-save hook).

The two_stage model hands its traces over explicitly: ``get_model_info()`` (lm-eval's public
hook, merged into ``results["config"]``) carries a :class:`TraceBook`. The tracker takes it out
of the config before saving, names the output folder after both stages, adds ``config.dq``,
and writes ``traces_<task>_<date>.jsonl`` right after lm-eval writes that task's samples.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lm_eval.loggers.evaluation_tracker import EvaluationTracker
from lm_eval.utils import sanitize_model_name

from harness_ext.model.records import TraceBook, portable, write_traces

TRACE_KEY = "dq_traces"  # the config key that carries the TraceBook; never saved


class DQTracker(EvaluationTracker):
    """lm-eval's EvaluationTracker plus dq traces; identical to it for any other model."""

    book: TraceBook | None = None

    def save_results_aggregated(self, results: dict, samples: dict | None = None) -> None:
        config = results.get("config")
        self.book = config.pop(TRACE_KEY, None) if isinstance(config, dict) else None
        if self.book is not None:
            # lm-eval names the folder after a `pretrained` arg, which two_stage lacks (it
            # would get a random id): name it after both stages instead.
            general = self.general_config_tracker
            general.model_name = f"two_stage/{self.book.label}"
            general.model_name_sanitized = sanitize_model_name(general.model_name)
        for key in ("config", "configs"):
            if key in results:
                results[key] = portable(results[key])
        super().save_results_aggregated(results=results, samples=samples)

    def save_results_samples(self, task_name: str, samples: list) -> None:
        super().save_results_samples(task_name=task_name, samples=samples)
        if self.book is None or not self.output_path:
            return
        records = self.book.records(task_name)
        if records:
            write_traces(self.samples_dir() / f"traces_{task_name}_{self.date_id}.jsonl", records)

    def samples_dir(self) -> Path:
        path = Path(self.output_path)
        if path.suffix == ".json":
            return path.parent
        return path / str(self.general_config_tracker.model_name_sanitized)


def save_run(tracker: EvaluationTracker, results: dict[str, Any]) -> None:
    """Save what simple_evaluate returned the way `lm_eval --output_path --log_samples` does."""
    samples = results.pop("samples")
    tracker.save_results_aggregated(results=results, samples=samples)
    for task_name in results["configs"]:
        tracker.save_results_samples(task_name=task_name, samples=samples[task_name])


def run_folder(tracker: EvaluationTracker) -> Path:
    return Path(tracker.output_path) / str(tracker.general_config_tracker.model_name_sanitized)
