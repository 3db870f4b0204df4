"""A decomposer pass: one decomposer over one task's docs, into a stage cache, with no solver.

The docs, prompts and chat templating are lm-eval's own (the pass runs ``simple_evaluate`` as
the cell would, with the study's limit, seed and metadata), so every decomposition lands in the
cache under the key the cells of that decomposer then look up: they generate nothing for it.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness_ext.model.items import Item
from harness_ext.model.two_stage import TwoStageLM

if TYPE_CHECKING:
    from harness_ext.study.grid import Cell
    from harness_ext.study.spec import Study


class DecomposeOnlyLM(TwoStageLM):
    """two_stage whose generate_until decomposes each request and answers nothing: lm-eval's
    scores of a pass are meaningless and discarded; only the cached decompositions count."""

    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        items = [Item(r.task_name, r.doc_id, r.doc or {}, r.args[0], dict(r.args[1])) for r in requests]
        if items:
            strategy: Any = getattr(self, "decomposer", None)  # the Decomposer protocol, where present
            decompose = strategy.decompose if hasattr(strategy, "decompose") else self.decompose
            decompose(items)
        return ["" for _ in items]


def pass_args(model_args: dict[str, Any], cache: str | Path) -> dict[str, Any]:
    """A cell's model args with the solver replaced by the decomposer's own spec: one model
    loads (the pool shares equal specs) and no solver model is needed on this node."""
    args = {k: v for k, v in model_args.items() if k != "solver" and not k.startswith(("solver.", "solver_gen."))}
    args["solver"] = model_args["decomposer"]
    args.update({f"solver.{k.split('.', 1)[1]}": v for k, v in model_args.items() if k.startswith("decomposer.")})
    args["cache"] = str(cache)
    return args


def run_pass(study: Study, cell: Cell, cache: str | Path, tm=None) -> dict[str, Any]:
    """Decompose ``cell``'s task with its decomposer into ``cache``; the decomposer's StageStats."""
    from lm_eval import simple_evaluate

    from harness_ext.lmeval.tasks import task_manager

    lm = DecomposeOnlyLM(**pass_args(cell.model_args, cache))
    try:
        seeds = {
            k: study.seed for k in ("random_seed", "numpy_random_seed", "torch_random_seed", "fewshot_random_seed")
        }
        simple_evaluate(
            model=lm, tasks=[cell.task], limit=study.limit, apply_chat_template=study.apply_chat_template,
            metadata=study.metadata, task_manager=tm or task_manager(), log_samples=False, **seeds,
        )  # fmt: skip
        return asdict(lm.stages["decomposer"].stats)
    finally:
        lm.close()
        lm.pool.close()
