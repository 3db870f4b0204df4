"""Streaming between stages (model/pipeline.py) over real llama.cpp servers on 127.0.0.1.

Two servers, as a decomposer and a solver would have: the same outputs and traces with
streaming on and off (static and dynamic mode, and a mixed pair with an in-process hf
decomposer), an interrupted streamed run that resumes from the cache without re-sending what
finished, and one clear fault line naming the stage and its URL.
"""

from __future__ import annotations

import json
import time

import pytest

pytest.importorskip(
    "llama_cpp.server",
    reason="llama-cpp-python[server] is not installed (pip install '.[serve]'); CI installs it",
)
pytest.importorskip("tenacity", reason="lm-eval's API backends need lm-eval[api] (pip install '.[serve]')")

from harness_ext.errors import DQError  # noqa: E402
from harness_ext.lmeval.models import parse_model_args  # noqa: E402
from harness_ext.lmeval.two_stage import TwoStageLM  # noqa: E402
from harness_ext.model.pipeline import streams  # noqa: E402
from harness_ext.records import without_seconds
from harness_ext.serve.server import LlamaServer  # noqa: E402
from tests.test_serve import MODEL, SERVER_OPTS, requests  # noqa: E402

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def servers():
    with LlamaServer(MODEL, port=0, **SERVER_OPTS) as dec, LlamaServer(MODEL, port=0, **SERVER_OPTS) as sol:
        yield dec, sol


def pair_args(dec_url: str, sol_url: str, **extra) -> dict:
    return {
        "decomposer": "local-completions",
        "decomposer.base_url": dec_url,
        "decomposer.model": MODEL,
        "decomposer.tokenized_requests": False,
        "decomposer.max_retries": 2,
        "decomposer_gen.max_gen_toks": 24,
        "solver": "local-completions",
        "solver.base_url": sol_url,
        "solver.model": MODEL,
        "solver.tokenized_requests": False,
        "solver.max_retries": 2,
        **extra,
    }


def run(args: dict, n: int) -> tuple[list[str], list[dict], TwoStageLM]:
    lm = TwoStageLM(**args)
    out = lm.generate_until(requests(n))
    return out, lm.traces_for("dq_synth_d2"), lm


@pytest.mark.parametrize("mode", ["static", "dynamic"])
def test_streamed_outputs_and_traces_equal_the_barrier(servers, mode, monkeypatch, capfd):
    dec, sol = servers
    n = 4
    extra = {"mode": mode, "max_subquestions": 2} if mode == "dynamic" else {}
    barrier_out, barrier_traces, _ = run(
        pair_args(dec.completions_url, sol.completions_url, pipeline=False, **extra), n
    )
    capfd.readouterr()
    monkeypatch.setenv("DQ_PROGRESS", "1")
    out, traces, lm = run(pair_args(dec.completions_url, sol.completions_url, **extra), n)
    bars = capfd.readouterr().err
    assert out == barrier_out and len(out) == n
    assert without_seconds(traces) == without_seconds(barrier_traces)
    assert [t["doc_id"] for t in traces] == list(range(n))  # the items' order, not finishing order
    stages = ("decomposer", "solver") if mode == "static" else ("final",)
    for t in traces:
        for stage in stages:
            assert t[stage]["token_source"] == "usage" and t[stage]["seconds"] > 0 and not t[stage]["cached"]
    # One request per doc and stage (static) went to the servers, each timed on its own.
    dec_stats, sol_stats = lm.stages["decomposer"].stats, lm.stages["solver"].stats
    if mode == "static":
        assert dec_stats.calls == sol_stats.calls == n
        assert "decompose: 100%" in bars and "solve: 100%" in bars  # one bar per stage
    else:
        assert sol_stats.calls == n + sum(len(t["rounds"]) for t in traces)
        assert "decompose: " in bars and "solve: " in bars


def test_chat_solver_streams_the_same_messages_and_outputs(servers):
    dec, sol = servers
    args = pair_args(dec.completions_url, sol.completions_url)
    args |= {"solver": "local-chat-completions", "solver.base_url": sol.chat_url}
    del args["solver.tokenized_requests"]
    runs = []
    for pipeline in (False, True):
        lm = TwoStageLM(**args, pipeline=pipeline)
        marked = [
            lm.apply_chat_template([{"role": "user", "content": r.args[0]}]) for r in requests(3)
        ]  # chat on: each stage templates its own prompt
        reqs = [type(r)(r.request_type, r.doc, (m, r.args[1]), r.idx, r.metadata) for r, m in zip(requests(3), marked)]
        runs.append((lm.generate_until(reqs), without_seconds(lm.traces_for("dq_synth_d2"))))
    assert runs[0] == runs[1]
    assert {t["solver"]["token_source"] for t in runs[1][1]} == {"usage"}
    assert all(json.loads(t["solver"]["prompt"])[-1]["role"] == "user" for t in runs[1][1])  # messages went


