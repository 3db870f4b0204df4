"""Benchmark the same two_stage run with both stages on hf vs both on a llama.cpp server.

Workload: N docs (default 16) of dq_synth_d4, packaged smollm2-135m for both stages, chat
template on, greedy, decomposer and solver capped at the same max_gen_toks (default 48), no
stage cache. Each configuration is a full `python -m harness_ext eval` run (a fresh process):

* hf:     decomposer=hf, solver=hf (the converted fp32 HF model, torch, batch_size=16 --
          one batched call per stage)
* server: decomposer=local-completions, solver=local-completions against `dq serve
          smollm2-135m` (the Q4_1 GGUF under llama.cpp; it serves one request at a time)

Both get the same threads (--threads, default 1: OMP_NUM_THREADS for torch, n_threads for
llama.cpp; on a shared 2-core machine llama.cpp with 2 threads spin-waits and runs 4-8x slower).
Reported per configuration: wall time of the eval process, generation seconds (the stages'
summed call time from the traces), completion tokens (tokenizer counts for hf, the server's
usage for the server), tokens/s, accuracy; and the hf/server ratios.

    python benchmarks/bench_backends.py [--n 16] [--max_gen_toks 48] [--threads 1]

Writes benchmarks/results/backends.json and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODEL = "smollm2-135m"
TASK = "dq_synth_d4"


def run_eval(model_args: str, out: Path, n: int, max_gen_toks: int, threads: int, batch_size: int) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "harness_ext",
        "eval",
        "--model",
        "two_stage",
        "--model_args",
        model_args,
        "--tasks",
        TASK,
        "--limit",
        str(n),
        "--apply_chat_template",
        "--batch_size",
        str(batch_size),
        "--gen_kwargs",
        f"max_gen_toks={max_gen_toks}",
        "--log_samples",
        "--output_path",
        str(out),
    ]
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    start = time.perf_counter()
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if res.returncode != 0:
        raise SystemExit(f"eval failed ({' '.join(cmd)}):\n{res.stderr[-3000:]}")
    traces = [json.loads(x) for f in out.rglob(f"traces_{TASK}_*.jsonl") for x in f.read_text().splitlines()]
    results = json.loads(next(out.rglob("results_*.json")).read_text())["results"][TASK]
    stats: dict = {"wall_s": round(wall, 2), "docs": len(traces)}
    for stage in ("decomposer", "solver"):
        views = [t[stage] for t in traces]
        stats[stage] = {
            "seconds": round(sum(v["seconds"] for v in views), 2),
            "prompt_tokens": sum(v["prompt_tokens"] or 0 for v in views),
            "completion_tokens": sum(v["completion_tokens"] or 0 for v in views),
            "token_source": sorted({str(v["token_source"]) for v in views}),
        }
    gen_s = stats["decomposer"]["seconds"] + stats["solver"]["seconds"]
    toks = stats["decomposer"]["completion_tokens"] + stats["solver"]["completion_tokens"]
    stats.update(
        generation_s=round(gen_s, 2),
        completion_tokens=toks,
        tokens_per_s=round(toks / gen_s, 2) if gen_s else None,
        accuracy={k: v for k, v in results.items() if isinstance(v, (int, float)) and "stderr" not in k},
        outputs={t["doc_id"]: t["solver"]["output"] for t in traces},
    )
    return stats


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--max_gen_toks", type=int, default=48)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "backends.json"))
    args = ap.parse_args()

    from harness_ext.serve.packaged import hf_dir
    from harness_ext.serve.server import LlamaServer

    hf_dir(MODEL)  # convert once up front, so the hf run does not time the conversion
    common = f"decomposer_gen.max_gen_toks={args.max_gen_toks}"
    report: dict = {
        "workload": {
            "task": TASK,
            "docs": args.n,
            "model": MODEL,
            "max_gen_toks": args.max_gen_toks,
            "threads": args.threads,
            "chat_template": True,
            "greedy": True,
        },
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        hf_args = f"decomposer=hf,decomposer.pretrained={MODEL},solver=hf,solver.pretrained={MODEL},{common}"
        report["hf"] = run_eval(hf_args, tmp / "hf", args.n, args.max_gen_toks, args.threads, batch_size=16)
        print(f"hf:     {report['hf']['wall_s']} s wall, {report['hf']['tokens_per_s']} tok/s", flush=True)

        with LlamaServer(MODEL, port=0, ctx=2048, threads=args.threads, wait=180) as srv:
            stage = (
                f"local-completions,{{r}}.base_url={srv.completions_url},{{r}}.model={MODEL},"
                f"{{r}}.tokenized_requests=False,{{r}}.batch_size=1"
            )
            server_args = f"decomposer={stage.format(r='decomposer')},solver={stage.format(r='solver')},{common}"
            report["server"] = run_eval(
                server_args, tmp / "server", args.n, args.max_gen_toks, args.threads, batch_size=1
            )
        print(f"server: {report['server']['wall_s']} s wall, {report['server']['tokens_per_s']} tok/s", flush=True)

    hf, sv = report["hf"], report["server"]
    same = sum(hf["outputs"].get(k) == v for k, v in sv["outputs"].items())
    report["ratios"] = {
        "wall_time_hf_over_server": round(hf["wall_s"] / sv["wall_s"], 3),
        "generation_time_hf_over_server": round(hf["generation_s"] / sv["generation_s"], 3),
        "tokens_per_s_server_over_hf": round(sv["tokens_per_s"] / hf["tokens_per_s"], 3),
        "identical_solver_outputs": f"{same}/{len(sv['outputs'])}",
    }
    report["notes"] = (
        "hf runs the GGUF dequantized to fp32 (torch, batched); the server runs the Q4_1 GGUF "
        "(llama.cpp, one request at a time), so outputs may differ. Machine shared with other jobs."
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["ratios"], indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
