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

from harness_ext.records import TraceBook, portable, write_traces

TRACE_KEY = "dq_traces"  # the config key that carries the TraceBook; never saved


class DQTracker(EvaluationTracker):
    """lm-eval's EvaluationTracker plus dq traces; identical to it for any other model."""

    book: TraceBook | None = None

    def save_results_aggregated(self, results: dict, samples: dict | None = None) -> None:
        config = results.get("config")
        self.book = config.pop(TRACE_KEY, None) if isinstance(config, dict) else None
        if self.book is not None:
            _record_runtime(results["config"], self.book)
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
        records = self.book.records(task_name) if self.book is not None else []
        if self.book is not None:
            _prompts_as_seen(samples, records, self.book.solver_texts)
        super().save_results_samples(task_name=task_name, samples=samples)
        if self.book is None or not self.output_path:
            return
        if records:
            write_traces(self.samples_dir() / f"traces_{task_name}_{self.date_id}.jsonl", records)

    def samples_dir(self) -> Path:
        path = Path(self.output_path)
        if path.suffix == ".json":
            return path.parent
        return path / str(self.general_config_tracker.model_name_sanitized)


def _record_runtime(config: dict[str, Any], book: TraceBook) -> None:
    """lm-eval records the --device/--batch_size it was given (cuda:0 and '4' on a CPU run);
    two_stage knows what its stages really used."""
    runtime = book.describe.get("runtime", {})
    if runtime.get("device"):
        config["device"] = runtime["device"]
    size = config.get("batch_size")
    if isinstance(size, str) and size.isdigit():
        config["batch_size"] = int(size)


def _prompts_as_seen(samples: list[dict[str, Any]], records: list[dict[str, Any]], texts: dict[str, str]) -> None:
    """A sample's ``arg_0`` is the context lm-eval built; under --apply_chat_template two_stage
    receives it as a marked chat history. Write what the solver read instead: its traced prompt
    (generate_until), else the history in the solver's template (loglikelihood, one per choice)."""
    from harness_ext.lmeval.chat import CHAT_MARK

    seen = {r["doc_id"]: r["solver"].get("prompt") for r in records}
    for sample in samples:
        arguments = sample.get("arguments")
        if not isinstance(arguments, list):
            continue  # lm-eval keeps (context, gen_kwargs) tuples until it writes the file
        for i, (context, *rest) in enumerate(arguments):
            if not (isinstance(context, str) and context.startswith(CHAT_MARK)):
                continue
            prompt = seen.get(sample.get("doc_id")) or texts.get(context)
            if prompt:
                arguments[i] = (prompt, *rest)


def save_run(tracker: EvaluationTracker, results: dict[str, Any]) -> None:
    """Save what simple_evaluate returned the way `lm_eval --output_path --log_samples` does."""
    samples = results.pop("samples")
    tracker.save_results_aggregated(results=results, samples=samples)
    for task_name in results["configs"]:
        tracker.save_results_samples(task_name=task_name, samples=samples[task_name])


def run_folder(tracker: EvaluationTracker) -> Path:
    return Path(tracker.output_path) / str(tracker.general_config_tracker.model_name_sanitized)


def install() -> None:
    """lm-eval's tracker module, and the package's name for its class, become DQTracker."""
    import sys

    for name in ("lm_eval.loggers.evaluation_tracker", "lm_eval.loggers"):
        module = sys.modules.get(name)
        if module is not None and getattr(module, "EvaluationTracker", None) is EvaluationTracker:
            module.EvaluationTracker = DQTracker  # type: ignore[attr-defined]


install()  # also when this module is imported before lm-eval's tracker (plugin.on_tracker waits then)
