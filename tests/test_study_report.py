"""`python -m harness_ext.study.report DIR`: a finished study's reports rewritten from its cells.

Runs on the committed results/distill_study (20 cells, 150 docs each), writing into a copy.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness_ext.study.report import main

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parent.parent
STUDY = REPO / "results/distill_study"


@pytest.fixture(scope="module")
def rewritten(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    shutil.copyfile(STUDY / "study.json", out / "study.json")
    mp = pytest.MonkeyPatch()
    mp.chdir(REPO)  # study.json records the cells' paths relative to the repository
    try:
        rc = main([str(out), "--trained-on", "sd_t=dq_synth_easy_d2", "--trained-on", "se_t=dq_synth_easy_d2"])
    finally:
        mp.undo()
    return rc, out


def test_rewrites_leaderboard_with_rank_intervals(rewritten):
    rc, out = rewritten
    assert rc == 0
    board = (out / "leaderboard.md").read_text()
    rows = [line for line in board.splitlines() if line.startswith("| ") and "[" in line.split("|")[1]]
    assert len(rows) == 20 and sum(" =1 " in r for r in rows) >= 2  # d2 and d3 each have a best
    state = json.loads((out / "study.json").read_text())
    assert state["report"]["sections"]["markdown"].endswith("generalization.md")


def test_generalization_sections_and_cross_task_table(rewritten):
    _, out = rewritten
    sec = json.loads((out / "sections.json").read_text())
    by = {(g["by"], g["entry"]): g for g in sec["generalization"]}
    assert set(by) == {("decomposer", d) for d in ("none", "sd_t", "sd_r", "oracle")} | {("solver", "se_t")}
    sd_t = by[("decomposer", "sd_t")]
    assert [(c["task"], c["context"]) for c in sd_t["cells"]] == [
        (t, s) for t in ("dq_synth_easy_d2", "dq_synth_easy_d3") for s in ("smol", "se_t")
    ]
    assert [c["trained"] for c in sd_t["cells"]] == [True, True, False, False]
    assert (
        sd_t["pooled"]["k"] == 4 and sd_t["pooled"]["ci_low"] < sd_t["pooled"]["statistic"] < sd_t["pooled"]["ci_high"]
    )
    text = (out / "generalization.md").read_text()
    assert "Cross-task table" in text and "**" in text and "## Cost frontier" in text
    assert set(sec["frontiers"]) == {"dq_synth_easy_d2", "dq_synth_easy_d3"}
    assert all(any(p["pareto"] for p in pts) for f in sec["frontiers"].values() for pts in f.values())
    assert (out / "plots" / "accuracy_vs_cost.png").stat().st_size > 0


def test_bad_arguments_are_one_line(tmp_path, capsys):
    assert main([str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("dq: error: ")


def test_trace_tokens_equal_the_study_cost_accounting():
    """dq compare's token axis (from traces) is the study's nominal token count, cell by cell."""
    from harness_ext.compare.sections import trace_tokens

    state = json.loads((STUDY / "study.json").read_text())
    for cell in state["cells"]:
        spent = sum(s["prompt_tokens"] + s["completion_tokens"] for s in cell["cost"].values())
        assert trace_tokens(REPO / cell["output_dir"]) == {cell["task"]: spent}
