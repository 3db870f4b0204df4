"""mode=dynamic: rounds stop at the cap and on "Done"; one inner call per stage per round."""

from __future__ import annotations

from lm_eval.api.model import LM
from lm_eval.api.registry import register_model

from harness_ext.lmeval.two_stage import TwoStageLM
from tests.conftest import count_calls, docs, requests


@register_model("dq_test_asker")
class Asker(LM):
    """Asks doc-dependent numbers of sub-questions: doc i asks i questions, then says Done."""

    def __init__(self, **kwargs):
        super().__init__()
        self.calls: list[int] = []

    def generate_until(self, requests, disable_tqdm=False):
        self.calls.append(len(requests))
        out = []
        for r in requests:
            asked = r.args[0].count(" Answer: ")
            wanted = int(r.doc["question"].split()[2])  # "Ann has {i} pens ..."
            out.append(f"What is step {asked + 1}?" if asked < wanted else "Done.")
        return out

    def loglikelihood(self, requests, disable_tqdm=False):
        raise NotImplementedError

    def loglikelihood_rolling(self, requests, disable_tqdm=False):
        raise NotImplementedError


def make(tiny_model, decomposer="dq_test_asker", **extra):
    return TwoStageLM(
        decomposer=decomposer,
        solver="hf",
        **{"solver.pretrained": tiny_model},
        mode="dynamic",
        batch_size=4,
        device="cpu",
        **{"solver_gen.max_gen_toks": 4},
        **extra,
    )


def test_rounds_stop_on_done_and_at_cap(tiny_model):
    lm = make(tiny_model, max_subquestions=3)
    solver_calls = count_calls(lm)
    lm.generate_until(requests(docs(5)))  # doc i wants i sub-questions
    asker = lm.stages["decomposer"].lm
    # round 1: docs 0..4 asked; docs 1-4 get a question. Round 2: docs 1-4 asked, 2-4 continue;
    # round 3: docs 2-4 asked, 3-4 continue -> cap 3 reached.
    assert asker.calls == [4, 1, 4, 3]  # rounds of 5, 4, 3 docs, in batches of 4
    assert solver_calls == [4, 3, 2, 4, 1]  # one answer call per round, then the final solve (5 docs)
    traces = lm.traces_for("dq_synth_d2")
    assert [len(t["rounds"]) for t in traces] == [0, 1, 2, 3, 3]
    assert traces[1]["rounds"][0]["subquestion"] == "What is step 1?"
    assert "done_signal" in traces[1]["flags"] and "max_subquestions" in traces[4]["flags"]
    assert [f for f in traces[0]["flags"] if f != "truncated"] == ["done_signal", "single_stage"]
    t = traces[3]
    assert t["mode"] == "dynamic" and t["subquestions"] == ["What is step 1?", "What is step 2?", "What is step 3?"]
    assert t["solver"]["calls"] == 4 and t["solver"]["prompt_tokens"] > 0
    # every decomposer call is costed, the one that said "Done" included
    assert [tr["decomposer"]["calls"] for tr in traces] == [1, 2, 3, 3, 3]
    assert "What is step 3?" in t["final"]["prompt"]


def test_oracle_dynamic_asks_gold_one_at_a_time(tiny_model):
    lm = make(tiny_model, "oracle")
    sizes = count_calls(lm)
    lm.generate_until(requests(docs(2)))
    assert sizes == [2, 2, 2]  # two gold sub-questions answered in two rounds, then the final solve
    rounds = lm.traces_for("dq_synth_d2")[0]["rounds"]
    assert [r["subquestion"] for r in rounds] == ["How many pens at first?", "How many bought?"]
