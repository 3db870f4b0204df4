"""What a user mistypes gets one `dq: error:` line, exit 2, and no output folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def dq(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", **env}
    return subprocess.run(
        [sys.executable, "-m", "harness_ext", *args], cwd=cwd, capture_output=True, text=True, env=full_env, timeout=600
    )


def one_line_error(proc: subprocess.CompletedProcess, *words: str) -> str:
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("dq: error:") and all(w in last for w in words), last
    return last


def test_unknown_task(tmp_path, tiny_model):
    args = ["eval", "--model", "two_stage", "--model_args", f"decomposer=none,solver=hf,solver.pretrained={tiny_model}"]
    proc = dq([*args, "--tasks", "gsm8k_dqq", "--limit", "1", "--output_path", "out"], tmp_path)
    one_line_error(proc, "gsm8k_dqq")
    assert not (tmp_path / "out").exists()


def test_missing_data_dir_says_what_was_tried(tmp_path, tiny_model):
    args = ["eval", "--model", "two_stage", "--model_args", f"decomposer=none,solver=hf,solver.pretrained={tiny_model}"]
    proc = dq([*args, "--tasks", "gsm8k_dq", "--limit", "1", "--output_path", "out"], tmp_path, DQ_DATA_DIR="/nope")
    one_line_error(proc, "DQ_DATA_DIR='/nope'", "gsm8k/test.jsonl")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("model_args", "words"),
    [
        ("solver=hf,solver.pretraned=x", ("solver.pretraned", "solver.pretrained")),
        ("solver=hf,solver.pretrained=x,solver.dtpye=float32", ("solver.dtpye", "solver.dtype")),
        ("solver=hf,solver.pretrained=x,solver_gen.max_gen_tok=5", ("solver_gen.max_gen_tok", "max_gen_toks")),
        ("solver=hf,solver.pretrained=x,max_subquestion=2", ("max_subquestion", "max_subquestions")),
    ],
)
def test_misspelled_model_args_name_the_key(tmp_path, model_args, words):
    proc = dq(["eval", "--model", "two_stage", "--model_args", model_args, "--tasks", "dq_synth_d2"], tmp_path)
    one_line_error(proc, *words)


def test_bare_eval_prints_help_and_exits_2(tmp_path):
    proc = dq(["eval"], tmp_path)
    assert proc.returncode == 2 and "two_stage model_args" in proc.stdout


def test_threads_flag_is_checked(tmp_path):
    one_line_error(dq(["tasks", "--threads", "zero"], tmp_path), "--threads")


def test_oracle_on_task_without_gold_fails_before_any_model_loads(tmp_path):
    args = "decomposer=oracle,solver=hf,solver.pretrained=/no/such/model"  # loading it would fail differently
    proc = dq(["eval", "--model", "two_stage", "--model_args", args, "--tasks", "dq_paper"], tmp_path)
    one_line_error(proc, "decomposer=oracle", "drop_dq")


def test_models_listing_does_not_read_as_missing(tmp_path):
    proc = dq(["models"], tmp_path)
    assert proc.returncode == 0
    for line in proc.stdout.strip().splitlines():  # every packaged model is installed by make setup
        assert "pip install" not in line and ("ready" in line or "installed;" in line), line


def test_version(tmp_path):
    proc = dq(["--version"], tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("dq-harness ")
