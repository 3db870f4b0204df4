"""The demo's task generator (unit) and a small slice of `make demo` end to end (model)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dq_tasks import synth
from harness_ext import demo
from harness_ext.compare.report_data import read_json as read_comparisons


@pytest.mark.unit
@pytest.mark.parametrize(
    ("depth", "difficulty"), [(1, "easy"), (2, "easy"), (3, "easy"), (2, "standard"), (6, "standard")]
)
def test_synth_doc_cap_is_its_depth(depth: int, difficulty: synth.Difficulty) -> None:
    docs = synth.generate(depth, n=20, difficulty=difficulty)
    assert {d["max_subquestions"] for d in docs} == {depth}
    assert all(len(d["gold_subquestions"]) == depth for d in docs)  # the oracle gets every step
    assert {d["dq_task"] for d in docs} == {synth.task_name(depth, difficulty)}


@pytest.mark.unit
def test_easy_problems_add_or_subtract_small_numbers() -> None:
    docs = synth.generate(3, n=200, difficulty="easy")
    for doc in docs:
        for equation in doc["gold_equations"]:
            a, op, k, _, result = equation.split()
            assert op in "+-" and 1 <= int(k) <= 5
            assert 1 <= int(result) <= synth.EASY_MAX and int(a) <= synth.EASY_MAX
        assert doc["answers"] == [doc["gold_subanswers"][-1]]
    assert len({d["question"] for d in docs}) == len(docs)


@pytest.mark.unit
def test_easy_and_standard_tasks_do_not_share_problems() -> None:
    easy = {d["question"] for d in synth.generate(2, n=50, difficulty="easy")}
    standard = {d["question"] for d in synth.generate(2, n=50)}
    assert not easy & standard
    assert synth.generate(2, n=5, difficulty="easy") == synth.generate(2, n=5, difficulty="easy")


@pytest.mark.unit
def test_load_synth_hook_keeps_the_cap() -> None:
    ds = synth.load_synth(depth=2, difficulty="easy", synth_n=5, pretrained="ignored")["test"]
    assert ds["max_subquestions"] == [2] * 5
    assert ds["dq_task"] == ["dq_synth_easy_d2"] * 5


@pytest.mark.unit
def test_unknown_difficulty_is_an_error() -> None:
    with pytest.raises(ValueError, match="difficulty"):
        synth.generate(2, n=1, difficulty="hard")  # type: ignore[arg-type]


def _results_files(out: Path) -> list[Path]:
    return sorted(out.glob("runs/*/results_*.json"))


@pytest.mark.model
def test_demo_slice_end_to_end_replaces_previous_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    (out / "runs.partial").mkdir(parents=True)  # left by an interrupted demo: must not leak in
    assert demo.main(["--out", str(out), "--limit", "4"]) == 0
    first = _results_files(out)
    assert len(first) == 3
    comparisons = read_comparisons(out / "comparisons.json")[0]
    assert {(c["a"], c["b"]) for c in comparisons} == {
        ("single-stage", "model-decomposer"),
        ("single-stage", "oracle-decomposer"),
    }
    assert all(c["n"] == 4 for c in comparisons)
    traces = [
        json.loads(line) for f in out.glob("runs/*smollm2-135m__smollm2-135m/traces_*.jsonl") for line in f.open()
    ]
    assert len(traces) == 4  # the model decomposer's record of every doc
    report = (out / "report.md").read_text()
    assert "## What differs" in report and "Holm-adjusted p" in report
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.match(r"\[demo\] report: .*report\.md \| strict-match accuracy: single-stage \d\.\d\d", last)

    # A second demo replaces the runs: one results file per run, none of the first ones.
    assert demo.main(["--out", str(out), "--limit", "4"]) == 0
    second = _results_files(out)
    assert len(second) == 3 and not set(first) & set(second)
    assert not (out / "runs.partial").exists()


@pytest.mark.e2e
def test_report_only_rebuilds_the_committed_report_without_a_model(tmp_path: Path) -> None:
    """`--report-only` rereads OUT/runs: the committed results/demo report is what it writes
    (apart from the compare section's run paths), and it refuses a folder without the runs."""
    import shutil

    from harness_ext.errors import DQError

    repo = Path(__file__).resolve().parents[1]
    out = tmp_path / "demo"
    shutil.copytree(repo / "results" / "demo" / "runs", out / "runs")
    shutil.copy(repo / "results" / "demo" / "report.md", out / "report.md")
    assert demo.main(["--out", str(out), "--report-only"]) == 0
    assert demo.main(["--out", str(out), "--report-only"]) == 0  # idempotent: one note, same text
    ours = (out / "report.md").read_text().split("\n## What differs")[1].splitlines()
    committed = (repo / "results" / "demo" / "report.md").read_text().split("\n## What differs")[1].splitlines()
    assert [line for line in ours if str(tmp_path) not in line] == [
        line for line in committed if "results/demo" not in line
    ]
    assert (out / "report.md").read_text().count("--report-only") == 1
    shutil.rmtree(out / "runs" / sorted(p.name for p in (out / "runs").iterdir())[0])
    with pytest.raises(DQError, match="lacks the demo runs"):
        demo.main(["--out", str(out), "--report-only"])
