"""Barrier vs streamed two_stage over two served stages (model/pipeline.py).

Workload: N docs (default 32) of dq_synth_d2, packaged smollm2-135m as decomposer and as
solver, each behind its own llama.cpp server (what `dq serve` runs, started here on 127.0.0.1,
one thread each), local-completions, chat template on, greedy, max_gen_toks 48 for both
stages, no stage cache. The same TwoStageLM run with ``pipeline=false`` (every decomposition,
then every solution: one server idles while the other works) and with streaming on (a doc's
solve request goes out when its decomposition is parsed). Runs alternate (barrier, streamed,
...; --repeats pairs, after one untimed warm-up run) in one process so both see the same
machine; the best of each is kept.

Reported: wall time of each run, streamed/barrier ratio (target <= 0.65 on 2 cores) beside its
bound (the larger stage's barrier busy time / the barrier wall: perfect overlap), per-stage
busy seconds (the traces' per-request seconds summed; with --num_concurrent > 1 these are
request-seconds and may exceed the wall time) and busy/wall, identical outputs and traces (all
fields but seconds), the CPU seconds of each server and of this process with the cores the run
got (their sum / wall: on a shared machine the overlap can only use what the others leave), the
1-minute load before and after, the threads.

    python benchmarks/bench_pipeline.py [--n 32] [--max_gen_toks 48] [--repeats 1]

Against servers already running (two vLLM servers on a GPU node, say), none is started:

    python benchmarks/bench_pipeline.py --decomposer_url http://H:8000/v1/completions \
        --solver_url http://H:8001/v1/completions --served_model MODEL --num_concurrent 16

Writes benchmarks/results/pipeline.json and prints a summary.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("DQ_DATA_DIR", str(ROOT.parent / "shared" / "data"))

from lm_eval.api.instance import Instance  # noqa: E402

from dq_tasks import hooks, synth  # noqa: E402
from harness_ext.lmeval.two_stage import TwoStageLM  # noqa: E402
from harness_ext.records import without_seconds  # noqa: E402
from harness_ext.serve.server import LlamaServer  # noqa: E402

MODEL = "smollm2-135m"
TASK = "dq_synth_d2"
OUT = ROOT / "benchmarks" / "results" / "pipeline.json"


def model_args(dec_url: str, sol_url: str, max_gen_toks: int, pipeline: bool, model: str, concurrent: int) -> dict:
    stage = {"model": model, "tokenized_requests": False, "max_retries": 2, "num_concurrent": concurrent}
    return {
        "decomposer": "local-completions",
        "solver": "local-completions",
        "decomposer.base_url": dec_url,
        "solver.base_url": sol_url,
        **{f"{role}.{k}": v for role in ("decomposer", "solver") for k, v in stage.items()},
        "decomposer_gen.max_gen_toks": max_gen_toks,
        "pipeline": pipeline,
    }


def requests(lm: TwoStageLM, n: int, max_gen_toks: int) -> list[Instance]:
    gen = {"until": ["\n\nQuestion:", "<|im_end|>"], "max_gen_toks": max_gen_toks, "do_sample": False}
    docs = synth.generate(2, n=n, seed=1234)  # the docs of dq_synth_d2
    return [
        Instance(
            "generate_until",
            d,
            (lm.apply_chat_template([{"role": "user", "content": hooks.doc_to_text(d)}]), dict(gen)),
            i,
            (TASK, i, 1),
        )
        for i, d in enumerate(docs)
    ]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(args: dict, n: int, max_gen_toks: int, pids: dict[str, int]) -> dict:
    lm = TwoStageLM(**args)
    reqs = requests(lm, n, max_gen_toks)
    before = {role: cpu_seconds(pid) for role, pid in pids.items()}
    client_before = time.process_time()
    start = time.perf_counter()
    outputs = lm.generate_until(reqs)
    wall = time.perf_counter() - start
    cpu = {f"{role}_server": round(cpu_seconds(pid) - before[role], 2) for role, pid in pids.items()}
    cpu["client"] = round(time.process_time() - client_before, 2)
    traces = lm.traces_for(TASK)
    busy = {s: round(sum(t[s]["seconds"] for t in traces), 2) for s in ("decomposer", "solver")}
    return {
        "wall_s": round(wall, 2),
        "busy_s": busy,
        "busy_over_wall": {s: round(b / wall, 3) for s, b in busy.items()},
        # CPU the servers and this process used: equal in both modes when only the overlap
        # differs; cores_used = their sum / wall, i.e. how much of the machine the run got.
        "cpu_s": cpu,
        "cores_used": round(sum(cpu.values()) / wall, 2),
        "completion_tokens": {s: sum(t[s]["completion_tokens"] or 0 for t in traces) for s in busy},
        "token_source": sorted({t[s]["token_source"] or "none" for t in traces for s in busy}),
        "outputs": outputs,
        "traces": without_seconds(traces),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--max_gen_toks", type=int, default=48)
    ap.add_argument("--repeats", type=int, default=1, help="barrier/streamed pairs; the best of each is kept")
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--decomposer_url", help="a running server's completions URL (then none is started)")
    ap.add_argument("--solver_url", help="a running server's completions URL (then none is started)")
    ap.add_argument("--served_model", default=MODEL, help="the model name the servers serve")
    ap.add_argument("--num_concurrent", type=int, default=1, help="requests in flight per stage")
    args = ap.parse_args()
    if bool(args.decomposer_url) != bool(args.solver_url):
        raise SystemExit("give both --decomposer_url and --solver_url, or neither")

    load_before = os.getloadavg()
    runs: dict[str, list[dict]] = {"barrier": [], "streamed": []}
    with contextlib.ExitStack() as stack:
        pids: dict[str, int] = {}
        if args.decomposer_url:
            urls = (args.decomposer_url, args.solver_url)
        else:
            opts = {"port": 0, "ctx": 2048, "threads": 1, "wait": 180}
            servers = [stack.enter_context(LlamaServer(MODEL, **opts)) for _ in range(2)]
            urls = (servers[0].completions_url, servers[1].completions_url)
            pids = {"decomposer": servers[0].proc.pid, "solver": servers[1].proc.pid}  # type: ignore[union-attr]
        # Warm both servers (first-request setup) so the first timed run is not penalised.
        run(model_args(*urls, 8, False, args.served_model, args.num_concurrent), 2, 8, pids)
        for _ in range(args.repeats):
            for name, pipeline in (("barrier", False), ("streamed", True)):
                margs = model_args(*urls, args.max_gen_toks, pipeline, args.served_model, args.num_concurrent)
                runs[name].append(run(margs, args.n, args.max_gen_toks, pids))
                last = runs[name][-1]
                print(f"{name}: {last['wall_s']} s wall, busy {last['busy_s']}, cpu {last['cpu_s']}", flush=True)
    load_after = os.getloadavg()

    best = {name: min(rs, key=lambda r: r["wall_s"]) for name, rs in runs.items()}
    barrier, streamed = best["barrier"], best["streamed"]
    report = {
        "command": "python benchmarks/bench_pipeline.py " + " ".join(sys.argv[1:]),
        "workload": {
            "task": TASK,
            "docs": args.n,
            "model": args.served_model,
            "backend": "local-completions x2 "
            + ("(servers given)" if args.decomposer_url else "(two llama.cpp servers, llama-cpp-python, Q4_1 GGUF)"),
            "max_gen_toks": args.max_gen_toks,
            "chat_template": True,
            "greedy": True,
            "num_concurrent": args.num_concurrent,
            "repeats": args.repeats,
        },
        "threads": {"llama_cpp_per_server": None if args.decomposer_url else 1, "servers": 2, "cpus": os.cpu_count()},
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in load_after],
        },
        "barrier": {k: v for k, v in barrier.items() if k not in ("outputs", "traces")},
        "streamed": {k: v for k, v in streamed.items() if k not in ("outputs", "traces")},
        "all_walls_s": {name: [r["wall_s"] for r in rs] for name, rs in runs.items()},
        "streamed_over_barrier": round(streamed["wall_s"] / barrier["wall_s"], 3),
        # The full-overlap bound: the larger stage's barrier busy time over the barrier's wall.
        "bound_larger_stage_over_barrier": round(max(barrier["busy_s"].values()) / barrier["wall_s"], 3),
        "identical_outputs": all(r["outputs"] == barrier["outputs"] for rs in runs.values() for r in rs),
        "identical_traces_but_seconds": all(r["traces"] == barrier["traces"] for rs in runs.values() for r in rs),
        "target": "streamed <= 0.65 x barrier",
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    keys = (
        "streamed_over_barrier",
        "bound_larger_stage_over_barrier",
        "identical_outputs",
        "identical_traces_but_seconds",
    )
    summary = {k: report[k] for k in keys}
    print(json.dumps({**summary, "load": report["machine"]}, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
