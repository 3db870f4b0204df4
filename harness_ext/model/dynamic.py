"""Dynamic decomposition (the paper's self-ask baseline, its Table 6).

Per round, the decomposer sees the problem and the sub-questions answered so far and asks the
next one (or says "Done"); the solver answers it. Each round is one batched call per stage over
the docs still active. After the last round the solver answers the main question.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from dq_tasks.prompting import Kind
from harness_ext.model.items import Item
from harness_ext.model.parsing import parse_subquestions
from harness_ext.model.records import CallTotals
from harness_ext.model.spec import TwoStageConfig
from harness_ext.model.stages import Generation, Request, Stage


class Planner(Protocol):
    """What dynamic mode needs from the two_stage model: its public prompt-building interface."""

    config: TwoStageConfig
    stages: dict[str, Stage]

    @property
    def solver(self) -> Stage: ...
    def cap(self, item: Item) -> int: ...
    def request(self, item: Item, kind: Kind, gen_kwargs: dict[str, Any], **extra: Any) -> Request: ...
    def single(self, item: Item, gen_kwargs: dict[str, Any]) -> Request: ...
    def solver_prompt(self, req: Request) -> str: ...
    def solve(self, items: list[Item]) -> list[Generation]: ...


_DONE = re.compile(r"^\W*(done|no (more|further) (sub-?)?questions?|no decomposition)\b", re.IGNORECASE)
ANSWER_GEN = {"until": ["\n\n", "\nQuestion:"], "max_gen_toks": 48, "do_sample": False}


def view(gen: Generation) -> dict[str, Any]:
    return {
        "prompt_tokens": gen.prompt_tokens,
        "completion_tokens": gen.completion_tokens,
        "seconds": round(gen.seconds, 4),
        "cached": gen.cached,
    }


def _short(answer: str) -> str:
    """The first non-empty line: small solvers keep talking after the answer."""
    lines = [ln.strip() for ln in answer.strip().splitlines() if ln.strip()]
    return lines[0] if lines else ""


def next_subquestions(lm: Planner, active: list[Item], round_no: int) -> list[Item]:
    """Ask the decomposer for each active doc's next sub-question; returns the docs that got one."""
    spec = lm.config.decomposer
    if spec.backend == "oracle":
        asking = [it for it in active if round_no < min(len(it.doc.get("gold_subquestions") or []), lm.cap(it))]
        for it in asking:
            it.pending = it.doc["gold_subquestions"][round_no]
        return asking
    stage = lm.stages["decomposer"]
    reqs = [lm.request(it, "dynamic_decompose", spec.gen, rounds=it.rounds) for it in active]
    asking = []
    for it, gen in zip(active, stage.generate(reqs, label=f"decompose (round {round_no + 1})")):
        it.round_decomposer = gen
        it.decomposer_views.append(view(gen))  # every call counts, the final "Done" included
        found = [] if _DONE.match(gen.output) else parse_subquestions(gen.output, 1)
        asked = {r["subquestion"].lower() for r in it.rounds}
        if found and found[0].lower() not in asked:  # a repeated question means it is stuck
            it.pending = found[0]
            asking.append(it)
        elif gen.output:
            it.flags.append("done_signal" if _DONE.match(gen.output) else "no_question")
    return asking


def answer_round(lm: Planner, asking: list[Item]) -> None:
    gen_kwargs = {**ANSWER_GEN, **lm.config.solver.gen}
    reqs = [lm.request(it, "dynamic_answer", gen_kwargs, rounds=it.rounds, subquestion=it.pending) for it in asking]
    for r in reqs:
        r.prompt = lm.solver.render_chat(r.prompt)
    round_no = len(asking[0].rounds) + 1 if asking else 0
    for it, gen in zip(asking, lm.solver.generate(reqs, chat_ready=True, label=f"answer (round {round_no})")):
        dec = it.round_decomposer
        it.rounds.append(
            {
                "subquestion": it.pending,
                "answer": _short(gen.output),
                "decomposer": view(dec) if dec is not None and lm.config.decomposer.is_model else None,
                "solver": view(gen),
            }
        )


def run_dynamic(lm: Planner, items: list[Item]) -> list[Generation]:
    if lm.config.decomposer.backend == "none":
        return lm.solve(items)
    active = list(items)
    for round_no in range(max(lm.cap(it) for it in items)):
        active = [it for it in active if len(it.rounds) < lm.cap(it)]
        asking = next_subquestions(lm, active, round_no)
        if not asking:
            break
        answer_round(lm, asking)
        active = asking
    for it in items:
        if len(it.rounds) >= lm.cap(it):
            it.flags.append("max_subquestions")
        it.subquestions = [r["subquestion"] for r in it.rounds]
    return final_solve(lm, items)


def final_solve(lm: Planner, items: list[Item]) -> list[Generation]:
    reqs = []
    for it in items:
        gen_kwargs = {**it.gen_kwargs, **lm.config.solver.gen}
        if it.rounds:
            req = lm.request(it, "dynamic_solve", gen_kwargs, rounds=it.rounds)
            req.prompt = lm.solver.render_chat(req.prompt)
        else:
            req = lm.single(it, gen_kwargs)
            req.prompt = lm.solver_prompt(req)
        reqs.append(req)
    return lm.solver.generate(reqs, chat_ready=True)


def totals(views: list[dict[str, Any]]) -> CallTotals:
    """Per-stage sums over a doc's calls, shaped like static mode's stage objects."""
    return CallTotals(
        prompt_tokens=sum(v["prompt_tokens"] or 0 for v in views),
        completion_tokens=sum(v["completion_tokens"] or 0 for v in views),
        seconds=round(sum(v["seconds"] for v in views), 4),
        calls=len(views),
    )
