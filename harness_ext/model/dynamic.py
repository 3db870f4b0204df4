"""Dynamic decomposition (the paper's self-ask baseline, its Table 6).

Per round, the decomposer sees the problem and the sub-questions answered so far and asks the
next one (or says "Done"); the solver answers it. Each round is one batched call per stage over
the docs still active. After the last round the solver answers the main question. Over served
stages the rounds stream (pipeline.py): a doc's next round starts when its previous answer
returns, without waiting for the slowest doc of the round.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any, Protocol

from dq_tasks.prompting import Kind
from harness_ext.model.items import Item
from harness_ext.model.parsing import parse_subquestions
from harness_ext.model.pipeline import Lanes, stream, streams
from harness_ext.model.spec import TwoStageConfig
from harness_ext.model.stages import Generation, Request, Stage
from harness_ext.records import CallTotals


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
    if lm.config.decomposer.backend == "oracle":
        return [it for it in active if oracle_question(lm, it, round_no)]
    reqs = [question_request(lm, it) for it in active]
    gens = lm.stages["decomposer"].generate(reqs, label=f"decompose (round {round_no + 1})")
    return [it for it, gen in zip(active, gens) if accept_question(it, gen)]


def answer_round(lm: Planner, asking: list[Item]) -> None:
    reqs = [answer_request(lm, it) for it in asking]
    round_no = len(asking[0].rounds) + 1 if asking else 0
    for it, gen in zip(asking, lm.solver.generate(reqs, chat_ready=True, label=f"answer (round {round_no})")):
        accept_answer(lm, it, gen)


def run_dynamic(lm: Planner, items: list[Item]) -> list[Generation]:
    if lm.config.decomposer.backend == "none":
        return lm.solve(items)
    if streams(lm.config, lm.stages):
        return stream(lm.stages, items, partial(stream_doc, lm), {role: None for role in lm.stages})
    active = list(items)
    for round_no in range(max(lm.cap(it) for it in items)):
        active = [it for it in active if len(it.rounds) < lm.cap(it)]
        asking = next_subquestions(lm, active, round_no)
        if not asking:
            break
        answer_round(lm, asking)
        active = asking
    for it in items:
        finish_rounds(lm, it)
    return lm.solver.generate([final_request(lm, it) for it in items], chat_ready=True)


async def stream_doc(lm: Planner, it: Item, lanes: Lanes) -> Generation:
    """One doc's rounds, streamed: its next round starts when its previous answer returns."""
    for round_no in range(lm.cap(it)):
        if lm.config.decomposer.backend == "oracle":
            asked = oracle_question(lm, it, round_no)
        else:
            asked = accept_question(it, await lanes["decomposer"].submit(question_request(lm, it), chat_ready=False))
        if not asked:
            break
        accept_answer(lm, it, await lanes["solver"].submit(answer_request(lm, it), chat_ready=True))
    finish_rounds(lm, it)
    return await lanes["solver"].submit(final_request(lm, it), chat_ready=True)


# -- one doc's steps, shared by the batched rounds and the streamed ones ------------------------
def oracle_question(lm: Planner, it: Item, round_no: int) -> bool:
    if round_no >= min(len(it.doc.get("gold_subquestions") or []), lm.cap(it)):
        return False
    it.pending = it.doc["gold_subquestions"][round_no]
    return True


def question_request(lm: Planner, it: Item) -> Request:
    return lm.request(it, "dynamic_decompose", lm.config.decomposer.gen, rounds=it.rounds)


def accept_question(it: Item, gen: Generation) -> bool:
    """Take the decomposer's next sub-question for this doc; False when it is done or stuck."""
    it.round_decomposer = gen
    it.decomposer_views.append(view(gen))  # every call counts, the final "Done" included
    found = [] if _DONE.match(gen.output) else parse_subquestions(gen.output, 1)
    asked = {r["subquestion"].lower() for r in it.rounds}
    if found and found[0].lower() not in asked:  # a repeated question means it is stuck
        it.pending = found[0]
        return True
    if gen.output:
        it.flags.append("done_signal" if _DONE.match(gen.output) else "no_question")
    return False


def answer_request(lm: Planner, it: Item) -> Request:
    gen_kwargs = {**ANSWER_GEN, **lm.config.solver.gen}
    req = lm.request(it, "dynamic_answer", gen_kwargs, rounds=it.rounds, subquestion=it.pending)
    req.prompt = lm.solver.render_chat(req.prompt)
    return req


def accept_answer(lm: Planner, it: Item, gen: Generation) -> None:
    dec = it.round_decomposer
    it.rounds.append(
        {
            "subquestion": it.pending,
            "answer": _short(gen.output),
            "decomposer": view(dec) if dec is not None and lm.config.decomposer.is_model else None,
            "solver": view(gen),
        }
    )


def finish_rounds(lm: Planner, it: Item) -> None:
    if len(it.rounds) >= lm.cap(it):
        it.flags.append("max_subquestions")
    it.subquestions = [r["subquestion"] for r in it.rounds]


def final_request(lm: Planner, it: Item) -> Request:
    gen_kwargs = {**it.gen_kwargs, **lm.config.solver.gen}
    if it.rounds:
        req = lm.request(it, "dynamic_solve", gen_kwargs, rounds=it.rounds)
        req.prompt = lm.solver.render_chat(req.prompt)
    else:
        req = lm.single(it, gen_kwargs)
        req.prompt = lm.solver_prompt(req)
    return req


def totals(views: list[dict[str, Any]]) -> CallTotals:
    """Per-stage sums over a doc's calls, shaped like static mode's stage objects."""
    return CallTotals(
        prompt_tokens=sum(v["prompt_tokens"] or 0 for v in views),
        completion_tokens=sum(v["completion_tokens"] or 0 for v in views),
        seconds=round(sum(v["seconds"] for v in views), 4),
        calls=len(views),
    )
