"""The one run-folder reader (harness_ext/rundir.py) on committed lm-eval runs and on broken input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness_ext import rundir
from harness_ext.compare.runs import load_run

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[1]
STATIC = REPO / "results/dynamic/runs/static"
DYNAMIC = REPO / "results/dynamic/runs/dynamic"
TASKS = ["bamboogle_dq", "dq_synth_d4", "drop_dq", "gsm8k_dq"]


def test_finds_the_results_file_from_any_level_and_its_samples_and_traces():
    results, notes = rundir.find_results_file(STATIC)  # lm-eval's --output_path: one level down
    assert results.name.startswith("results_") and notes == []
    assert rundir.find_results_file(results.parent) == (results, [])
    assert rundir.find_results_file(results) == (results, [])
    date = rundir.date_of(results)
    for kind in (rundir.SAMPLES, rundir.TRACES):
        files = rundir.run_files(results, kind)
        assert sorted(files) == TASKS
        assert all(f.name == f"{kind}_{t}_{date}.jsonl" and f.is_file() for t, f in files.items())
        assert all(rundir.run_file(results, t, kind) == f for t, f in files.items())
    assert rundir.results_files(STATIC.parent) == [
        rundir.find_results_file(DYNAMIC)[0],
        results,
    ]  # one per run folder, path order


def test_the_newest_of_several_runs_with_a_note(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(next(STATIC.iterdir()), run)
    old = next(run.glob("results_*.json"))
    newer = run / "results_2099-01-01T00-00-00.000000.json"
    newer.write_text(old.read_text())
    found, notes = rundir.find_results_file(run)
    assert found == newer and notes == [f"{run} holds 2 runs; using the newest, {newer.name}"]
    assert rundir.run_files(newer) == {}  # no samples with that date


def test_bad_run_arguments_are_one_line_errors(tmp_path):
    with pytest.raises(rundir.RunError, match="no such file or directory"):
        rundir.find_results_file(tmp_path / "missing")
    with pytest.raises(rundir.RunError, match=r"no lm-eval results_\*\.json found"):
        rundir.find_results_file(tmp_path)
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(rundir.RunError, match="expected an lm-eval results"):
        rundir.find_results_file(tmp_path / "x.txt")
    bad = tmp_path / "results_2026.json"
    bad.write_text("[1, 2]")
    with pytest.raises(rundir.RunError, match="not an lm-eval results file"):
        rundir.read_json(bad)
    lines = tmp_path / "samples_t_2026.jsonl"
    lines.write_text('{"doc_id": 0}\n\n{"doc_id": 1\n')
    with pytest.raises(rundir.RunError, match=r"samples_t_2026.jsonl:3: truncated or invalid JSON") as err:
        rundir.read_jsonl(lines)
    assert "\n" not in str(err.value)
    lines.write_text('{"doc_id": 0}\n\n{"doc_id": 1}\n')
    assert rundir.read_jsonl(lines) == [{"doc_id": 0}, {"doc_id": 1}]  # blank lines skipped


def test_stage_numbers_read_what_the_trace_line_says():
    """Static: the one call's view (a virtual decomposer: 0); dynamic: the totals over its calls."""
    for run in (STATIC, DYNAMIC):
        results = rundir.find_results_file(run)[0]
        path = rundir.run_file(results, "gsm8k_dq", rundir.TRACES)
        lines = [json.loads(x) for x in path.read_text().splitlines()]
        records = rundir.read_traces(path)
        assert len(records) == len(lines) > 0
        for line, rec in zip(lines, records):
            for stage in rundir.STAGES:
                for key in ("prompt_tokens", "completion_tokens", "seconds"):
                    want = (line.get(stage) or {}).get(key) or 0
                    assert rundir.stage_number(rec, stage, key) == pytest.approx(float(want))


def test_load_run_keeps_the_dq_block_of_its_results():
    run = load_run(STATIC)
    config = rundir.read_json(run.path)["config"]
    assert run.dq == config["dq"] and run.dq["mode"] == "static"
    assert load_run(DYNAMIC).dq["mode"] == "dynamic"
