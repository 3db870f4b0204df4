"""Functions referenced from the task YAMLs (``!function hooks.<name>``).

lm-eval executes this file by path (``spec_from_file_location``), not as ``dq_tasks.hooks``,
so relative imports do not work here. We therefore make the repository root importable and
go through the real ``dq_tasks`` package: its modules, and their lru_caches, are then shared
with the rest of the process instead of being re-created for every YAML.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

try:
    import dq_tasks  # noqa: F401
except ImportError:  # e.g. the `lm_eval` console script, whose sys.path lacks the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lm_eval.api.samplers import ContextSampler  # noqa: E402

from dq_tasks import dataset, registry, scoring  # noqa: E402
from dq_tasks.constants import DEFAULT_CAP  # noqa: E402
from dq_tasks.extract import Family, FilterName, extract  # noqa: E402


# --------------------------------------------------------------------------- datasets
# lm-eval calls custom_dataset(**metadata, **dataset_kwargs); metadata also carries the model
# arguments, so every loader takes **kwargs and reads only what it needs.
def load_task(dq_task: str, perturbation: str | None = None, **kwargs: Any) -> dict[str, Any]:
    """A file-backed task; its name comes from the task YAML's dataset_kwargs. GSM-Plus
    subtasks also name their perturbation type. Tasks with a few-shot split get it too."""
    docs = registry.load_docs(dq_task)
    if perturbation is not None:
        docs = [d for d in docs if d["perturbation_type"] == perturbation]
    return dataset.to_dataset(docs, registry.fewshot_splits(dq_task))


# --------------------------------------------------------------------------- few-shot
class NoFewshotSplit(ContextSampler):
    """The sampler of tasks without a few-shot split: lm-eval only calls ``sample`` when
    --num_fewshot > 0, so a 0-shot run is untouched and a k-shot run fails with one clear
    error instead of silently running 0-shot (or drawing exemplars from the test set)."""

    def sample(self, n: int, eval_doc: Any = None, df: Any = None, **kwargs: Any) -> list:
        if n == 0:
            return []
        from dq_tasks.errors import DQError

        task = (eval_doc or {}).get("dq_task", "this task")
        raise DQError(
            f"--num_fewshot {n}: {task} has no few-shot split; run it with --num_fewshot 0 "
            f"(few-shot splits: {', '.join(registry.fewshot_tasks())})"
        )


def no_fewshot_samples() -> list[dict]:
    return []


def fewshot_target(doc: dict) -> str:
    """An exemplar's answer in the format the prompts ask for."""
    return f"The answer is: {doc['answers'][0]}"


# --------------------------------------------------------------------------- prompts
def doc_to_text(doc: dict) -> str:
    """The single-stage prompt of the doc's task: a plain `--model hf` run is the baseline."""
    from dq_tasks.prompting import doc_variables, get_prompt_set

    n = doc.get("max_subquestions") or DEFAULT_CAP
    return get_prompt_set("default").render(doc["dq_task"], "single", **doc_variables(doc, max_subquestions=n))


def doc_to_target(doc: dict) -> str:
    return doc["answers"][0]


# --------------------------------------------------------------------------- filters
# lm-eval's "custom" filter calls filter_fn(resps, docs): resps holds each doc's replies.
FilterFn = Callable[[Sequence[Sequence[str]], Sequence[dict]], list[list[str]]]


def _filter(family: Family, name: FilterName) -> FilterFn:
    def apply(resps: Sequence[Sequence[str]], docs: Sequence[dict]) -> list[list[str]]:
        return [[extract(r, family, name, doc) for r in replies] for replies, doc in zip(resps, docs)]

    apply.__name__ = f"{family}_{name.replace('-', '_')}"
    return apply


strict_number = _filter("number", "strict-match")
flexible_number = _filter("number", "flexible-extract")
strict_number_or_none = _filter("number_or_none", "strict-match")
flexible_number_or_none = _filter("number_or_none", "flexible-extract")
strict_letter = _filter("letter", "strict-match")
flexible_letter = _filter("letter", "flexible-extract")
strict_yes_no = _filter("yes_no", "strict-match")
flexible_yes_no = _filter("yes_no", "flexible-extract")
strict_span = _filter("span", "strict-match")
flexible_span = _filter("span", "flexible-extract")

# --------------------------------------------------------------------------- metrics
process_results_numeric = scoring.process_results_numeric
process_results_numeric_tol = scoring.process_results_numeric_tol
process_results_drop = scoring.process_results_drop
process_results_short = scoring.process_results_short
process_results_yes_no = scoring.process_results_yes_no
process_results_letter = scoring.process_results_letter
