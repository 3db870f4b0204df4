"""Benchmark `dq study --executor ray` on a two-node local Ray cluster against the serial study.

Workload: decomposers none, oracle and smollm2-135m x two solvers on one task (the two solvers
are smollm2-135m's weights under two specs, so they load and cache as different models; a
second *decomposer* with the same weights would write the same sub-questions, and the serial
run would then answer its cells from the first one's cached solver outputs: a cache artifact
the grid avoids). One decomposer pass, six cells. Compared, each from a fresh output folder
(cold stage cache):
- serial: one `dq study` process, one torch thread (`--threads 1`, OMP_NUM_THREADS=1);
- ray: `dq study --executor ray --address A` against a Ray cluster started here with
  ray.cluster_utils.Cluster: a head and a second node with one CPU each (so at most two tasks
  at once, each with one torch thread).
Measured: wall time of each `dq study` process (start-up and model loads included; the
cluster's own start is reported apart), decomposer tokens generated (cells + passes), and
whether every cell scores the same and gives the same per-doc answers in every run. The load
average is recorded before and after each run; the order alternates between repeats.

    python benchmarks/bench_scale.py [--limit 12] [--dec-toks 64] [--sol-toks 64] [--task dq_synth_d4] [--repeats 2]

Writes benchmarks/results/scale.json and prints a summary.
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
from bench_study import MODELS
from bench_study import env as study_env

ROOT = Path(__file__).resolve().parents[1]
DQ = [sys.executable, "-m", "harness_ext"]
OBJECT_STORE = 100 * 1024**2


def env() -> dict[str, str]:
    """bench_study's environment (offline, one OpenMP thread), with this checkout on the Ray
    workers' path and one torch thread per stage."""
    e = study_env()
    e["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [e.get("PYTHONPATH")])])
    e.update(DQ_THREADS="1", OMP_WAIT_POLICY="PASSIVE")
    return e


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def timed(cmd: list[str], log: Path) -> dict:
    before = load()
    start = time.perf_counter()
    with open(log, "w") as f:
        proc = subprocess.run(cmd, cwd=ROOT, env=env(), stdout=f, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{log.read_text()[-2000:]}")
    return {"wall_seconds": round(seconds, 1), "load_before": before, "load_after": load()}


def outcome(out: Path) -> tuple[dict, dict, int]:
    """Per cell: scores and every doc's answers; the decomposer tokens generated."""
    state = json.loads((out / "study.json").read_text())
    scores, answers = {}, {}
    for c in state["cells"]:
        scores[c["id"]] = c["metrics"]
        [samples] = Path(c["output_dir"]).glob("samples_*.jsonl")
        answers[c["id"]] = [json.loads(line)["filtered_resps"] for line in samples.open()]
    generated = sum(c["cost"]["decomposer"]["generated"] for c in state["cells"])
    generated += sum(p["stats"]["generated"] for p in state.get("passes", []))
    return scores, answers, generated


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--limit", type=int, default=12)
    p.add_argument("--dec-toks", type=int, default=64)
    p.add_argument("--sol-toks", type=int, default=64)
    p.add_argument("--task", default="dq_synth_d4")
    p.add_argument("--repeats", type=int, default=2)
    a = p.parse_args()
    os.environ.update({k: v for k, v in env().items() if k != "PYTHONPATH"})
    spec = {
        "name": "bench_scale",
        "tasks": [a.task],
        "limit": a.limit,
        "seed": 1234,
        "apply_chat_template": True,
        "batch_size": a.limit,
        "device": "cpu",
        "torch_threads": 1,
        "models": {n: {"backend": "hf", "args": args} for n, args in MODELS.items()},
        "decomposers": ["none", "oracle", "smol_a"],
        "solvers": list(MODELS),
        "decomposer_gen": {"max_gen_toks": a.dec_toks},
        "solver_gen": {"max_gen_toks": a.sol_toks},
        "iterations": 1000,
    }
    import ray
    from ray.cluster_utils import Cluster

    with tempfile.TemporaryDirectory(prefix="dq-bench-scale-") as tmp_name:
        tmp = Path(tmp_name)
        study = tmp / "bench_scale.yaml"
        study.write_text(yaml.safe_dump(spec))
        start = time.perf_counter()
        cluster = Cluster(
            initialize_head=True,
            head_node_args={"num_cpus": 1, "object_store_memory": OBJECT_STORE, "include_dashboard": False},
        )
        runs: list[dict] = []
        try:
            cluster.add_node(num_cpus=1, object_store_memory=OBJECT_STORE)
            cluster.wait_for_nodes()
            cluster_start = round(time.perf_counter() - start, 1)
            # Alternate the order (serial first, then Ray first): the shared machine's load drifts.
            for r in range(a.repeats):
                for side in ("serial", "ray") if r % 2 == 0 else ("ray", "serial"):
                    out = tmp / f"{side}{r}"
                    cmd = [*DQ, "study", str(study), "--out", str(out), "--no-progress"]
                    if side == "ray":
                        cmd += ["--executor", "ray", "--address", cluster.address]
                    runs.append({"side": side, "repeat": r, **timed(cmd, tmp / f"{side}{r}.log"), "out": out})
        finally:
            if ray.is_initialized():
                ray.shutdown()
            cluster.shutdown()
        for run in runs:
            run["scores"], run["answers"], run["decomposer_tokens_generated"] = outcome(run.pop("out"))
        first = runs[0]
        same = all(r["scores"] == first["scores"] and r["answers"] == first["answers"] for r in runs)
        for run in runs:
            del run["scores"], run["answers"]
    wall = {side: [r["wall_seconds"] for r in runs if r["side"] == side] for side in ("serial", "ray")}
    result = {
        "workload": {"task": a.task, "limit": a.limit, "grid": "none/oracle/smol_a x smol_a/smol_b", "model": "smollm2-135m",
                     "decomposer_max_gen_toks": a.dec_toks, "solver_max_gen_toks": a.sol_toks},
        "serial": {"processes": 1, "torch_threads": 1},
        "ray": {"nodes": 2, "cpus_per_node": 1, "torch_threads": 1, "cluster_start_seconds": cluster_start},
        "runs": runs,
        "speedup_per_repeat": [round(s / r, 2) for s, r in zip(wall["serial"], wall["ray"])],
        "identical_scores_and_answers": same,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "command": "python benchmarks/bench_scale.py " + " ".join(sys.argv[1:]),
    }  # fmt: skip
    out = ROOT / "benchmarks" / "results" / "scale.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
