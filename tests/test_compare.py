"""End-to-end tests of `dq compare` on output directories written by lm-eval.

Runs are produced by lm_eval.simple_evaluate + EvaluationTracker (as the lm-eval
CLI does) with the scripted model in tests/fixtures/scripted, whose per-doc
correctness is known, so every number in the report can be checked exactly.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "scripted"
sys.path.insert(0, str(FIXTURES))

import dq_fixture_utils as fx  # noqa: E402
import scripted_lm  # noqa: E402  (registers the dq_scripted model)

from harness_ext.compare import adjust, resample, stats  # noqa: E402
from harness_ext.compare import report as rep  # noqa: E402
from harness_ext.compare.api import compare_runs  # noqa: E402
from harness_ext.compare.cli import main  # noqa: E402
from harness_ext.compare.report_data import read_json as read_comparisons  # noqa: E402
from harness_ext.compare.runs import RunError, dedupe_labels, default_label, parse_model_args  # noqa: E402

pytestmark = pytest.mark.e2e

TASKS = ["dq_fixture_binary", "dq_fixture_f1", "dq_fixture_ppl", "dq_fixture_filters"]
N_GROUPS = 5  # binary acc, f1, ppl perplexity + acc, filters acc (strict-match)
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


def _summary(report, label, task, metric=None):
    return next(s for s in report.summaries if s.label == label and s.task == task and metric in (None, s.metric))


def _comparison(report, a, b, task, metric=None):
    return next(c for c in report.comparisons if (c.a, c.b, c.task) == (a, b, task) and metric in (None, c.metric))


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
    assert c.test == "mcnemar (exact)" and c.ci_method == "tango score"
    assert c.ci_low <= c.diff <= c.ci_high
    assert c.confidence_interval() == (c.ci_low, c.ci_high) and c.pvalue == c.p_value
    # statistic is the paired difference the CI bounds; the test's own statistic is separate
    assert c.statistic == c.diff and c.test_statistic == pytest.approx(n01 / (n01 + n10))
    assert c.confidence == 0.95 and s.confidence == 0.95


def test_clustered_metric_uses_cluster_bootstrap_and_exact_cluster_sign_flip(runs):
    report = compare_runs([runs["alpha"], runs["beta"]], iterations=4000, seed=3)
    f1 = np.array([scripted_lm.expected_f1(1, i, 0.5) for i in range(fx.N_CLUSTERED)])
    s = _summary(report, "alpha", "dq_fixture_f1")
    assert s.mean == pytest.approx(f1.mean()) and s.ci_method == "studentized bootstrap (clusters)"
    assert s.n_clusters == fx.N_CLUSTERED // fx.CLUSTER_SIZE
    clusters = np.repeat(np.arange(s.n_clusters), fx.CLUSTER_SIZE)
    assert s.clustered_stderr == pytest.approx(stats.clustered_stderr(f1, clusters)[0])
    assert _summary(report, "alpha", "dq_fixture_binary").clustered_stderr is None
    c = _comparison(report, "alpha", "beta", "dq_fixture_f1")
    assert c.test == "cluster sign-flip (exact)" and not c.resampled
    f1b = np.array([scripted_lm.expected_f1(2, i, 0.8) for i in range(fx.N_CLUSTERED)])
    # exact enumeration of the 2**9 cluster sign patterns, by hand
    sums = np.bincount(clusters, weights=f1b - f1)
    signs = 1 - 2 * ((np.arange(2**9)[:, None] >> np.arange(9)) & 1)
    ref = np.mean(np.abs(signs @ sums) >= abs(sums.sum()) - 1e-9)
    assert c.p_value == pytest.approx(ref)
    assert c.diff_clustered_stderr == pytest.approx(stats.clustered_stderr(f1b - f1, clusters)[0])
    assert c.check_test.startswith("cluster-robust t") and 0 < c.p_check <= 1


def test_perplexity_uses_lm_eval_aggregation_not_the_mean(runs):
    report = compare_runs([runs["alpha"], runs["beta"]], iterations=3000)
    ll = {
        k: np.array([scripted_lm.doc_loglikelihood(sd, i, r) for i in range(fx.N_PPL)])
        for k, (r, sd) in {"alpha": (0.5, 1), "beta": (0.8, 2)}.items()
    }
    s = _summary(report, "alpha", "dq_fixture_ppl", "perplexity")
    assert s.aggregation == "perplexity" and s.mean == pytest.approx(np.exp(-ll["alpha"].mean()))
    results = json.loads(next(_model_dir(runs["alpha"]).glob("results_*.json")).read_text())
    assert s.mean == pytest.approx(results["results"]["dq_fixture_ppl"]["perplexity,none"])
    c = _comparison(report, "alpha", "beta", "dq_fixture_ppl", "perplexity")
    # beta's answers are likelier, so its perplexity is LOWER: the sign a mean of ll would flip
    assert c.diff == pytest.approx(np.exp(-ll["beta"].mean()) - np.exp(-ll["alpha"].mean())) and c.diff < 0
    assert c.ci_low <= c.diff <= c.ci_high and c.ci_method == "percentile bootstrap"
    assert c.test.startswith("doc swap permutation of perplexity") and c.resampled
    assert _summary(report, "alpha", "dq_fixture_ppl", "acc").aggregation == "mean"


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
    assert len(allpairs.comparisons) == 3 * N_GROUPS
    base = compare_runs(paths, baseline="gamma", iterations=500)
    assert {(c.a, c.b) for c in base.comparisons} == {("gamma", "alpha"), ("gamma", "beta")}
    raw = np.array([c.p_value for c in base.comparisons])
    assert [c.p_adjusted for c in base.comparisons] == pytest.approx(adjust.holm(raw))
    bh = compare_runs(paths, baseline="gamma", iterations=500, correction="bh")
    raw = np.array([c.p_value for c in bh.comparisons])  # Monte-Carlo draws may differ per correction
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
        assert c.diff == 0 and c.p_value == 1.0 and not c.significant
    # no discordant pair: Tango's interval still has width (the bootstrap's was [0, 0])
    c = _comparison(report, "alpha", "alpha#2", "dq_fixture_binary")
    assert c.ci_low < 0 < c.ci_high


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
    assert sorted(p.name for p in out.iterdir()) == [
        "comparisons.csv", "comparisons.json", "forest.png", "generalization.md", "report.md", "sections.json"
    ]  # fmt: skip
    assert (
        "## Ranks with uncertainty" in stdout and "## Ranks with uncertainty" in (out / "generalization.md").read_text()
    )
    records, recorded_runs = read_comparisons(out / "comparisons.json")
    assert len(records) == 2 * N_GROUPS
    # The runs compared, as given: `dq view` finds them here instead of in report.md.
    labels = [r["label"] for r in recorded_runs]
    assert len(labels) == 3 and set(labels) == {r["a"] for r in records} | {r["b"] for r in records}
    assert all(Path(r["path"]).name.startswith("results_") for r in recorded_runs)
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


def test_cli_for_mean_metrics_imports_neither_torch_nor_lm_eval(runs, tmp_path):
    # Start-up is most of a `dq compare`: the plain mean needs no lm-eval registry lookup, and
    # nothing on this path may pull torch/transformers/datasets in.
    paths = []
    for name in ("alpha", "beta"):
        run = _copy(runs[name], tmp_path / name)
        for f in _model_dir(run).glob("samples_*.jsonl"):
            if "dq_fixture_binary" not in f.name:
                f.unlink()
        paths.append(str(run))
    code = (
        "import sys; from harness_ext.cli import main; rc = main(sys.argv[1:]); "
        "print('HEAVY', sorted({m.split('.')[0] for m in sys.modules} & "
        "{'torch', 'transformers', 'datasets', 'lm_eval'})); sys.exit(rc)"
    )
    argv = ["compare", *paths, "--out", str(tmp_path / "out"), "--iterations", "200"]
    proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stdout
    assert (tmp_path / "out" / "forest.png").exists()


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


def test_no_heatmap_when_two_runs_share_a_cell(runs, tmp_path):
    # Static vs dynamic mode of one decomposer/solver pair: a one-cell grid would show one run only.
    paths = [_as_two_stage(runs[r], tmp_path / r, "smol", "smol") for r in ("alpha", "beta")]
    report = compare_runs(paths, labels=["static", "dynamic"], iterations=100)
    assert not rep.plot_heatmap(report, tmp_path / "heatmap.png")
    assert not (tmp_path / "heatmap.png").exists()


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


# --------------------------------------------------------------------------
# Filters, truncation, alpha, integrity (issues 11 and 12)
# --------------------------------------------------------------------------


def test_strict_match_by_default_and_filter_option(runs):
    report = compare_runs([runs["alpha"], runs["beta"]], iterations=200)
    strict = _summary(report, "alpha", "dq_fixture_filters")
    assert strict.filter == "strict-match"
    assert any("showing filter 'strict-match'" in n and "flexible-extract" in n for n in report.notes)
    assert _summary(report, "alpha", "dq_fixture_binary").filter == "none"  # older single-filter tasks
    flex = compare_runs([runs["alpha"], runs["beta"]], iterations=200, filter="flexible-extract")
    loose = _summary(flex, "alpha", "dq_fixture_filters")
    assert loose.filter == "flexible-extract" and loose.mean > strict.mean  # prose answers count
    assert "Filters: dq_fixture_binary: `none`" in rep.markdown_tables(report)
    with pytest.raises(RunError, match="has filters strict-match, flexible-extract but not 'loose'"):
        compare_runs([runs["alpha"], runs["beta"]], filter="loose")


def _write_traces(run: Path, task: str, flags: list) -> None:
    results = next(_model_dir(run).glob("results_*.json"))
    date = results.stem.rsplit("_", 1)[-1]
    lines = [json.dumps({"doc_id": i, "solver": {} if f is None else {"truncated": f}}) for i, f in enumerate(flags)]
    (results.parent / f"traces_{task}_{date}.jsonl").write_text("\n".join(lines) + "\n")


def test_truncation_rate_beside_accuracy(runs, tmp_path):
    a, b = _copy(runs["alpha"], tmp_path / "a"), _copy(runs["beta"], tmp_path / "b")
    _write_traces(a, "dq_fixture_binary", [True] * 10 + [False] * (fx.N_BINARY - 10))
    _write_traces(b, "dq_fixture_binary", [False] * (fx.N_BINARY - 1) + [None])  # one record lacks the field
    report = compare_runs([a, b], iterations=200)
    assert _summary(report, "alpha", "dq_fixture_binary").truncated_rate == pytest.approx(0.25)
    assert _summary(report, "beta", "dq_fixture_binary").truncated_rate is None  # unknown, not 0
    c = _comparison(report, "alpha", "beta", "dq_fixture_binary")
    assert (c.truncated_rate_a, c.truncated_rate_b) == (pytest.approx(0.25), None)
    out = tmp_path / "out"
    rep.write_report(report, out)
    md = (out / "report.md").read_text()
    assert "|Truncated|" in md and "25.0%" in md and "unknown" in md
    assert read_comparisons(out / "comparisons.json")[0][0]["truncated_rate_a"] is not None


def test_alpha_drives_every_label(runs, tmp_path, capsys):
    out = tmp_path / "out"
    assert (
        main([str(runs["alpha"]), str(runs["beta"]), "--alpha", "0.1", "--iterations", "200", "--out", str(out)]) == 0
    )
    stdout = capsys.readouterr().out
    assert "90% CI" in stdout and "95%" not in stdout
    md = (out / "report.md").read_text()
    assert "90% CI" in md and "95%" not in md
    records = read_comparisons(out / "comparisons.json")[0]
    assert {round(r["confidence"], 9) for r in records} == {0.9}
    assert "confidence" in (out / "comparisons.csv").read_text().splitlines()[0]


def test_error_samples_cut_short_in_both_runs(runs, tmp_path, capsys):
    a, b = _copy(runs["alpha"], tmp_path / "a"), _copy(runs["beta"], tmp_path / "b")
    for run in (a, b):  # cut at the same line: they still align, but disagree with n-samples
        f = _samples_file(run, "dq_fixture_binary")
        f.write_text("".join(f.read_text().splitlines(keepends=True)[:25]))
    f = _samples_file(a, "dq_fixture_binary")
    _fails_cleanly([a, b], tmp_path, capsys, f"{f}: 25 docs for filter none, but")


def test_error_aggregate_disagrees_with_results_file(runs, tmp_path, capsys):
    a = _copy(runs["alpha"], tmp_path / "a")
    f = _samples_file(a, "dq_fixture_binary")
    lines = f.read_text().splitlines()
    rec = json.loads(lines[0])
    rec["acc"] = 1.0 - rec["acc"]  # an edited samples file
    lines[0] = json.dumps(rec)
    f.write_text("\n".join(lines) + "\n")
    _fails_cleanly([a, runs["beta"]], tmp_path, capsys, "acc,none recomputed from the samples (mean) is")


def test_error_null_metric_names_doc_and_file(runs, tmp_path, capsys):
    a = _copy(runs["alpha"], tmp_path / "a")
    f = _samples_file(a, "dq_fixture_f1")
    lines = f.read_text().splitlines()
    rec = json.loads(lines[4])
    rec["f1"] = None
    lines[4] = json.dumps(rec)
    f.write_text("\n".join(lines) + "\n")
    _fails_cleanly([a, runs["beta"]], tmp_path, capsys, f"{f.name}:5: metric 'f1' is null for doc_id {rec['doc_id']}")


def test_unit_swap_test_matches_sign_flip_for_the_mean():
    # The swap test of a mean is the sign-flip test: same p-value by exact enumeration.
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=12), rng.normal(size=12) + 0.5
    perm = resample.PermutationTest("mean", np.array([[a.sum()]]), np.array([[b.sum()]]), (b - a)[:, None], 12.0)
    signs = 1 - 2 * ((np.arange(2**12)[:, None] >> np.arange(12)) & 1)
    assert perm.exact and perm.pvalues()[0] == pytest.approx(
        np.mean(np.abs(signs @ (b - a)) >= abs((b - a).sum()) - 1e-9)
    )


# --------------------------------------------------------------------------
# Ranks and the generalization report (--by / --reference)
# --------------------------------------------------------------------------


def test_by_task_generalization_report(runs, tmp_path, capsys):
    from harness_ext.compare import meta

    out = tmp_path / "gen"
    argv = [str(runs[k]) for k in ("alpha", "beta", "gamma")] + ["--by", "task", "--reference", "alpha"]
    assert main(argv + ["--iterations", "300", "--out", str(out), "--trained-on", "beta=dq_fixture_binary"]) == 0
    printed = capsys.readouterr().out
    assert "## Ranks with uncertainty" in printed and "### By task: against `alpha`" in printed
    sec = json.loads((out / "sections.json").read_text())
    assert [g["entry"] for g in sec["generalization"]] == ["beta", "gamma"]
    report = read_comparisons(out / "comparisons.json")[0]
    for g in sec["generalization"]:
        tasks = [c["task"] for c in g["cells"]]
        assert sorted(tasks) == sorted(sec["metric_of"]) and len(tasks) == len(set(tasks)) >= 3
        for c in g["cells"]:  # each cell is the report's own comparison, signed entry - reference
            r = next(x for x in report if x["task"] == c["task"] and {x["a"], x["b"]} == {"alpha", g["entry"]}
                     and [x["metric"], x["filter"]] == sec["metric_of"][c["task"]])  # fmt: skip
            sign = 1 if r["b"] == g["entry"] else -1
            assert c["statistic"] == pytest.approx(sign * r["diff"]) and c["pvalue"] == pytest.approx(r["p_value"])
            assert c["trained"] == (g["entry"] == "beta" and c["task"] == "dq_fixture_binary")
        # the pooled numbers are meta.random_effects on the cells (no shared docs across tasks)
        se = np.array([(c["ci_high"] - c["ci_low"]) / (2 * 1.959963984540054) for c in g["cells"]])
        m = meta.random_effects(np.array([c["statistic"] for c in g["cells"]]), se**2)
        assert g["pooled"]["statistic"] == pytest.approx(m.statistic) and g["pooled"]["q"] == pytest.approx(m.q)
        assert g["verdict"]
    ranked = sec["ranks"]["dq_fixture_binary"]
    # beta 0.8; alpha and gamma both score 0.475: a tie shares its point rank (1, 2, 2)
    assert [r["statistic"] for r in ranked] == [1, 2, 2] and ranked[0]["label"] == "beta"
    assert ranked[1]["score"] == pytest.approx(ranked[2]["score"])
    assert [r["label"] for r in sec["overall"]][0] == "beta" and len(sec["records"]) == 3
    text = (out / "generalization.md").read_text()
    assert "(trained)" in text and "Cross-task table" in text and (out / "plots" / "generalization_forest.png").exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--by", "task", "--reference", "nope"], "--reference 'nope' is not a run label of these runs"),
        (["--reference", "alpha"], "--reference needs --by"),
        (["--by", "decomposer"], "--by decomposer needs --reference"),
        (["--by", "task", "--reference", "alpha", "--trained-on", "beta"], "--trained-on expects ENTRY=TASK"),
    ],
)
def test_by_errors_are_one_line_and_write_nothing(runs, tmp_path, capsys, extra, message):
    out = tmp_path / "never"
    rc = main([str(runs["alpha"]), str(runs["beta"]), "--iterations", "100", "--out", str(out), *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err[-1].startswith("dq compare: error: ") and message in err[-1]
    assert not out.exists()
