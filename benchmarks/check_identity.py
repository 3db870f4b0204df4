"""Do two commits' two_stage models write the same traces, samples and results?

    python benchmarks/check_identity.py OLD NEW      # e.g. 35c4c56 b6a441e (issue 14's refactor)
    python benchmarks/check_identity.py OLD NEW --pretrained smollm2-135m   # a real model

Each commit is checked out in a temporary worktree and runs the same three evaluations (hf,
oracle and none decomposers; the tests' tiny random model, or ``--pretrained`` for both stages;
6 docs of dq_synth_d2; chat template on; fixed generation kwargs). Records are compared field by
field, ignoring per-doc seconds and the fields a later commit may add (``truncated``, ``rank``). Exit 0 when all are identical.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IGNORE = {"seconds", "truncated", "rank"}
RUN = """
import os, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from conftest import build_tiny_model
tiny = Path({tiny!r})
if {pretrained!r}:
    tiny = {pretrained!r}
elif not (tiny / "config.json").exists():
    build_tiny_model(tiny)
from harness_ext.model.two_stage import TwoStageLM
from harness_ext.lmeval.runner import evaluate_to_dir
for dec in ("hf", "oracle", "none"):
    args = {{"decomposer": dec, "solver": "hf", "solver.pretrained": str(tiny), "batch_size": 4, "device": "cpu",
            "decomposer_gen.max_gen_toks": 8}}
    if dec == "hf":
        args["decomposer.pretrained"] = str(tiny)
    evaluate_to_dir(TwoStageLM(**args), ["dq_synth_d2"], Path({out!r}) / dec, limit=6, apply_chat_template=True,
                    gen_kwargs={{"until": ["\\n\\n"], "max_gen_toks": 8}})
"""


def run(commit: str, tmp: Path, pretrained: str = "") -> Path:
    tree, out = tmp / f"tree-{commit}", tmp / f"out-{commit}"
    subprocess.run(["git", "worktree", "add", "-q", "--detach", str(tree), commit], cwd=ROOT, check=True)
    try:
        code = RUN.format(tests=str(ROOT / "tests"), tiny=str(tmp / "tiny"), out=str(out), pretrained=pretrained)
        env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1", "DQ_PROGRESS": "0"}
        subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, check=True, capture_output=True)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=True)
    return out


def clean(x):
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items() if k not in IGNORE}
    if isinstance(x, list):
        return [clean(v) for v in x if v != "truncated"]
    return x


def records(root: Path, dec: str, kind: str) -> list:
    (path,) = glob.glob(f"{root}/{dec}/*/{kind}_dq_synth_d2_*.jsonl")
    return [json.loads(line) for line in open(path)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--pretrained", default="", help="both stages' model (default: the tests' tiny random model)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        a, b = run(args.old, Path(tmp), args.pretrained), run(args.new, Path(tmp), args.pretrained)
        same = True
        for dec in ("hf", "oracle", "none"):
            for kind in ("traces", "samples"):
                ok = clean(records(a, dec, kind)) == clean(records(b, dec, kind))
                print(f"{dec:6s} {kind:8s} {'identical' if ok else 'DIFFERENT'}")
                same &= ok
            (ra,), (rb,) = glob.glob(f"{a}/{dec}/*/results_*.json"), glob.glob(f"{b}/{dec}/*/results_*.json")
            ok = json.load(open(ra))["results"] == json.load(open(rb))["results"]
            print(f"{dec:6s} results  {'identical' if ok else 'DIFFERENT'}")
            same &= ok
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
