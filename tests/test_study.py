"""`dq study` on the tiny random model: study.json shape, decomposition reuse, reruns, failing
cells, bad study files and the leaderboard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from harness_ext import cli
from harness_ext.compare.report_data import read_json as read_comparisons
from harness_ext.errors import DQError
from harness_ext.lmeval import pool as stages
from harness_ext.study.command import main
from harness_ext.study.grid import load_study, plan

COST_FIELDS = {"prompt_tokens", "completion_tokens", "generated", "cache_hits", "seconds", "flops", "usd"}


def write_study(path: Path, tiny_model: str, **overrides) -> Path:
    study = {
        "tasks": ["dq_synth_d2"],
        "limit": 3,
        "seed": 7,
        "models": {
            "a": {"backend": "hf", "args": {"pretrained": tiny_model, "dtype": "float32"}},
            # Same weights, another spec: loaded and cached as a different model.
            "b": {"backend": "hf", "args": {"pretrained": tiny_model, "dtype": "float32", "max_length": 1024}},
            "broken": {"backend": "hf", "args": {"pretrained": str(path.parent / "no-such-model")}},
        },
        "decomposers": ["none", "a", "broken"],
        "solvers": ["a", "b"],
        "apply_chat_template": True,
        "batch_size": 4,
        "device": "cpu",
        "decomposer_gen": {"max_gen_toks": 6},
        "solver_gen": {"max_gen_toks": 6},
        "iterations": 200,
        "torch_threads": 1,
        "prices": {"a": {"input": 0.001, "output": 0.002}},
    }
    study.update(overrides)
    path.write_text(yaml.safe_dump(study), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def studied(tiny_model, tmp_path_factory):
    """One study run, then a rerun into the same directory (everything from the cache)."""
    root = tmp_path_factory.mktemp("study")
    spec = write_study(root / "grid.yaml", tiny_model)
    out = root / "out"
    rc1 = main([str(spec), "--out", str(out), "--no-progress"])
    first = json.loads((out / "study.json").read_text())
    rc2 = main([str(spec), "--out", str(out), "--no-progress"])
    second = json.loads((out / "study.json").read_text())
    return out, rc1, first, rc2, second


def cell(state: dict, dec: str, sol: str) -> dict:
    return next(c for c in state["cells"] if (c["decomposer"], c["solver"]) == (dec, sol))


def test_study_json_shape(studied):
    out, _, first, _, _ = studied
    assert len(first["cells"]) == 6  # 3 decomposers x 2 solvers x 1 task
    for c in first["cells"]:
        assert {"decomposer", "solver", "task", "status", "error", "metrics", "cost"} <= set(c)
        assert c["task"] == "dq_synth_d2"
        if c["status"] != "ok":
            continue
        assert "exact_match,strict-match" in c["metrics"]
        assert set(c["cost"]) == {"decomposer", "solver"}
        for side in c["cost"].values():
            assert COST_FIELDS <= set(side)
        # lm-eval's own layout per cell: results, samples and traces.
        folder = Path(c["output_dir"])
        assert folder.parent == out / "cells" / c["id"]
        for kind in ("results_*.json", "samples_dq_synth_d2_*.jsonl", "traces_dq_synth_d2_*.jsonl"):
            assert len(list(folder.glob(kind))) == 1, kind
        assert json.loads(next(folder.glob("results_*.json")).read_text())["config"]["model"] == "two_stage"
    solver = cell(first, "none", "a")["cost"]["solver"]
    assert solver["prompt_tokens"] > 0 and solver["flops"] == 2 * solver["parameters"] * (
        solver["prompt_tokens"] + solver["completion_tokens"]
    )
    assert solver["usd"] == pytest.approx(
        (solver["prompt_tokens"] * 0.001 + solver["completion_tokens"] * 0.002) / 1000
    )
    assert cell(first, "none", "b")["cost"]["solver"]["usd"] is None  # no price for b
    assert cell(first, "none", "a")["cost"]["decomposer"]["flops"] == 0


def test_decomposer_runs_once_per_task(studied):
    _, _, first, _, _ = studied
    dec_first = cell(first, "a", "a")["cost"]["decomposer"]
    dec_second = cell(first, "a", "b")["cost"]["decomposer"]
    assert dec_first["generated"] > 0 and dec_first["cache_hits"] == 0
    assert dec_second["generated"] == 0 and dec_second["cache_hits"] == 3
    # The nominal cost is the same: the second cell reused the first cell's decompositions.
    assert dec_second["completion_tokens"] == dec_first["completion_tokens"] > 0


def test_rerun_generates_nothing(studied):
    _, _, first, _, second = studied
    ok = [c for c in second["cells"] if c["status"] == "ok"]
    assert len(ok) == 4
    for c in ok:
        for side in c["cost"].values():
            assert side["generated"] == 0
        assert c["cost"]["solver"]["cache_hits"] == 3
        assert c["metrics"] == cell(first, c["decomposer"], c["solver"])["metrics"]


def test_failing_cells_are_marked_and_others_go_on(studied, capsys):
    out, rc1, first, rc2, _ = studied
    assert rc1 == 1 and rc2 == 1
    statuses = {(c["decomposer"], c["solver"]): c["status"] for c in first["cells"]}
    assert statuses[("broken", "a")] == statuses[("broken", "b")] == "failed"
    assert sum(s == "ok" for s in statuses.values()) == 4
    failed = cell(first, "broken", "a")
    assert "no-such-model: no such model directory" in failed["error"] and failed["metrics"] == {}
    assert (out / "cells" / failed["id"] / "error.txt").exists()
    assert len(first["failures"]) == 2


def test_leaderboard_and_comparisons(studied):
    out, _, first, _, _ = studied
    board = (out / "leaderboard.md").read_text()
    assert "## dq_synth_d2 — exact_match" in board
    assert "baseline" in board and "Holm" in board
    assert "## Cells not in the table" in board and "broken" in board.split("## Cells not in the table")[1]
    comparisons = read_comparisons(out / "comparisons.json")[0]
    # Under each solver, decomposer a vs none (broken failed); under each decomposer, solver a vs b.
    # One Holm family of all four.
    assert {(c["a"], c["b"]) for c in comparisons} == {
        ("none/a", "a/a"),
        ("none/b", "a/b"),
        ("none/a", "none/b"),
        ("a/a", "a/b"),
    }
    assert "over all 4 comparisons" in board
    rows = [line for line in board.splitlines() if line.startswith("| ") and " | none | " in line]
    assert len(rows) == 2 and all("| baseline |" in r for r in rows)  # each solver's own single stage
    assert all(c["p_adjusted"] >= c["p_value"] for c in comparisons)
    assert (out / "plots" / "heatmap_dq_synth_d2.png").stat().st_size > 0
    assert (out / "plots" / "accuracy_vs_cost.png").stat().st_size > 0
    assert (out / "compare" / "report.md").exists()


def test_oracle_without_gold_is_skipped_up_front(tiny_model, tmp_path):
    spec = write_study(tmp_path / "s.yaml", tiny_model, tasks=["dq_synth_d2", "drop_dq"], decomposers=["oracle"])
    cells = plan(load_study(spec))
    skip = {c.task: c.skip for c in cells}
    assert skip["dq_synth_d2"] is None
    assert "not applicable" in skip["drop_dq"] and "gold sub-questions" in skip["drop_dq"]


def test_groups_expand_to_tasks(tiny_model, tmp_path):
    spec = write_study(tmp_path / "s.yaml", tiny_model, tasks=["dq_paper", "gsm8k_dq"])
    assert load_study(spec).tasks == ["gsm8k_dq", "drop_dq", "bamboogle_dq"]


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"solvers": ["a", "gpt5"]}, "solvers: unknown model 'gpt5'"),
        ({"decomposers": ["nope"]}, "decomposers: unknown model 'nope'"),
        ({"solvers": ["oracle"]}, "decomposers only"),
        (
            {
                "models": {"a": {"backend": "no_such_backend", "args": {}}},
                "decomposers": ["a"],
                "solvers": ["a"],
                "prices": {},
            },
            "unknown decomposer backend 'no_such_backend'",
        ),
        ({"tasks": ["dq_synth_d2", "no_such_task"]}, "unknown task or group 'no_such_task'"),
        ({"verifiers": ["a"]}, "unknown role or key 'verifiers'"),
        ({"prices": {"zzz": {"input": 1}}}, "prices: unknown model 'zzz'"),
        ({"solver_gen": 5}, "solver_gen: expected a map"),
    ],
)
def test_bad_study_fails_before_compute(tiny_model, tmp_path, capsys, monkeypatch, overrides, message):
    spec = write_study(tmp_path / "bad.yaml", tiny_model, **overrides)

    def no_loading(spec):
        raise AssertionError(f"a bad study file loaded {spec.role} before failing")

    monkeypatch.setattr(stages, "load_inner", no_loading)
    with pytest.raises(DQError, match="study file"):
        main([str(spec), "--out", str(tmp_path / "out")])
    assert cli.main(["study", str(spec), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.unit
def test_study_compares_what_users_ask():
    from dataclasses import replace

    from harness_ext.study.family import wanted
    from harness_ext.study_record import CellResult

    def cell(dec, sol):
        return CellResult(f"t__{dec}__{sol}", "t", dec, sol, f"{dec}/{sol}")

    every = ("single_stage", "decomposers", "solvers")
    # no single-stage run: decomposers smol and gemma are still compared under each solver
    assert wanted(cell("smol", "s"), cell("gemma", "s"), every)
    assert wanted(cell("smol", "s1"), cell("smol", "s2"), every)  # solvers under one decomposer
    assert not wanted(cell("smol", "s1"), cell("gemma", "s2"), every)  # nothing shared: not a question
    assert wanted(cell("none", "s"), cell("smol", "s"), ("single_stage",))
    assert not wanted(cell("gemma", "s"), cell("smol", "s"), ("single_stage",))
    assert not wanted(cell("smol", "s1"), cell("smol", "s2"), ("single_stage", "decomposers"))
    # an explicit pair: the one cross comparison asked for, in either order, and nothing else
    pairs = ((("smol", "s1"), ("gemma", "s2")),)
    assert wanted(cell("smol", "s1"), cell("gemma", "s2"), ("single_stage",), pairs)
    assert wanted(cell("gemma", "s2"), cell("smol", "s1"), ("single_stage",), pairs)
    assert not wanted(cell("smol", "s2"), cell("gemma", "s1"), ("single_stage",), pairs)
    assert not wanted(replace(cell("smol", "s1"), task="u"), cell("gemma", "s2"), ("single_stage",), pairs)


def test_comparisons_key_is_checked(tiny_model, tmp_path):
    spec = write_study(tmp_path / "s.yaml", tiny_model, comparisons=["single_stage"])
    assert load_study(spec).comparisons == ("single_stage",)
    bad = write_study(tmp_path / "b.yaml", tiny_model, comparisons=["pairs"])
    with pytest.raises(DQError, match=r"'pairs' is neither a kind nor a pair; expected a list drawn from"):
        load_study(bad)
    pair = write_study(tmp_path / "p.yaml", tiny_model, comparisons=["solvers", "none/a vs a/b"])
    assert load_study(pair).comparisons == ("solvers",) and load_study(pair).pairs == ((("none", "a"), ("a", "b")),)
    for text, message in (
        ("none/a vs oracle/a", r"oracle/a is not a cell of the grid"),
        ("a/a vs a/a", "compares a cell with itself"),
        ("a/a vs", "neither a kind nor a pair"),
    ):
        with pytest.raises(DQError, match=message):
            load_study(write_study(tmp_path / "x.yaml", tiny_model, comparisons=[text]))
    with pytest.raises(DQError, match="comparisons: expected"):
        load_study(write_study(tmp_path / "y.yaml", tiny_model, comparisons="single_stage"))


def test_study_help_documents_a_valid_study_file(tmp_path):
    from harness_ext.study.spec import STUDY_FILE_HELP

    example = tmp_path / "example.yaml"
    example.write_text(STUDY_FILE_HELP.split("\n", 1)[1])
    study = load_study(example)  # every key `dq study --help` shows is accepted as shown
    assert study.tasks == ["gsm8k_dq", "drop_dq", "bamboogle_dq", "dq_synth_d2"]
    assert study.comparisons == ("single_stage", "decomposers", "solvers") and study.models["smol"].parameters == 1.35e8
