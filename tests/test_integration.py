"""`dq eval` end to end, offline, on the packaged SmolLM2-135M (real model, real data)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
SMOL = "hf,{r}.pretrained=smollm2-135m,{r}.dtype=float32"


def dq_eval(tmp: Path, model_args: str, tasks: str, limit: int = 3, *extra: str) -> subprocess.CompletedProcess:
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
        tasks,
        "--limit",
        str(limit),
        "--device",
        "cpu",
        "--batch_size",
        "8",
        "--output_path",
        str(tmp),
        "--log_samples",
        *extra,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, env={**os.environ}, timeout=900)


def test_two_stage_smollm2_on_dq_paper(tmp_path):
    args = (
        "decomposer="
        + SMOL.format(r="decomposer")
        + ",solver="
        + SMOL.format(r="solver")
        + ",decomposer_gen.max_gen_toks=48"
    )
    proc = dq_eval(tmp_path, args, "dq_paper", 2, "--apply_chat_template", "--gen_kwargs", "max_gen_toks=48")
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = tmp_path / "two_stage__smollm2-135m__smollm2-135m"
    results = json.loads(next(run_dir.glob("results_*.json")).read_text())
    assert set(results["results"]) >= {"gsm8k_dq", "drop_dq", "bamboogle_dq"}
    assert (
        "exact_match,strict-match" in results["results"]["gsm8k_dq"]
        and "f1,strict-match" in results["results"]["drop_dq"]
    )
    dq = results["config"]["dq"]
    assert dq["decomposer"]["backend"] == "hf" and dq["solver"]["args"]["dtype"] == "float32"
    assert dq["label"] == "smollm2-135m/smollm2-135m"
    for task in ("gsm8k_dq", "drop_dq", "bamboogle_dq"):
        lines = next(run_dir.glob(f"samples_{task}_*.jsonl")).read_text().splitlines()
        samples = [s for s in map(json.loads, lines) if s["filter"] == "strict-match"]  # a line per filter
        traces = [json.loads(x) for x in next(run_dir.glob(f"traces_{task}_*.jsonl")).read_text().splitlines()]
        assert len(samples) == len(traces) == 2
        by_id = {s["doc_id"]: s for s in samples}
        for t in traces:
            # traces join to lm-eval's samples on doc_id + doc_hash, and carry what each stage saw
            assert by_id[t["doc_id"]]["doc_hash"] == t["doc_hash"]
            assert by_id[t["doc_id"]]["resps"][0][0] == t["solver"]["output"]
            assert "<|im_start|>user" in t["decomposer"]["prompt"]  # SmolLM2's own chat template
            assert t["decomposer"]["completion_tokens"] <= 48 + 2 and t["solver"]["prompt_tokens"] > 0
            assert isinstance(t["subquestions"], list) and len(t["subquestions"]) <= (
                2 if task == "bamboogle_dq" else 3
            )


@pytest.mark.parametrize(
    "args, needle",
    [
        ("decomposer=nosuch,solver=" + SMOL.format(r="solver"), "unknown decomposer backend 'nosuch'"),
        (
            "decomposer=oracle,solver=" + SMOL.format(r="solver"),
            "decomposer=oracle needs gold sub-questions, which drop_dq lacks",
        ),
    ],
)
def test_bad_input_one_line_no_results(tmp_path, args, needle):
    proc = dq_eval(tmp_path, args, "drop_dq", 1)
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("dq: error:") and needle in last
    assert not list(tmp_path.rglob("results_*.json"))
