"""CPU thread default: torch threads 1 vs 2 (and OpenMP's wait policy), quiet vs loaded.

One demo slice (SmolLM2-135M as decomposer and solver, hf backend, 16 docs of
dq_synth_easy_d1, 32 new tokens per stage, one batch) runs in a fresh process per setting;
"loaded" starts one busy-looping process per core beside it, as other work on a shared box
would. Every figure is the wall time of the whole process; the 1-minute load is recorded.
Run: python benchmarks/bench_threads.py   (writes benchmarks/results/threads.json)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "results" / "threads.json"
SLICE = """
from harness_ext.lmeval.two_stage import TwoStageLM
from harness_ext.lmeval.runner import evaluate_to_dir
import tempfile
smol = {"pretrained": "smollm2-135m", "dtype": "float32"}
args = {"decomposer": "hf", "solver": "hf", "batch_size": 16, "decomposer_gen.max_gen_toks": 32,
        **{f"decomposer.{k}": v for k, v in smol.items()}, **{f"solver.{k}": v for k, v in smol.items()}}
with tempfile.TemporaryDirectory() as out:
    evaluate_to_dir(TwoStageLM(**args), ["dq_synth_easy_d1"], out, limit=16, apply_chat_template=True,
                    gen_kwargs={"max_gen_toks": 32})
"""
SETTINGS = [("1", None), ("2", None), ("2", "PASSIVE")]


def run(threads: str, wait_policy: str | None) -> float:
    env = {**os.environ, "DQ_THREADS": threads, "OMP_NUM_THREADS": threads, "DQ_PROGRESS": "0"}
    env.pop("OMP_WAIT_POLICY", None)
    if wait_policy:
        env["OMP_WAIT_POLICY"] = wait_policy
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", SLICE], env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    rows = []
    for loaded in (False, True):
        hogs = (
            [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 2)]
            if loaded
            else []
        )
        try:
            for threads, policy in SETTINGS:
                seconds = run(threads, policy)
                rows.append({"loaded": loaded, "torch_threads": int(threads), "omp_wait_policy": policy or "default",
                             "wall_s": round(seconds, 1), "load_1min": round(os.getloadavg()[0], 2)})  # fmt: skip
                print(json.dumps(rows[-1]), flush=True)
        finally:
            for hog in hogs:
                hog.kill()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"cpus": os.cpu_count(), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
