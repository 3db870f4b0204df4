"""End-to-end tests of `dq compare` on output directories written by lm-eval.

Runs are produced by lm_eval.simple_evaluate + EvaluationTracker (as the lm-eval
CLI does) with the scripted model in tests/fixtures/scripted, whose per-doc
correctness is known, so every number in the report can be checked exactly.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

FIXTURES = Path(__file__).parent / "fixtures" / "scripted"
sys.path.insert(0, str(FIXTURES))

import dq_fixture_utils as fx  # noqa: E402
import scripted_lm  # noqa: E402  (registers the dq_scripted model)

from harness_ext.compare import report as rep  # noqa: E402
from harness_ext.compare import stats  # noqa: E402
from harness_ext.compare.api import compare_runs, main  # noqa: E402
from harness_ext.compare.runs import RunError, dedupe_labels, default_label, parse_model_args  # noqa: E402

TASKS = ["dq_fixture_binary", "dq_fixture_f1"]
MODELS = {"alpha": (0.5, 1), "beta": (0.8, 2), "gamma": (0.55, 3)}  # label: (rate, seed)


def _args(label: str) -> str:
    rate, seed = MODELS[label]
    return f"pretrained=org/{label},rate={rate},seed={seed}"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    out = {name: scripted_lm.make_run(root / name, TASKS, _args(name)) for name in MODELS}
    out["short"] = scripted_lm.make_run(root / "short", TASKS, _args("gamma"), limit=30)
    out["edited"] = scripted_lm.make_run(root / "edited", TASKS, _args("gamma"), metadata={"variant": "edited"})
    out["nosamples"] = scripted_lm.make_run(root / "nosamples", TASKS, _args("alpha"), log_samples=False)
    return out


def _model_dir(run: Path) -> Path:
    return next(p for p in run.iterdir() if p.is_dir())


def _copy(run: Path, dest: Path) -> Path:
    shutil.copytree(run, dest)
    return dest


def _samples_file(run: Path, task: str) -> Path:
    return next(_model_dir(run).glob(f"samples_{task}_*.jsonl"))


def _summary(report, label, task):
    return next(s for s in report.summaries if s.label == label and s.task == task)


def _comparison(report, a, b, task):
    return next(c for c in report.comparisons if (c.a, c.b, c.task) == (a, b, task))


# --------------------------------------------------------------------------
# Numbers match what the scripted model did
# --------------------------------------------------------------------------


def test_means_and_mcnemar_match_known_correctness(runs):
    report = compare_runs([runs["alpha"], runs["beta"]], iterations=2000)
    assert [r.label for r in report.runs] == ["alpha", "beta"]
    ids = range(fx.N_BINARY)
    a = np.array([scripted_lm.is_correct(1, i, 0.5) for i in ids], dtype=float)
    b = np.array([scripted_lm.is_correct(2, i, 0.8) for i in ids], dtype=float)
    s = _summary(report, "alpha", "dq_fixture_binary")
    assert (s.n, s.mean, s.ci_method) == (fx.N_BINARY, pytest.approx(a.mean()), "wilson")
    assert (s.ci_low, s.ci_high) == pytest.approx(tuple(stats.wilson_interval(int(a.sum()), len(a))))
    c = _comparison(report, "alpha", "beta", "dq_fixture_binary")
    n01, n10 = int(np.sum((a == 0) & (b == 1))), int(np.sum((a == 1) & (b == 0)))
    assert (c.n01, c.n10, c.n) == (n01, n10, fx.N_BINARY)
    assert c.diff == pytest.approx(b.mean() - a.mean())
    assert c.diff == pytest.approx(c.mean_b - c.mean_a)
    assert c.p_value == pytest.approx(sps.binomtest(n01, n01 + n10).pvalue)
    assert c.test == "mcnemar (exact)"
    assert c.ci_low <= c.diff <= c.ci_high
    assert c.confidence_interval() == (c.ci_low, c.ci_high) and c.pvalue == c.p_value


def test_continuous_metric_uses_bootstrap_permutation_and_clusters(runs):
    report = compare_runs([runs["alpha"], runs["beta"]], iterations=4000, seed=3)
    f1 = np.array([scripted_lm.expected_f1(1, i, 0.5) for i in range(fx.N_CLUSTERED)])
    s = _summary(report, "alpha", "dq_fixture_f1")
    assert s.mean == pytest.approx(f1.mean()) and s.ci_method == "bootstrap"
    assert s.n_clusters == fx.N_CLUSTERED // fx.CLUSTER_SIZE
    clusters = np.repeat(np.arange(s.n_clusters), fx.CLUSTER_SIZE)
    assert s.clustered_stderr == pytest.approx(stats.clustered_stderr(f1, clusters)[0])
    assert _summary(report, "alpha", "dq_fixture_binary").clustered_stderr is None
    c = _comparison(report, "alpha", "beta", "dq_fixture_f1")
    assert c.test == "permutation (sign-flip)" and c.effect_size_name.startswith("cohen")
    assert c.diff_clustered_stderr is not None
    f1b = np.array([scripted_lm.expected_f1(2, i, 0.8) for i in range(fx.N_CLUSTERED)])
    ref = stats.paired_permutation_test(f1, f1b, iterations=20_000, seed=0).pvalue
    assert c.p_value == pytest.approx(ref, abs=0.01)


def test_seeded_and_deterministic(runs):
    paths = [runs["alpha"], runs["gamma"]]
    one = compare_runs(paths, iterations=1000, seed=7).comparison_dicts()
    two = compare_runs(paths, iterations=1000, seed=7).comparison_dicts()
    other = compare_runs(paths, iterations=1000, seed=8).comparison_dicts()
    assert json.dumps(one) == json.dumps(two)
    assert json.dumps(one) != json.dumps(other)


# --------------------------------------------------------------------------
# Pairs, labels, corrections
# --------------------------------------------------------------------------


def test_baseline_vs_all_pairs_and_holm_over_whole_report(runs):
    paths = [runs["alpha"], runs["beta"], runs["gamma"]]
    allpairs = compare_runs(paths, iterations=500)
    assert len(allpairs.comparisons) == 3 * len(TASKS)
    base = compare_runs(paths, baseline="gamma", iterations=500)
    assert {(c.a, c.b) for c in base.comparisons} == {("gamma", "alpha"), ("gamma", "beta")}
    raw = np.array([c.p_value for c in base.comparisons])
    assert [c.p_adjusted for c in base.comparisons] == pytest.approx(stats.holm(raw))
    bh = compare_runs(paths, baseline="gamma", iterations=500, correction="bh")
    assert [c.p_adjusted for c in bh.comparisons] == pytest.approx(sps.false_discovery_control(raw))


def test_mid_p_option(runs):
    exact = compare_runs([runs["alpha"], runs["beta"]], iterations=200)
    mid = compare_runs([runs["alpha"], runs["beta"]], iterations=200, mid_p=True)
    ce, cm = (_comparison(r, "alpha", "beta", "dq_fixture_binary") for r in (exact, mid))
    assert cm.test == "mcnemar (mid-p)" and cm.p_value < ce.p_value


def test_duplicate_runs_get_suffix_and_no_difference(runs):
    report = compare_runs([runs["alpha"], runs["alpha"]], iterations=200)
    assert [r.label for r in report.runs] == ["alpha", "alpha#2"]
    for c in report.comparisons:
        assert c.diff == 0 and c.ci_low == 0 and c.ci_high == 0 and c.p_value == 1.0


def test_run_argument_levels_and_newest_of_several(runs, tmp_path):
    d = _model_dir(runs["alpha"])
    results = next(d.glob("results_*.json"))
    for path in (runs["alpha"], d, results):
        assert compare_runs([path, runs["beta"]], iterations=100).runs[0].label == "alpha"
    both = tmp_path / "both"
    shutil.copytree(_model_dir(runs["alpha"]), both / "org__alpha")
    shutil.copytree(_model_dir(runs["beta"]), both / "org__beta")  # beta was run later
    report = compare_runs([both, runs["gamma"]], iterations=100)
    assert report.runs[0].label == "beta"
    assert any("holds 2 runs; using the newest" in n for n in report.notes)


def test_labels_from_config():
    assert (
        default_label({"config": {"model": "hf", "model_args": "pretrained=/m/Qwen2.5-7B,dtype=bf16"}}) == "Qwen2.5-7B"
    )
    assert default_label({"config": {"model": "vllm", "model_args": {"pretrained": "meta/Llama-3"}}}) == "Llama-3"
    assert default_label({"config": {"model": "dummy", "model_args": ""}}) == "dummy"
    ts = "decomposer=hf,decomposer.pretrained=/ckpt/qwen-7b/,solver=vllm,solver.pretrained=meta/llama-8b"
    assert default_label({"config": {"model": "two_stage", "model_args": ts}}) == "qwen-7b/llama-8b"
    oracle = "decomposer=oracle,solver=openai-chat-completions,solver.model=gpt-4o"
    assert default_label({"config": {"model": "two_stage", "model_args": oracle}}) == "oracle/gpt-4o"
    dq = {"model": "two_stage", "model_args": ts, "dq": {"label": "my run"}}
    assert default_label({"config": dq}) == "my run"
    assert parse_model_args("a=1, b=x=y") == {"a": "1", "b": "x=y"}
    assert dedupe_labels(["a", "b", "a", "a"]) == ["a", "b", "a#2", "a#3"]


def _as_two_stage(run: Path, dest: Path, decomposer: str, solver: str) -> Path:
    out = _copy(run, dest)
    results = next(_model_dir(out).glob("results_*.json"))
    data = json.loads(results.read_text())
    data["config"]["model"] = "two_stage"
    data["config"]["model_args"] = (
        f"decomposer=hf,decomposer.pretrained=org/{decomposer},solver=hf,solver.pretrained=org/{solver}"
    )
    results.write_text(json.dumps(data))
    return out


# --------------------------------------------------------------------------
# Command line and written outputs
# --------------------------------------------------------------------------


def test_cli_writes_all_outputs(runs, tmp_path, capsys):
    out = tmp_path / "report"
    argv = [
        str(runs["alpha"]),
        str(runs["beta"]),
        str(runs["gamma"]),
        "--out",
        str(out),
        "--iterations",
        "500",
        "--seed",
        "1",
        "--baseline",
        "alpha",
    ]
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    assert "|Task|Metric|Filter|A|B|" in stdout and "mcnemar (exact)" in stdout
    assert sorted(p.name for p in out.iterdir()) == ["comparisons.csv", "comparisons.json", "forest.png", "report.md"]
    records = json.loads((out / "comparisons.json").read_text())
    assert len(records) == 2 * len(TASKS)
    for r in records:
        assert set(rep.CORE_FIELDS) <= set(r)
        assert r["diff"] == pytest.approx(r["mean_b"] - r["mean_a"])
        assert r["a"] == "alpha"
    csv_lines = (out / "comparisons.csv").read_text().strip().splitlines()
    assert csv_lines[0].startswith(",".join(rep.CORE_FIELDS)) and len(csv_lines) == 1 + len(records)
    assert (out / "forest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "report.md").read_text()
    assert "## Comparisons" in md and "Holm" in md and "![forest.png]" in md
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".report.tmp")]


def test_heatmap_for_two_stage_runs(runs, tmp_path):
    grid = [("alpha", "none", "small"), ("beta", "none", "big"), ("gamma", "qwen", "small"), ("alpha", "qwen", "big")]
    paths = [_as_two_stage(runs[r], tmp_path / f"r{i}", d, s) for i, (r, d, s) in enumerate(grid)]
    report = compare_runs(paths, iterations=200)
    assert [r.label for r in report.runs] == ["none/small", "none/big", "qwen/small", "qwen/big"]
    written = rep.write_report(report, tmp_path / "out")
    assert (tmp_path / "out" / "heatmap.png") in written
    assert (tmp_path / "out" / "heatmap.png").read_bytes()[:4] == b"\x89PNG"
    # Rewriting into the same --out with plain runs must not leave a stale heatmap.
    rep.write_report(compare_runs([runs["alpha"], runs["beta"]], iterations=100), tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "comparisons.csv",
        "comparisons.json",
        "forest.png",
        "report.md",
    ]


def test_write_report_is_atomic_on_failure(runs, tmp_path, monkeypatch):
    report = compare_runs([runs["alpha"], runs["beta"]], iterations=100)

    def boom(*_a, **_k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(rep, "write_json", boom)
    with pytest.raises(rep.ReportError, match="disk full"):
        rep.write_report(report, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []  # neither the report nor a temp dir


# --------------------------------------------------------------------------
# Bad input: one clear error line, non-zero exit, nothing in --out
# --------------------------------------------------------------------------


def _fails_cleanly(argv: list, tmp_path: Path, capsys, expect: str) -> None:
    out = tmp_path / "out"
    rc = main([str(a) for a in argv] + ["--out", str(out), "--iterations", "100"])
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("dq compare: error:")]
    assert rc != 0
    assert len(errors) == 1 and expect in errors[0], err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.tmp")]


def test_error_run_without_samples(runs, tmp_path, capsys):
    _fails_cleanly([runs["nosamples"], runs["alpha"]], tmp_path, capsys, "--log_samples")


def test_error_empty_jsonl_line(runs, tmp_path, capsys):
    bad = _copy(runs["alpha"], tmp_path / "bad")
    f = _samples_file(bad, "dq_fixture_binary")
    lines = f.read_text().splitlines(keepends=True)
    f.write_text("".join(lines[:5] + ["\n"] + lines[5:]))
    _fails_cleanly([bad, runs["beta"]], tmp_path, capsys, f"{f.name}:6: empty line")


def test_error_truncated_jsonl_line(runs, tmp_path, capsys):
    bad = _copy(runs["alpha"], tmp_path / "bad")
    f = _samples_file(bad, "dq_fixture_f1")
    text = f.read_text()
    f.write_text(text[: len(text) - 120])  # a run killed mid-write
    _fails_cleanly([bad, runs["beta"]], tmp_path, capsys, "truncated or invalid JSON")


def test_error_empty_samples_file(runs, tmp_path, capsys):
    bad = _copy(runs["alpha"], tmp_path / "bad")
    _samples_file(bad, "dq_fixture_f1").write_text("")
    _fails_cleanly([bad, runs["beta"]], tmp_path, capsys, "samples file is empty")


def test_error_nan_metric(runs, tmp_path, capsys):
    bad = _copy(runs["alpha"], tmp_path / "bad")
    f = _samples_file(bad, "dq_fixture_binary")
    lines = f.read_text().splitlines()
    rec = json.loads(lines[2])
    rec["acc"] = float("nan")
    lines[2] = json.dumps(rec)  # json writes the bare NaN token, as lm-eval would
    f.write_text("\n".join(lines) + "\n")
    _fails_cleanly([bad, runs["beta"]], tmp_path, capsys, "metric 'acc' is nan")


def test_error_single_run(runs, tmp_path, capsys):
    _fails_cleanly([runs["alpha"]], tmp_path, capsys, "need at least two runs")


def test_error_unknown_baseline(runs, tmp_path, capsys):
    argv = [runs["alpha"], runs["beta"], "--baseline", "delta"]
    _fails_cleanly(argv, tmp_path, capsys, "unknown baseline label 'delta'; labels are: alpha, beta")


def test_error_label_count(runs, tmp_path, capsys):
    argv = [runs["alpha"], runs["beta"], "--labels", "x"]
    _fails_cleanly(argv, tmp_path, capsys, "--labels gives 1 labels for 2 runs")


def test_error_missing_path(runs, tmp_path, capsys):
    _fails_cleanly([tmp_path / "nope", runs["beta"]], tmp_path, capsys, "no such file or directory")


def test_error_mismatched_docs_then_intersect(runs, tmp_path, capsys):
    _fails_cleanly(
        [runs["alpha"], runs["short"]],
        tmp_path,
        capsys,
        "gamma: 30 docs; only in alpha: doc_id [30, 31, 32, 33, 34]); pass --intersect",
    )
    report = compare_runs([runs["alpha"], runs["short"]], intersect=True, iterations=100)
    assert {c.n for c in report.comparisons} == {30}
    assert any("--intersect kept 30 common docs" in n for n in report.notes)


def test_error_other_task_version(runs, tmp_path, capsys):
    _fails_cleanly(
        [runs["gamma"], runs["edited"]], tmp_path, capsys, "doc_hash differs (other task version?) at doc_id [3]"
    )
    report = compare_runs([runs["gamma"], runs["edited"]], intersect=True, iterations=100)
    assert _comparison(report, "gamma", "gamma#2", "dq_fixture_binary").n == fx.N_BINARY - 1


def test_labels_override_and_errors_raise_in_api(runs):
    report = compare_runs([runs["alpha"], runs["beta"]], labels=["A", "B"], iterations=100)
    assert {(c.a, c.b) for c in report.comparisons} == {("A", "B")}
    with pytest.raises(RunError, match="--correction"):
        compare_runs([runs["alpha"], runs["beta"]], correction="bonferroni")
