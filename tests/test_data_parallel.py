"""Data parallel: a two-process `accelerate launch ... -m harness_ext eval` == one process.

Real processes: one `python -m harness_ext eval` and one two-process accelerate launch (gloo on
CPU, ACCELERATE_USE_CPU=1), both on the tiny random model, greedy, dq_synth_d2 --limit 4. Per-doc responses must be
identical, the work must really be split (each rank generates for half the docs), and rank 0's
traces must cover every doc.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness_ext.serve.server import free_port

REPO = Path(__file__).resolve().parent.parent
LIMIT = 4


def eval_args(tiny_model: str, out: Path) -> list[str]:
    margs = (
        f"decomposer=hf,decomposer.pretrained={tiny_model},solver=hf,solver.pretrained={tiny_model},"
        f"decomposer_gen.max_gen_toks=8"
    )
    return [
        "eval",
        "--model",
        "two_stage",
        "--model_args",
        margs,
        "--tasks",
        "dq_synth_d2",
        "--limit",
        str(LIMIT),
        "--gen_kwargs",
        "max_gen_toks=8",
        "--batch_size",
        "2",
        "--log_samples",
        "--output_path",
        str(out),
    ]


def run(cmd: list[str], out: Path, **env_extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", **env_extra}
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, f"{' '.join(cmd)}\n{res.stderr[-4000:]}"
    return res


def read(out: Path, kind: str) -> list[dict]:
    files = sorted(out.rglob(f"{kind}_dq_synth_d2_*.jsonl"))
    assert len(files) == 1, files
    return [json.loads(line) for line in files[0].read_text().splitlines()]


@pytest.mark.integration
def test_two_processes_match_one_process(tiny_model, tmp_path):
    if shutil.which("accelerate", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("accelerate's launcher is not installed")
    one, two = tmp_path / "one", tmp_path / "two"
    run([sys.executable, "-m", "harness_ext", *eval_args(tiny_model, one)], one)
    launcher = str(Path(sys.executable).parent / "accelerate")
    # Not `accelerate launch --cpu --num_processes 2`: accelerate (1.x) runs that as ONE process
    # on a single machine (its multi-CPU path needs --mpirun_hostfile). The torchrun-based
    # launcher with ACCELERATE_USE_CPU=1 starts two gloo ranks on CPU.
    res = run(
        [
            launcher,
            "launch",
            "--multi_gpu",
            "--num_processes",
            "2",
            "--num_machines",
            "1",
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
            "--main_process_port",
            str(free_port()),
            "-m",
            "harness_ext",
            *eval_args(tiny_model, two),
        ],
        two,
        ACCELERATE_USE_CPU="1",
    )

    # one samples line per doc and filter (strict-match, flexible-extract); compare strict-match
    s1 = [s for s in read(one, "samples") if s["filter"] == "strict-match"]
    s2 = [s for s in read(two, "samples") if s["filter"] == "strict-match"]
    assert sorted(s["doc_id"] for s in s1) == sorted(s["doc_id"] for s in s2) == list(range(LIMIT))
    by_doc = {s["doc_id"]: s for s in s2}
    for s in s1:
        assert by_doc[s["doc_id"]]["resps"] == s["resps"], s["doc_id"]
        assert by_doc[s["doc_id"]]["doc_hash"] == s["doc_hash"]

    # Rank 0 writes the traces of all ranks, as the single process does; each doc was
    # generated on one rank only, and both ranks did half the docs.
    t1, t2 = read(one, "traces"), read(two, "traces")
    assert [t["doc_id"] for t in t2] == [t["doc_id"] for t in t1] == list(range(LIMIT))
    assert sorted(t["rank"] for t in t2) == [0] * (LIMIT // 2) + [1] * (LIMIT // 2), res.stderr[-2000:]
    out1 = {t["doc_id"]: (t["subquestions"], t["solver"]["output"]) for t in t1}
    assert {t["doc_id"]: (t["subquestions"], t["solver"]["output"]) for t in t2} == out1
