"""Benchmark `dq study` (shared models + stage cache) against independent `dq eval` runs.

Workload: a 2-decomposer x 2-solver grid on dq_synth_d4 with smollm2-135m. The two "models"
are the same weights under two specs (the second adds max_length), so they load and cache as
different models, like two real decomposers would. Compared:
- one `dq study` process (cold cache: a fresh output directory);
- four `dq eval` processes, one per cell, run one after another, no stage cache.
Measured: wall time of each side (process start-up and model loads included), decomposer
tokens generated (study.json `generated`; traces of the eval runs), and whether every cell
scores the same both ways (it should: greedy decoding, same prompts).

    python benchmarks/bench_study.py [--limit 8] [--dec-toks 48] [--sol-toks 64]

Writes benchmarks/results/study.json and prints a summary.
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

import yaml

ROOT = Path(__file__).resolve().parents[1]
DQ = [sys.executable, "-m", "harness_ext"]
TASK = "dq_synth_d4"
MODELS = {
    "smol_a": {"pretrained": "smollm2-135m", "dtype": "float32"},
    "smol_b": {"pretrained": "smollm2-135m", "dtype": "float32", "max_length": 2048},
}


def env() -> dict[str, str]:
    e = dict(os.environ)
    e.setdefault("DQ_DATA_DIR", str(ROOT.parent / "shared" / "data"))
    # One OpenMP thread on both sides: on shared, oversubscribed cores 2 threads ran 8x slower.
    e.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false", OMP_NUM_THREADS="1")
    return e


def timed(cmd: list[str], log: Path) -> float:
    start = time.perf_counter()
    with open(log, "w") as f:
        proc = subprocess.run(cmd, cwd=ROOT, env=env(), stdout=f, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        tail = log.read_text()[-2000:]
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{tail}")
    return seconds


def run_study(tmp: Path, a: argparse.Namespace) -> tuple[float, dict]:
    spec = {
        "name": "bench",
        "tasks": [TASK],
        "limit": a.limit,
        "seed": 1234,
        "apply_chat_template": True,
        "batch_size": a.limit,
        "device": "cpu",
        "models": {n: {"backend": "hf", "args": args} for n, args in MODELS.items()},
        "decomposers": list(MODELS),
        "solvers": list(MODELS),
        "decomposer_gen": {"max_gen_toks": a.dec_toks},
        "solver_gen": {"max_gen_toks": a.sol_toks},
        "iterations": 1000,
    }
    path = tmp / "bench.yaml"
    path.write_text(yaml.safe_dump(spec))
    seconds = timed([*DQ, "study", str(path), "--out", str(tmp / "study"), "--no-progress"], tmp / "study.log")
    return seconds, json.loads((tmp / "study" / "study.json").read_text())


def eval_args(dec: str, sol: str, a: argparse.Namespace) -> str:
    parts = [
        "decomposer=hf",
        "solver=hf",
        f"decomposer_gen.max_gen_toks={a.dec_toks}",
        f"solver_gen.max_gen_toks={a.sol_toks}",
    ]
    parts += [f"decomposer.{k}={v}" for k, v in MODELS[dec].items()]
    parts += [f"solver.{k}={v}" for k, v in MODELS[sol].items()]
    return ",".join(parts)


def run_independent(tmp: Path, a: argparse.Namespace) -> list[dict]:
    out = []
    for dec in MODELS:
        for sol in MODELS:
            where = tmp / "eval" / f"{dec}__{sol}"
            cmd = [
                *DQ,
                "eval",
                "--model",
                "two_stage",
                "--model_args",
                eval_args(dec, sol, a),
                "--tasks",
                TASK,
                "--batch_size",
                str(a.limit),
                "--device",
                "cpu",
                "--limit",
                str(a.limit),
                "--apply_chat_template",
                "--log_samples",
                "--seed",
                "1234",
                "--output_path",
                str(where),
            ]
            seconds = timed(cmd, tmp / f"eval_{dec}__{sol}.log")
            results = json.loads(next(where.glob("*/results_*.json")).read_text())
            traces = [json.loads(line) for f in where.glob(f"*/traces_{TASK}_*.jsonl") for line in open(f)]
            generated = sum(
                t["decomposer"].get("completion_tokens") or 0 for t in traces if not t["decomposer"].get("cached")
            )
            out.append(
                {
                    "decomposer": dec,
                    "solver": sol,
                    "seconds": round(seconds, 2),
                    "decomposer_generated": generated,
                    "exact_match": results["results"][TASK]["exact_match,none"],
                }
            )
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--limit", type=int, default=8)
    p.add_argument("--dec-toks", type=int, default=48)
    p.add_argument("--sol-toks", type=int, default=64)
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="dq-bench-study-") as d:
        tmp = Path(d)
        study_s, state = run_study(tmp, a)
        indep = run_independent(tmp, a)
    cells = [c for c in state["cells"] if c["status"] == "ok"]
    study_gen = sum(c["cost"]["decomposer"]["generated"] for c in cells)
    indep_s = sum(r["seconds"] for r in indep)
    indep_gen = sum(r["decomposer_generated"] for r in indep)
    same = all(
        next(c for c in cells if (c["decomposer"], c["solver"]) == (r["decomposer"], r["solver"]))["metrics"][
            "exact_match,none"
        ]
        == r["exact_match"]
        for r in indep
    )
    result = {
        "workload": {
            "task": TASK,
            "limit": a.limit,
            "grid": "2 decomposers x 2 solvers",
            "models": MODELS,
            "decomposer_max_gen_toks": a.dec_toks,
            "solver_max_gen_toks": a.sol_toks,
        },
        "study": {
            "seconds": round(study_s, 2),
            "decomposer_generated": study_gen,
            "cells_ok": len(cells),
            "inner_seconds": state.get("wall_seconds"),
            "cells": [{"id": c["id"], "wall_seconds": c["wall_seconds"], "cost": c["cost"]} for c in cells],
        },
        "independent": {"seconds": round(indep_s, 2), "decomposer_generated": indep_gen, "runs": indep},
        "wall_ratio_independent_over_study": round(indep_s / study_s, 3),
        "decomposer_generated_ratio": round(indep_gen / study_gen, 3) if study_gen else None,
        "same_scores": same,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg_at_end": os.getloadavg(),
        },
    }
    out = ROOT / "benchmarks" / "results" / "study.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"dq study (1 process, shared models + stage cache): {study_s:7.1f} s, decomposer tokens generated {study_gen}"
    )
    print(
        f"4 x dq eval (independent, no cache):               {indep_s:7.1f} s, decomposer tokens generated {indep_gen}"
    )
    print(
        f"wall ratio independent/study {result['wall_ratio_independent_over_study']:.2f}x; decomposer tokens "
        f"ratio {result['decomposer_generated_ratio']}x; same scores both ways: {same}"
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
