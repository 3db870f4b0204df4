"""python -m dq_tasks.rescore: committed runs are what the current filters give, a tampered
copy is restored byte for byte, and runs under the old single filter are left alone."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
RUN = REPO / "results" / "demo" / "runs" / "two_stage__smollm2-135m__smollm2-135m"
OLD_SCHEME_RUN = REPO / "results" / "dynamic" / "runs" / "static" / "two_stage__smollm2-135m__smollm2-135m"
pytestmark = pytest.mark.e2e


def rescore(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    env.setdefault("DQ_DATA_DIR", str((REPO / ".." / "shared" / "data").resolve()))
    return subprocess.run(
        [sys.executable, "-m", "dq_tasks.rescore", *args], env=env, capture_output=True, text=True, cwd=REPO
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_rescore_restores_a_tampered_run_and_keeps_the_rest(tmp_path: Path) -> None:
    committed = snapshot(RUN)
    run = tmp_path / "run"
    shutil.copytree(RUN, run)
    untouched = tmp_path / "untouched"
    shutil.copytree(RUN, untouched)
    old_scheme = tmp_path / "old"
    shutil.copytree(OLD_SCHEME_RUN, old_scheme)

    samples = next(run.glob("samples_*.jsonl"))
    lines = [json.loads(line) for line in samples.read_text(encoding="utf-8").splitlines()]
    lines[0]["filtered_resps"], lines[0]["exact_match"] = ["999"], 1.0 - lines[0]["exact_match"]
    samples.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    results = next(run.glob("results_*.json"))
    data = json.loads(results.read_text(encoding="utf-8"))
    data["results"]["dq_synth_easy_d1"]["exact_match,strict-match"] = 0.5
    results.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")

    done = rescore(str(run), str(untouched), str(old_scheme))
    assert done.returncode == 0, done.stderr
    assert snapshot(run) == committed  # restored byte for byte
    assert snapshot(untouched) == committed  # committed runs already hold the current scores
    assert snapshot(old_scheme) == snapshot(OLD_SCHEME_RUN)
    assert f"changed {samples}" in done.stdout and f"changed {results}" in done.stdout
    assert f"unchanged {next(untouched.glob('results_*.json'))}" in done.stdout
    assert "scored under filter(s) ['none']" in done.stdout


def test_rescore_bad_folder_is_one_clear_error(tmp_path: Path) -> None:
    done = rescore(str(tmp_path / "missing"))
    assert done.returncode == 2
    assert done.stderr.strip().startswith("dq: error: not a folder:")
    assert len(done.stderr.strip().splitlines()) == 1
