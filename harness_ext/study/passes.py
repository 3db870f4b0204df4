"""A decomposer pass: one decomposer over one task's docs, with no solver.

The docs, prompts and chat templating are lm-eval's own (the pass runs ``simple_evaluate`` as
the cell would, with the study's limit, seed and metadata). Its output is a traces file in the
shape two_stage writes (sub-questions, flags and the decomposer's view per doc; the solver view
empty), which the decomposer's cells replay (``decomposer=replay``), and the stage-cache rows
of the generations.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness_ext.lmeval.chat import item_of
from harness_ext.lmeval.samples import doc_hash
from harness_ext.lmeval.two_stage import TwoStageLM
from harness_ext.model.items import stage_view
from harness_ext.records import StageView, TraceRecord
from harness_ext.study import cost as costs

if TYPE_CHECKING:
    from harness_ext.study.cells import Cell
    from harness_ext.study.spec import Study


NO_SOLVER = StageView(prompt="", output="", prompt_tokens=None, completion_tokens=None, seconds=0.0, cached=False,
                      token_source=None)  # fmt: skip


class DecomposeOnlyLM(TwoStageLM):
    """two_stage whose generate_until decomposes each request, records the decomposition and
    answers nothing: lm-eval's scores of a pass are meaningless and discarded."""

    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        items = [item_of(r) for r in requests]
        if items:
            self.decomposer.decompose(items)
        for item in items:
            self.book.add(
                TraceRecord(
                    task=item.task,
                    doc_id=item.doc_id,
                    doc_hash=doc_hash(item.doc),
                    mode="static",
                    subquestions=item.subquestions,
                    flags=item.flags,
                    decomposer=stage_view(item.decomposition) if item.decomposition else None,
                    decomposer_backend=self.config.decomposer.backend,
                    solver=NO_SOLVER,
                )  # fmt: skip
            )
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
    """Decompose ``cell``'s task with its decomposer (generations into ``cache``): the trace
    records (JSONL shape), the decomposer's StageStats and parameter count."""
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
        return {
            "traces": lm.traces_for(cell.task),
            "stats": asdict(lm.stages["decomposer"].stats),
            "parameters": costs.parameters(lm, "decomposer"),
        }
    finally:
        lm.close()
        lm.pool.close()
