"""Interpreter start-up cost of the lm-eval post-import hook (dq_harness.pth).

Both arms start `python -S` and add one site directory holding either the hook (.pth + module)
or nothing, then exit: the difference is what every Python process in the venv pays.
Run: python benchmarks/bench_hook.py [--runs 200]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).resolve().parent / "results" / "hook.json"


def one(site: Path) -> float:
    code = f"import site; site.addsitedir({str(site)!r})"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-S", "-c", code], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        empty, hooked = Path(tmp) / "empty", Path(tmp) / "hooked"
        empty.mkdir(), hooked.mkdir()
        for name in ("dq_harness.pth", "dq_harness_hook.py"):
            shutil.copy(ROOT / name, hooked / name)
        one(hooked)  # compile the module's bytecode once, as an installed copy would have
        base, hook = [], []
        for _ in range(args.runs):  # interleaved, so load drifts hit both arms alike
            base.append(one(empty))
            hook.append(one(hooked))
    result = {
        "runs": args.runs,
        "median_without_ms": round(statistics.median(base) * 1e3, 2),
        "median_with_ms": round(statistics.median(hook) * 1e3, 2),
        "median_cost_ms": round((statistics.median(hook) - statistics.median(base)) * 1e3, 2),
        "load_1min": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
