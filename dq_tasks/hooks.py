"""Functions referenced from the task YAMLs (``!function hooks.<name>``).

lm-eval executes this file by path (``spec_from_file_location``), not as ``dq_tasks.hooks``,
so relative imports do not work here. We therefore make the repository root importable and
go through the real ``dq_tasks`` package: its modules, and their lru_caches, are then shared
with the rest of the process instead of being re-created for every YAML.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

try:
    import dq_tasks  # noqa: F401
except ImportError:  # e.g. the `lm_eval` console script, whose sys.path lacks the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dq_tasks import loaders, scoring  # noqa: E402
from dq_tasks.constants import DEFAULT_CAP  # noqa: E402


# --------------------------------------------------------------------------- datasets
# lm-eval calls custom_dataset(**metadata, **dataset_kwargs); metadata also carries the model
# arguments, so every loader takes **kwargs and reads only what it needs.
def load_task(dq_task: str, **kwargs: Any) -> dict[str, Any]:
    """A file-backed task; its name comes from the task YAML's dataset_kwargs."""
    return loaders.to_dataset(loaders.load_docs(dq_task))


def load_synth(
    depth: int, synth_n: int = 200, synth_seed: int = 1234, synth_split: str = "test", **kwargs: Any
) -> dict[str, Any]:
    """Synthetic task; depth comes from the task YAML's dataset_kwargs, n/seed/split may be
    overridden through lm-eval --metadata (synth_n, synth_seed, synth_split="train" for
    distillation data disjoint from the test set)."""
    docs = loaders.synth_docs(int(depth), int(synth_n), int(synth_seed), str(synth_split))
    return loaders.to_dataset(docs)


# --------------------------------------------------------------------------- prompts
def doc_to_text(doc: dict) -> str:
    """The single-stage prompt of the doc's task: a plain `--model hf` run is the baseline."""
    from harness_ext.model.prompts import doc_variables, get_prompt_set

    n = doc.get("max_subquestions") or DEFAULT_CAP
    return get_prompt_set("default").render(doc["dq_task"], "single", **doc_variables(doc, max_subquestions=n))


def doc_to_target(doc: dict) -> str:
    return doc["answers"][0]


# --------------------------------------------------------------------------- metrics
process_results_numeric = scoring.process_results_numeric
process_results_numeric_tol = scoring.process_results_numeric_tol
process_results_drop = scoring.process_results_drop
process_results_short = scoring.process_results_short
process_results_yes_no = scoring.process_results_yes_no
process_results_letter = scoring.process_results_letter
