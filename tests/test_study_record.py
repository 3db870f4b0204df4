"""The typed study record (harness_ext/study_record.py): study.json read and written back is
byte-identical, its cost arithmetic, and one clear error for a file that is not a study."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness_ext.errors import DQError
from harness_ext.io import write_json_atomic
from harness_ext.study_record import CellCost, CellResult, StageCost, StudyResult, read_study

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parent.parent
COMMITTED = sorted(p.parent for p in (REPO / "results").glob("*/study.json"))


@pytest.mark.parametrize("folder", COMMITTED, ids=lambda p: p.name)
def test_committed_study_json_round_trips_byte_identical(folder, tmp_path):
    state = read_study(folder)
    assert state.cells and all(isinstance(c, CellResult) for c in state.cells)
    state.save(tmp_path / "study.json")
    assert (tmp_path / "study.json").read_bytes() == (folder / "study.json").read_bytes()


def _stage(**kw) -> dict:
    base = {"prompt_tokens": 10, "completion_tokens": 5, "generated": 0, "cache_hits": 2, "calls": 1, "seconds": 0.5}
    return {**base, "parameters": 100, "flops": 3000, "usd": 1e-6, **kw}


def test_every_optional_field_round_trips_in_order(tmp_path):
    """A Ray cell (node, resumed), a replayed decomposer, a failed and a skipped cell, a shard."""
    replay = {"model": "rec", **_stage(), "backend": "replay", "replayed": 3}
    ok = {
        "id": "t__rec__s", "task": "t", "decomposer": "rec", "solver": "s", "label": "rec/s", "load_seconds": 1.5,
        "status": "ok", "error": None, "metrics": {"exact_match,none": 0.5}, "n": 4, "output_dir": "out/cells/x/m",
        "cost": {"decomposer": replay, "solver": {"model": "s", **_stage(usd=None)}}, "wall_seconds": 3.0,
        "node": {"node_id": "abc", "host": "h"}, "resumed": True,
    }  # fmt: skip
    failed = {"id": "f", "task": "t", "decomposer": "d", "solver": "s", "label": "d/s", "status": "failed",
              "error": "ValueError: x", "metrics": {}, "cost": None, "wall_seconds": 0.1}  # fmt: skip
    skipped = {"id": "k", "task": "t", "decomposer": "oracle", "solver": "s", "label": "oracle/s",
               "status": "skipped", "error": "not applicable", "metrics": {}, "cost": None}  # fmt: skip
    data = {
        "study": "s", "study_file": "s.yaml", "study_sha256": "ab" * 32, "out": "out", "cache": "out/c.sqlite",
        "spec": {"name": "s"}, "started": "2026-12-02T00:00:00", "finished": "2026-12-02T00:01:00", "reuse": "r",
        "cells": [ok, failed, skipped], "shard": {"k": 1, "n": 2, "cells": ["t__rec__s"]}, "host": "h",
        "study_text": "name: s\n", "runtime": {"executor": "ray"}, "passes": [], "wall_seconds": 60.0,
        "failures": ["f: ValueError: x"], "report": {"leaderboard": "out/leaderboard.md"},
    }  # fmt: skip
    write_json_atomic(tmp_path / "study.json", data)
    state = read_study(tmp_path)
    assert state.shard is not None and state.shard.k == 1 and state.count("ok") == 1
    assert state.cells[0].resumed and state.cells[0].cost.decomposer.replayed == 3  # type: ignore[union-attr]
    assert json.dumps(state.to_json()) == json.dumps(data)


def test_cost_totals_are_unknown_when_a_stage_is_unknown():
    known = CellCost(StageCost(backend="none", parameters=0, flops=0, usd=0.0), StageCost(10, 5, usd=2e-6, flops=30))
    assert known.totals() == {"tokens": 15.0, "flops": 30.0, "usd": 2e-6}
    unpriced = CellCost(known.decomposer, StageCost(10, 5))
    assert unpriced.totals() == {"tokens": 15.0, "flops": None, "usd": None}
    assert CellResult("i", "t", "d", "s", "d/s").totals() == {"tokens": None, "flops": None, "usd": None}


def test_a_file_that_is_not_a_study_is_one_error(tmp_path):
    with pytest.raises(DQError, match="cannot read"):
        read_study(tmp_path)
    (tmp_path / "study.json").write_text("{", encoding="utf-8")
    with pytest.raises(DQError, match="not valid JSON"):
        read_study(tmp_path)
    (tmp_path / "study.json").write_text('{"results": {}}', encoding="utf-8")
    with pytest.raises(DQError, match="not a dq study record"):
        read_study(tmp_path)
    with pytest.raises(DQError, match="lacks a field"):
        StudyResult.from_json({"cells": [{"task": "t"}]})


def test_leaderboard_orders_by_the_metrics_direction():
    """A lower-is-better metric: the rank table puts the lowest first, and the leaderboard follows
    it (not -mean); the typed cells fill the row's columns."""
    from types import SimpleNamespace

    from harness_ext.compare.ranks import RankResult
    from harness_ext.compare.results import ComparisonReport, RunSummary
    from harness_ext.compare.sections import Sections
    from harness_ext.study.leaderboard import leaderboard_markdown

    labels = {"none/s": 0.2, "d/s": 0.5}  # an error rate: none/s is better
    cells = [CellResult(f"t__{lb}", "t", *lb.split("/"), lb, status="ok", wall_seconds=7.0) for lb in labels]
    summaries = [
        RunSummary(lb, "t", "exact_match", "none", 10, m, m - 0.1, m + 0.1, "wilson", 0.05) for lb, m in labels.items()
    ]
    report = ComparisonReport([], summaries, [], 0.05, "holm", 100, 1)
    ranks = [RankResult("none/s", 0.2, 1, 1, 1, 0.1, 0.3), RankResult("d/s", 0.5, 2, 2, 2, 0.4, 0.6)]
    study = SimpleNamespace(name="s", path="s.yaml", tasks=["t"], limit=10, seed=1, alpha=0.05, prices={},
                            comparisons=("single_stage",), pairs=())  # fmt: skip
    state = StudyResult("s", "s.yaml", "out", "c", {}, "now", cells)
    rows = [
        line
        for line in leaderboard_markdown(study, state, report, (), Sections(0.05, ranks={"t": ranks})).splitlines()
        if line.startswith("| 1") or line.startswith("| 2")
    ]
    assert [r.split(" | ")[1:3] for r in rows] == [["none", "s"], ["d", "s"]]
    assert rows[0].endswith("| 7 |")
    unranked = leaderboard_markdown(study, state, report)  # no sections: higher is better
    assert unranked.index("| 1 | d | s |") < unranked.index("| 2 | none | s |")