def test_dynamic_oracle_rounds_stream_per_doc(servers):
    from lm_eval.api.instance import Instance

    from dq_tasks import hooks, synth

    _, sol = servers
    docs = synth.generate(2, n=3, seed=7)  # docs of dq_synth_d2, with gold sub-questions
    gen = {"until": ["\n\n"], "max_gen_toks": 8, "do_sample": False}
    reqs = [
        Instance("generate_until", d, (hooks.doc_to_text(d), dict(gen)), 0, ("dq_synth_d2", i, 1))
        for i, d in enumerate(docs)
    ]
    args = {k: v for k, v in pair_args("", sol.completions_url).items() if not k.startswith("decomposer")}
    args |= {"decomposer": "oracle", "mode": "dynamic"}
    runs = []
    for pipeline in (False, True):
        lm = TwoStageLM(**args, pipeline=pipeline)
        runs.append((lm.generate_until(reqs), without_seconds(lm.traces_for("dq_synth_d2")), lm))
    (barrier_out, barrier_traces, _), (out, traces, lm) = runs
    assert out == barrier_out and traces == barrier_traces
    assert [t["subquestions"] for t in traces] == [d["gold_subquestions"][:3] for d in docs]
    assert lm.solver.stats.calls == sum(len(t["rounds"]) + 1 for t in traces)  # a request per round, streamed


@pytest.mark.parametrize("in_process", ["decomposer", "solver"])
def test_mixed_pair_streams_the_same(servers, tiny_model, in_process):
    dec, sol = servers
    args = {k: v for k, v in pair_args(dec.completions_url, sol.completions_url).items() if in_process not in k}
    args |= {in_process: "hf", f"{in_process}.pretrained": tiny_model, f"{in_process}.device": "cpu"}
    args |= {"decomposer_gen.max_gen_toks": 6}
    barrier_out, barrier_traces, _ = run({**args, "pipeline": False}, 3)
    out, traces, lm = run(args, 3)
    assert out == barrier_out
    assert without_seconds(traces) == without_seconds(barrier_traces)
    served = "solver" if in_process == "decomposer" else "decomposer"
    assert {t[in_process]["token_source"] for t in traces} == {"tokenizer"}
    assert {t[served]["token_source"] for t in traces} == {"usage"}
    assert lm.stages[served].stats.calls == 3  # one request per doc: the served stage streamed


@pytest.mark.parametrize("role", ["decomposer", "solver"])
def test_server_dying_mid_stream_fails_clearly_and_a_rerun_sends_only_what_is_missing(tmp_path, role):
    n, db = 6, tmp_path / "stages.sqlite"
    with LlamaServer(MODEL, port=0, **SERVER_OPTS) as dec, LlamaServer(MODEL, port=0, **SERVER_OPTS) as sol:
        dying = dec if role == "decomposer" else sol
        args = pair_args(dec.completions_url, sol.completions_url, cache=str(db))
        first = TwoStageLM(**args)
        stage = first.stages[role]
        real_store, stored = stage.store, []

        def store_then_kill(keys, gens):
            real_store(keys, gens)
            stored.extend(keys)
            if len(stored) == 2:
                dying.kill()  # SIGKILL, as a crash: the requests after these find nobody listening

        stage.store = store_then_kill  # type: ignore[method-assign]
        start = time.monotonic()
        with pytest.raises(DQError) as err:
            first.generate_until(requests(n))
        assert time.monotonic() - start < 90  # bounded retries, no hang
        msg = str(err.value)
        assert msg.startswith(f"{role}=local-completions at {dying.completions_url} failed after 2 attempts"), msg
        assert "\n" not in msg and "rerun" in msg
        finished = {r: first.stages[r].stats.calls for r in ("decomposer", "solver")}
        assert finished[role] == 2 and finished["decomposer"] >= finished["solver"]
        first.close()
        restarted = LlamaServer(MODEL, port=dying.port, **SERVER_OPTS)  # same port, same URL
        with restarted:
            second = TwoStageLM(**args)
            out = second.generate_until(requests(n))
    assert len(out) == n and all(isinstance(o, str) for o in out)
    for r in ("decomposer", "solver"):
        stats = second.stages[r].stats
        # Every request the first run finished comes from the cache; only the rest are sent.
        assert stats.cache_hits == finished[r], r
        assert stats.calls == n - finished[r], r
    traces = second.traces_for("dq_synth_d2")
    assert [t["decomposer"]["cached"] for t in traces].count(True) == finished["decomposer"]
    second.close()


def test_pipeline_switch_is_validated_and_transport_args_keep_the_cache_key():
    base = {"solver": "local-completions", "solver.base_url": "http://127.0.0.1:1/v1/completions"}
    assert parse_model_args(base).pipeline is True
    assert parse_model_args({**base, "pipeline": False}).pipeline is False
    with pytest.raises(DQError, match="pipeline must be true or false, got 'maybe'"):
        parse_model_args({**base, "pipeline": "maybe"})
    fast = parse_model_args({**base, "solver.num_concurrent": 8, "solver.max_retries": 5, "solver.timeout": 30})
    assert fast.solver.args["num_concurrent"] == 8  # forwarded to lm-eval's own argument
    assert fast.solver.output_key() == parse_model_args(base).solver.output_key()


def test_two_in_process_stages_keep_the_batched_barrier(tiny_model):
    stage = {"pretrained": tiny_model, "device": "cpu"}
    args = {f"{role}.{k}": v for role in ("decomposer", "solver") for k, v in stage.items()}
    lm = TwoStageLM(decomposer="hf", solver="hf", decomposer_gen={"max_gen_toks": 4}, **args)
    assert not streams(lm.config, lm.stages)
    lm.generate_until(requests(3))
    assert lm.stages["decomposer"].stats.calls == 1  # one batch, not one call per doc
