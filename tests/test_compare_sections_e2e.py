"""`dq compare` end to end on small lm-eval-layout runs written here: the rank table and the
generalization verdict see what the audited ranks/generalize code does, and the clustered path
bounds a constant per-cluster difference.

Each run is a results_*.json plus one samples_*.jsonl per task, the layout `lm_eval
--log_samples` writes (results' higher_is_better included), read by the same load_run that
`dq compare` uses.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness_ext.compare import analysis, intervals, ranks
from harness_ext.compare.api import compare_runs
from harness_ext.compare.cli import main
from harness_ext.compare.runs import MetricGroup
from harness_ext.compare.setup import Setup

pytestmark = pytest.mark.unit

DATE = "2026-01-01T00-00-00.000000"


def write_run(
    root: Path,
    label: str,
    per_task: dict[str, list[float]],
    metric: str = "exact_match",
    higher_is_better: bool = True,
    clusters: list[int] | None = None,
) -> Path:
    d = root / label / "hf__x"
    d.mkdir(parents=True)
    results = {
        "results": {t: {"alias": t, f"{metric},none": float(np.mean(v))} for t, v in per_task.items()},
        "higher_is_better": {t: {metric: higher_is_better} for t in per_task},
        "n-samples": {t: {"original": len(v), "effective": len(v)} for t, v in per_task.items()},
        # as a task yaml's metric_list: a metric lm-eval registers no aggregation for reads as a mean
        "configs": {
            t: {"metric_list": [{"metric": metric, "aggregation": "mean", "higher_is_better": higher_is_better}]}
            for t in per_task
        },
        "config": {"model": "hf", "model_args": f"pretrained={label}"},
    }
    (d / f"results_{DATE}.json").write_text(json.dumps(results))
    for task, vals in per_task.items():
        lines = []
        for i, v in enumerate(vals):
            doc: dict = {"question": f"{task} q{i}"}
            if clusters is not None:
                doc["cluster_id"] = f"c{clusters[i]}"
            rec = {"doc_id": i, "doc": doc, "target": "x", "filter": "none", "metrics": [metric], metric: v}
            lines.append(json.dumps(rec) + "\n")
        (d / f"samples_{task}_{DATE}.jsonl").write_text("".join(lines))
    return d


def _sections(tmp_path: Path, runs: list[Path], *extra: str) -> dict:
    out = tmp_path / "out"
    argv = [str(r) for r in runs] + ["--iterations", "400", "--out", str(out), *extra]
    assert main(argv) == 0
    return json.loads((out / "sections.json").read_text())


def test_a_constant_difference_on_three_docs_does_not_separate_ranks(tmp_path, capsys):
    """Right on 3 docs vs wrong on them: exact McNemar p = 0.25, so no rank table may separate them.

    The bootstrap alone never moves a constant difference and separated the pair (rank 2 for
    the second entry, 'not tied with the best'): dq compare now ranks with ranks.rank_task.
    """
    runs = [
        write_run(tmp_path, "good", {"toy": [1.0, 1.0, 1.0]}),
        write_run(tmp_path, "bad", {"toy": [0.0, 0.0, 0.0]}),
    ]
    sec = _sections(tmp_path, runs)
    rows = {r["label"]: r for r in sec["ranks"]["toy"]}
    assert rows["good"]["statistic"] == 1 and rows["bad"]["statistic"] == 2
    assert (rows["bad"]["rank_low"], rows["bad"]["rank_high"]) == (1, 2) and rows["bad"]["tied_with_best"]
    capsys.readouterr()


def test_a_constant_difference_on_eight_docs_does_separate(tmp_path, capsys):
    """The same pattern on 8 docs: p = 2/2^8 < 0.05, so the table can say 'surely better' (the test can fail)."""
    runs = [write_run(tmp_path, "good", {"toy": [1.0] * 8}), write_run(tmp_path, "bad", {"toy": [0.0] * 8})]
    rows = {r["label"]: r for r in _sections(tmp_path, runs)["ranks"]["toy"]}
    assert rows["bad"]["rank_low"] == 2 and not rows["bad"]["tied_with_best"]
    capsys.readouterr()


def test_lower_is_better_metric_reads_a_negative_delta_as_helping(tmp_path, capsys):
    """An error rate (lm-eval higher_is_better false) that drops on three tasks: 'helps', rank 1."""
    rng = np.random.default_rng(3)
    ref, new = {}, {}
    for task in ("t1", "t2", "t3"):
        u = rng.uniform(0.4, 0.9, 40)
        ref[task] = list(u)
        new[task] = list(u - rng.uniform(0.1, 0.3, 40))  # lower error on every doc, by varying amounts
    runs = [
        write_run(tmp_path, "ref", ref, metric="err", higher_is_better=False),
        write_run(tmp_path, "new", new, metric="err", higher_is_better=False),
    ]
    sec = _sections(tmp_path, runs, "--by", "task", "--reference", "ref")
    (g,) = sec["generalization"]
    assert g["entry"] == "new" and all(c["statistic"] < 0 for c in g["cells"])
    assert g["verdict"].startswith("helps in every cell (3/3"), g["verdict"]
    for task in ("t1", "t2", "t3"):
        top = sec["ranks"][task][0]
        assert top["label"] == "new" and top["statistic"] == 1
    assert sec["overall"][0]["label"] == "new"
    rec = {r["label"]: r for r in sec["records"]}
    assert (rec["new"]["wins"], rec["new"]["losses"]) == (3, 0) and rec["ref"]["losses"] == 3
    capsys.readouterr()


def _shifted(n: int = 24, g: int = 6, shift: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    cl = np.repeat(np.arange(g), n // g)
    a = np.random.default_rng(6).uniform(0, 0.5, n)
    return np.vstack([a, a + shift]), cl


def test_a_constant_cluster_difference_gets_the_worst_case_interval_not_a_point():
    """Every doc shifted +0.3 over 6 clusters: the inverted sign-flip interval was [0.3, 0.3]."""
    vals, cl = _shifted()
    grp = MetricGroup("t", "m", "none", list(range(24)), vals, cl, False)
    setup = Setup(["r0", "r1"], [(0, 1)], 0.05, 0.05, 2000, False, [{}, {}])
    c = analysis.analyze(grp, setup, np.random.default_rng(0)).comparisons[0]
    lo, hi, p = intervals.same_difference(0.3, 6, 1.0, 0.05)
    assert c.ci_high - c.ci_low > 0.05
    assert (c.ci_low, c.ci_high, c.p_value) == pytest.approx((lo, hi, p))
    assert c.p_value >= 2 / 2**6 and intervals.SAME_DIFFERENCE in c.test


def test_a_constant_cluster_difference_keeps_its_p_through_dq_compare(tmp_path):
    """The permutation test's 2/2^6 must not replace the worst-case p (its interval holds 0)."""
    vals, cl = _shifted()
    runs = [write_run(tmp_path, f"r{i}", {"toy": list(vals[i])}, metric="f1", clusters=list(cl)) for i in (0, 1)]
    report = compare_runs(runs, iterations=500)
    (c,) = report.comparisons
    assert c.ci_low < 0 < c.ci_high and c.p_value >= 0.05 and not c.significant
    assert not [n for n in report.notes if "interval" in n and "toy" in n]
    # a varying cluster difference still takes the cluster sign-flip path (the test can fail)
    wobble = vals[1] + np.repeat(np.linspace(-0.05, 0.05, 6), 4)
    runs2 = [runs[0], write_run(tmp_path, "r2", {"toy": list(wobble)}, metric="f1", clusters=list(cl))]
    (c2,) = compare_runs(runs2, iterations=500).comparisons
    assert c2.test.startswith("cluster sign-flip") and c2.p_value == pytest.approx(2 / 2**6)


def test_tied_scores_share_their_point_rank():
    draws = np.random.default_rng(0).normal(size=(200, 4)) * 0.01 + [0.5, 0.7, 0.5, 0.2]
    rows = ranks.rank_entries(list("abcd"), np.array([0.5, 0.7, 0.5, 0.2]), draws)
    assert [(r.label, r.statistic) for r in rows] == [("b", 1), ("a", 2), ("c", 2), ("d", 4)]