def test_keys_this_version_does_not_know_are_kept_and_bad_shards_are_one_error():
    cell = {"id": "i", "task": "t", "decomposer": "d", "solver": "s", "label": "d/s", "status": "pending",
            "error": None, "metrics": {}, "cost": None, "future_cell_key": [1]}  # fmt: skip
    data = {"study": "s", "study_file": "s.yaml", "out": "o", "cache": "c", "spec": {}, "started": "now",
            "finished": None, "reuse": "", "cells": [cell], "future_key": {"x": 1}}  # fmt: skip
    again = StudyResult.from_json(data).to_json()
    assert again == data and again["cells"][0]["future_cell_key"] == [1]
    with pytest.raises(DQError, match="study.json"):
        StudyResult.from_json({**data, "shard": {"k": 1, "n": 2}})


def test_a_cell_replanned_with_a_bad_recording_fails_inside_run_cell(tmp_path):
    """A Ray cell replays its group's pass with config=None; parsing it must fail the cell (with
    error.txt and timings), not escape as a bare worker error."""
    from harness_ext.study.cells import Cell
    from harness_ext.study.grid import run_cell

    args = {
        "decomposer": "replay",
        "decomposer.path": str(tmp_path / "missing"),
        "solver": "hf",
        "solver.pretrained": "x",
    }
    cell = Cell("dq_synth_d2", "rec", "s", args)
    got = run_cell(None, cell, tmp_path / "cells", None)  # type: ignore[arg-type]
    assert got.status == "failed" and "decomposer.path" in str(got.error), got.error
    assert (tmp_path / "cells" / cell.id / "error.txt").exists() and got.wall_seconds is not None
