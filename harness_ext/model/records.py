"""Per-request traces, written beside lm-eval's samples files as traces_<task>_<date>.jsonl.

lm-eval has no post-save hook, so the EvaluationTracker's two save methods are wrapped once:
after lm-eval writes a task's samples, the live two_stage models' traces for that task follow
with the same date id, and the results JSON's ``config`` gains a ``dq`` block with both stages.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol


class TraceSource(Protocol):
    def traces_for(self, task: str) -> list[dict[str, Any]]: ...
    def describe(self) -> dict[str, Any]: ...


TWO_STAGE_NAMES = ("two_stage", "TwoStageLM")  # results config "model": CLI name / object class
LAST_USED: list[TraceSource] = []  # the two_stage model that generated last (lm-eval runs one at a time)


def write_traces(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".jsonl.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
    tmp.replace(path)
    return path


REPO_ROOT = str(Path(__file__).resolve().parents[2]) + "/"


def portable(value: Any) -> Any:
    """Paths under the repo become relative and the home directory becomes ``~``, so a results
    file says the same on every machine (lm-eval records absolute config and model paths)."""
    if isinstance(value, str):
        return value.replace(REPO_ROOT, "").replace(str(Path.home()) + "/", "~/")
    if isinstance(value, dict):
        return {k: portable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [portable(v) for v in value]
    return value


def _samples_dir(tracker) -> Path:
    path = Path(tracker.output_path)
    if path.suffix == ".json":
        return path.parent
    return path / str(tracker.general_config_tracker.model_name_sanitized)


def install_tracker_hook() -> None:
    from lm_eval.loggers.evaluation_tracker import EvaluationTracker
    from lm_eval.utils import sanitize_model_name

    if getattr(EvaluationTracker, "_dq_hooked", False):
        return
    save_aggregated = EvaluationTracker.save_results_aggregated
    save_samples = EvaluationTracker.save_results_samples

    def aggregated(self, results: dict, samples: dict | None = None) -> None:
        config = results.get("config")
        self._dq_source = None
        if LAST_USED and isinstance(config, dict) and config.get("model") in TWO_STAGE_NAMES:
            self._dq_source = LAST_USED[-1]
            described = self._dq_source.describe()
            config["dq"] = described
            # lm-eval names the output folder after a `pretrained` arg, which two_stage lacks
            # (it would get a random id): name it after both stages instead.
            general = self.general_config_tracker
            general.model_name = f"two_stage/{described['label']}"
            general.model_name_sanitized = sanitize_model_name(general.model_name)
        for key in ("config", "configs"):
            if key in results:
                results[key] = portable(results[key])
        save_aggregated(self, results=results, samples=samples)

    def samples_then_traces(self, task_name: str, samples: dict) -> None:
        save_samples(self, task_name=task_name, samples=samples)
        source = getattr(self, "_dq_source", None)
        if source is not None and self.output_path:
            records = source.traces_for(task_name)
            if records:
                write_traces(_samples_dir(self) / f"traces_{task_name}_{self.date_id}.jsonl", records)

    EvaluationTracker.save_results_aggregated = aggregated
    EvaluationTracker.save_results_samples = samples_then_traces
    EvaluationTracker._dq_hooked = True
