"""`dq serve` and two_stage over a real llama.cpp server on 127.0.0.1 (packaged smollm2-135m).

Every test here starts real processes: the server (llama-cpp-python's OpenAI server), and for
the CLI tests `python -m harness_ext`. They skip only when llama-cpp-python is not installed.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip(
    "llama_cpp.server",
    reason="llama-cpp-python[server] is not installed (pip install '.[serve]'); CI installs it",
)
pytest.importorskip("tenacity", reason="lm-eval's API backends need lm-eval[api] (pip install '.[serve]')")

from lm_eval.api.instance import Instance  # noqa: E402

from harness_ext.errors import DQError  # noqa: E402
from harness_ext.lmeval.two_stage import TwoStageLM  # noqa: E402
from harness_ext.serve.server import LlamaServer, free_port  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
MODEL = "smollm2-135m"
GEN = {"until": ["\n\n"], "max_gen_toks": 8, "do_sample": False}
# One thread: on a busy 2-core machine llama.cpp with 2 threads spin-waits and runs 4-8x slower.
SERVER_OPTS = {"ctx": 1024, "threads": 1, "wait": 90}

try:
    from harness_ext.serve.packaged import PACKAGED

    PACKAGED[MODEL].gguf_path()
except DQError as exc:  # pragma: no cover - the model package is part of `make setup`
    pytest.skip(str(exc), allow_module_level=True)


def dq(*args: str, timeout: float = 240, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harness_ext", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout, **kw
    )


@pytest.fixture(scope="module")
def server():
    with LlamaServer(MODEL, port=0, **SERVER_OPTS) as srv:
        yield srv


def docs(n: int) -> list[dict]:
    return [
        {
            "question": f"Ann has {i} pens and buys 2 more. How many pens does she have now?",
            "context": "",
            "answers": [str(i + 2)],
            "gold_subquestions": [],
        }
        for i in range(n)
    ]


def requests(n: int, task: str = "dq_synth_d2") -> list[Instance]:
    return [
        Instance("generate_until", d, (f"Question: {d['question']}\nAnswer:", dict(GEN)), 0, (task, i, 1))
        for i, d in enumerate(docs(n))
    ]


def api_args(url: str, chat_url: str | None = None, **extra) -> dict:
    solver = (
        {"solver": "local-chat-completions", "solver.base_url": chat_url}
        if chat_url
        else {"solver": "local-completions", "solver.base_url": url, "solver.tokenized_requests": False}
    )
    return {
        "decomposer": "local-completions",
        "decomposer.base_url": url,
        "decomposer.model": MODEL,
        "decomposer.tokenized_requests": False,
        "decomposer.max_retries": 2,
        "solver.model": MODEL,
        "solver.max_retries": 2,
        "decomposer_gen.max_gen_toks": 12,
        **solver,
        **extra,
    }


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


# -- dq serve: the CLI ----------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_cli_serves_then_stops_cleanly_on_signal(sig):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness_ext", "serve", MODEL, "--port", str(port), "--ctx", "512", "--wait", "90"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line == f"http://127.0.0.1:{port}/v1", proc.stderr.read() if proc.poll() is not None else line
        assert [m["id"] for m in get_json(f"{line}/models")["data"]] == [MODEL]
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    # The server child went with it: nothing listens on the port any more.
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_cli_port_in_use_is_one_clear_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        res = dq("serve", MODEL, "--port", str(port), timeout=60)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines()[-1] == (
        f"dq: error: port {port} on 127.0.0.1 is in use; pick another with --port (or --port 0 for a free one)"
    )


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["no-such-model"], "unknown model 'no-such-model': use a packaged model (smollm2-135m, gemma3-270m)"),
        (["/nope/missing.gguf"], "GGUF file '/nope/missing.gguf' does not exist"),
        ([MODEL, "--parallel", "4"], "--parallel 4: llama-cpp-python's server serves one request at a time"),
        ([MODEL, "--ctx", "0"], "--ctx must be positive"),
    ],
)
def test_cli_bad_input_is_one_clear_error(argv, needle):
    res = dq("serve", *argv, "--port", str(free_port()), timeout=60)
    assert res.returncode == 2
    assert len(res.stderr.strip().splitlines()) == 1 and needle in res.stderr, res.stderr


def test_cli_server_not_answering_within_wait_fails_and_leaves_nothing(tmp_path):
    port, log = free_port(), tmp_path / "server.log"
    res = dq("serve", MODEL, "--port", str(port), "--wait", "0.3", "--log", str(log), timeout=60)
    assert res.returncode == 2
    assert f"did not answer at http://127.0.0.1:{port}/v1/models within 0.3 s; raise --wait" in res.stderr
    time.sleep(0.5)
    with pytest.raises(OSError):  # the half-started server was stopped, not left running
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_eval_with_refused_base_url_names_it(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1/completions"
    res = dq(
        "eval",
        "--model",
        "two_stage",
        "--model_args",
        f"solver=local-completions,solver.base_url={url},solver.model={MODEL}",
        "--tasks",
        "dq_synth_d2",
        "--limit",
        "1",
        "--output_path",
        str(tmp_path),
    )
    assert res.returncode == 2, res.stderr[-2000:]
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith(f"dq: error: solver=local-completions: cannot connect to {url} (") and "dq serve" in last


# -- two_stage over the server ----------------------------------------------------------------


def test_two_stage_on_server_reports_usage_tokens(server):
    lm = TwoStageLM(**api_args(server.completions_url))
    out = lm.generate_until(requests(2))
    assert len(out) == 2 and all(isinstance(o, str) for o in out)
    tokenizer = lm.solver.lm.tokenizer  # the packaged model's HF tokenizer (the default for `model=<alias>`)
    for t in lm.traces_for("dq_synth_d2"):
        for stage in ("decomposer", "solver"):
            view = t[stage]
            assert view["token_source"] == "usage" and not view["cached"]
            n = len(tokenizer(view["prompt"], add_special_tokens=False).input_ids)
            assert abs(view["prompt_tokens"] - n) <= 2  # the server's count (it may add a BOS)
            assert isinstance(view["completion_tokens"], int)
            assert 0 <= view["completion_tokens"] <= (12 if stage == "decomposer" else 8)


def test_chat_completions_solver_gets_messages_with_apply_chat_template(server):
    lm = TwoStageLM(**api_args(server.completions_url, chat_url=server.chat_url))
    marked = lm.apply_chat_template(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Question: What is 2 + 3?\nAnswer:"}]
    )
    lm.generate_until([Instance("generate_until", {}, (marked, dict(GEN)), 0, ("foreign", 0, 1))])
    t = lm.traces_for("foreign")[0]
    # The completions decomposer got text templated with the model's own chat template ...
    assert t["decomposer"]["prompt"].startswith("<|im_start|>") and t["decomposer"]["token_source"] == "usage"
    # ... the chat solver got the JSON messages, and the server templated them.
    sent = json.loads(t["solver"]["prompt"])
    if t["subquestions"]:  # our solve prompt, as one user message
        assert [m["role"] for m in sent] == ["user"] and t["subquestions"][0] in sent[0]["content"]
    else:  # lm-eval's own messages, as they came
        assert sent[0] == {"role": "system", "content": "Be brief."} and sent[1]["role"] == "user"
    assert t["solver"]["token_source"] == "usage" and t["solver"]["prompt_tokens"] > 10


def test_dq_eval_end_to_end_over_server_writes_usage_traces(server, tmp_path):
    margs = (
        f"decomposer=local-completions,decomposer.base_url={server.completions_url},decomposer.model={MODEL},"
        f"decomposer.tokenized_requests=False,decomposer_gen.max_gen_toks=12,"
        f"solver=local-chat-completions,solver.base_url={server.chat_url},solver.model={MODEL}"
    )
    res = dq(
        "eval",
        "--model",
        "two_stage",
        "--model_args",
        margs,
        "--apply_chat_template",
        "--tasks",
        "dq_synth_d2",
        "--limit",
        "2",
        "--gen_kwargs",
        "max_gen_toks=8",
        "--log_samples",
        "--output_path",
        str(tmp_path),
    )
    assert res.returncode == 0, res.stderr[-3000:]
    traces = [json.loads(x) for f in tmp_path.rglob("traces_dq_synth_d2_*.jsonl") for x in f.read_text().splitlines()]
    lines = [x for f in tmp_path.rglob("samples_dq_synth_d2_*.jsonl") for x in f.read_text().splitlines()]
    samples = [s for s in map(json.loads, lines) if s["filter"] == "strict-match"]  # a line per doc and filter
    assert len(traces) == len(samples) == 2
    assert {t["solver"]["token_source"] for t in traces} == {"usage"}
    assert {t["doc_hash"] for t in traces} == {s["doc_hash"] for s in samples}


# -- faults: the server dies mid-run; a rerun after a restart reuses the cache ----------------


def test_server_killed_mid_run_fails_clearly_then_rerun_reuses_cache(tmp_path):
    db = tmp_path / "stages.sqlite"
    n = 4
    with LlamaServer(MODEL, port=0, **SERVER_OPTS) as srv:
        # The barrier path (its batched chunks); the streamed one has its own in test_pipeline.py.
        args = api_args(srv.completions_url, cache=str(db), pipeline=False)
        first = TwoStageLM(**args)
        solver = first.solver
        solver.chunk = 2  # commit every 2 solutions, so "mid-run" leaves finished chunks behind
        real_call, calls = solver._call, []

        def call_then_kill(reqs, prompts):
            out = real_call(reqs, prompts)
            calls.append(len(reqs))
            if len(calls) == 1:
                srv.kill()  # SIGKILL, as a crash: the next chunk finds nobody listening
            return out

        solver._call = call_then_kill
        start = time.monotonic()
        with pytest.raises(DQError) as err:
            first.generate_until(requests(n))
        assert time.monotonic() - start < 60  # bounded retries, no hang
        msg = str(err.value)
        assert msg.startswith(f"solver=local-completions at {srv.completions_url} failed after 2 attempts")
        assert "rerun" in msg and calls == [2]

        restarted = LlamaServer(MODEL, port=srv.port, **SERVER_OPTS)  # same port, same URL
    with restarted:
        second = TwoStageLM(**args)
        out = second.generate_until(requests(n))
    dec, sol = second.stages["decomposer"].stats, second.stages["solver"].stats
    assert dec.cache_hits == n and dec.generated == 0  # every decomposition was reused
    assert sol.cache_hits == 2  # the solutions finished before the kill were reused ...
    assert len(out) == n and all(isinstance(o, str) for o in out)  # ... and the rest were made
    traces = second.traces_for("dq_synth_d2")
    assert [t["solver"]["cached"] for t in traces].count(True) == 2
    assert {t["decomposer"]["token_source"] for t in traces} == {"usage"}
