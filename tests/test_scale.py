"""Scaling `dq study` out: the Ray executor on a real two-node local cluster, a node killed
mid-study, shards merged, the merge's refusals, and the work plan. Every distributed result is
checked against a serial run of the same study file (packaged SmolLM2, 2 docs, few tokens)."""

from __future__ import annotations

import json
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from harness_ext import cli
from harness_ext.errors import DQError
from harness_ext.study import plan as work
from harness_ext.study.command import build_parser, main
from harness_ext.study.grid import Cell, load_study, plan, run_study
from harness_ext.study_record import CellResult

OBJECT_STORE = 100 * 1024**2  # bytes per node: the cell folders and cache rows are small
NOMINAL = ("prompt_tokens", "completion_tokens", "flops", "usd")  # the same whoever ran the cell


def write_study(path: Path, **overrides) -> Path:
    study = {
        "name": "scale",
        "tasks": ["dq_synth_d2"],
        "limit": 2,
        "seed": 7,
        "apply_chat_template": True,
        "batch_size": 2,
        "device": "cpu",
        "torch_threads": 1,
        "models": {
            "smol": {"backend": "hf", "args": {"pretrained": "smollm2-135m", "dtype": "float32"}},
            # Same weights, another spec: a second decomposer and solver, cached apart.
            "smolb": {
                "backend": "hf",
                "args": {"pretrained": "smollm2-135m", "dtype": "float32", "max_length": 1024},
                "resources": {"num_cpus": 1},
            },
        },
        "decomposers": ["smol", "smolb"],
        "solvers": ["smol", "smolb"],
        "decomposer_gen": {"max_gen_toks": 24},
        "solver_gen": {"max_gen_toks": 12},
        "iterations": 200,
    }
    study.update(overrides)
    path.write_text(yaml.safe_dump(study), encoding="utf-8")
    return path


@contextmanager
def local_cluster():
    """A head and a second node, one CPU each, on this machine; always shut down."""
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "object_store_memory": OBJECT_STORE, "include_dashboard": False},
    )
    try:
        worker = cluster.add_node(num_cpus=1, object_store_memory=OBJECT_STORE)
        cluster.wait_for_nodes()
        yield cluster, worker
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()


def state_of(out: Path) -> dict:
    return json.loads((out / "study.json").read_text(encoding="utf-8"))


def rows(folder: Path, kind: str, keys: tuple[str, ...]) -> list[tuple]:
    [path] = folder.glob(f"{kind}_*.jsonl")
    return [tuple(json.dumps(r.get(k), sort_keys=True) for k in keys) for r in map(json.loads, path.open())]


def outcome(out: Path) -> dict[str, tuple]:
    """Per cell: status, scores, nominal cost, every doc's sample and decomposition."""
    found = {}
    for c in state_of(out)["cells"]:
        folder = Path(c["output_dir"])
        assert folder.parent == out / "cells" / c["id"]
        cost = {role: {k: side[k] for k in NOMINAL} for role, side in (c["cost"] or {}).items()}
        samples = rows(folder, "samples", ("doc_id", "doc_hash", "arguments", "resps", "filtered_resps", "target"))
        traces = rows(folder, "traces", ("doc_id", "doc_hash", "subquestions"))
        found[c["id"]] = (c["status"], c["metrics"], c["n"], cost, samples, traces)
    return found


def board(out: Path) -> list[str]:
    """leaderboard.md without what depends on who ran what when: '(k new)' and the wall column."""
    text = re.sub(r" \(\d+ new\)", "", (out / "leaderboard.md").read_text(encoding="utf-8"))
    return [re.sub(r"\| [^|]* \|$", "|", line) if line.startswith("| ") else line for line in text.splitlines()]


def assert_same_study(got: Path, want: Path) -> None:
    assert outcome(got) == outcome(want)
    ours, theirs = (json.loads((d / "comparisons.json").read_text()) for d in (got, want))
    assert ours["comparisons"] == theirs["comparisons"]
    # the runs record names each study's own folder; the labels must agree
    assert [r["label"] for r in ours["runs"]] == [r["label"] for r in theirs["runs"]]
    assert {r["path"] for r in ours["runs"]} == {str(got)}
    assert board(got) == board(want)


def decomposer_generated(state: dict) -> int:
    cells = sum(c["cost"]["decomposer"]["generated"] for c in state["cells"] if c["cost"])
    return cells + sum(p["stats"]["generated"] for p in state.get("passes", []))


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> Path:
    return write_study(tmp_path_factory.mktemp("scale") / "scale.yaml")


@pytest.fixture(scope="module")
def serial(spec) -> Path:
    out = spec.parent / "serial"
    assert main([str(spec), "--out", str(out), "--no-progress"]) == 0
    return out


@pytest.mark.integration
def test_ray_two_nodes_equals_serial(spec, serial, capfd):
    from harness_ext.study.ray_exec import RayExecutor

    out = spec.parent / "ray"
    with local_cluster() as (cluster, _):
        state = run_study(load_study(spec), out, executor=RayExecutor(address=cluster.address)).to_json()
    assert [c["status"] for c in state["cells"]] == ["ok"] * 4
    assert_same_study(out, serial)
    # N decomposers x M solvers: N decomposer passes, and the cells generate nothing for them.
    assert len(state["passes"]) == 2
    assert all(c["cost"]["decomposer"]["generated"] == 0 for c in state["cells"])
    assert decomposer_generated(state) == decomposer_generated(state_of(serial)) > 0
    # The runtime names the cluster; every cell its node, and each finished cell printed a line.
    assert state["runtime"]["executor"] == "ray" and len(state["runtime"]["nodes"]) == 2
    nodes = {n["node_id"] for n in state["runtime"]["nodes"]}
    assert {c["node"]["node_id"] for c in state["cells"]} <= nodes
    err = capfd.readouterr().err
    for c in state["cells"]:
        assert re.search(rf"\] {c['id']} ok on \S+ \(node {c['node']['node_id'][:8]}\)", err), err


@pytest.mark.integration
def test_ray_ships_a_recorded_decomposition(spec, serial, tmp_path):
    """A study model that is a recording (backend: replay) reaches the workers as shipped traces."""
    from harness_ext.study.ray_exec import RayExecutor

    recorded = serial / "cells" / "dq_synth_d2__smol__smol"
    models = yaml.safe_load(spec.read_text())["models"]
    replayed = write_study(
        tmp_path / "replayed.yaml",
        models={"smol": models["smol"], "rec": {"backend": "replay", "path": str(recorded)}},
        decomposers=["rec"],
        solvers=["smol"],
    )
    with local_cluster() as (cluster, _):
        state = run_study(
            load_study(replayed), tmp_path / "out", executor=RayExecutor(address=cluster.address)
        ).to_json()
    [cell] = state["cells"]
    assert cell["status"] == "ok" and state["passes"] == []
    assert cell["cost"]["decomposer"]["generated"] == 0 and cell["cost"]["decomposer"]["replayed"] == 2
    keys = ("doc_id", "doc_hash", "arguments", "resps", "filtered_resps")
    assert rows(Path(cell["output_dir"]), "samples", keys) == rows(next(recorded.glob("*/")), "samples", keys)


@pytest.mark.integration
def test_node_killed_mid_study_then_rerun_recomputes_nothing(spec, serial):
    import ray

    from harness_ext.study.ray_exec import RayExecutor

    out = spec.parent / "fault"
    removed: list[str] = []
    with local_cluster() as (cluster, worker):

        def kill_worker(record: CellResult) -> None:
            # When the head finishes a cell, the other node is busy with another: take it away.
            if not removed and record.node and record.node["node_id"] != worker.node_id:
                busy = ray.available_resources().get("CPU", 0) < 2
                cluster.remove_node(worker)
                removed.append("busy" if busy else "idle")

        executor = RayExecutor(address=cluster.address, on_finish=kill_worker)
        state = run_study(load_study(spec), out, executor=executor).to_json()
        assert removed, "no cell finished on the head node"
        print(f"worker node removed while {removed[0]}")  # busy: a cell was running on it
        assert [c["status"] for c in state["cells"]] == ["ok"] * 4, state["failures"]
        assert_same_study(out, serial)
        # A rerun into the same folder keeps every finished cell: no pass, no cell runs again.
        again = run_study(load_study(spec), out, executor=RayExecutor(address=cluster.address)).to_json()
    assert again["passes"] == [] and all(c.get("resumed") for c in again["cells"])
    assert_same_study(out, serial)


@pytest.fixture(scope="module")
def shards(spec) -> list[Path]:
    dirs = [spec.parent / f"shard{k}" for k in (1, 2)]
    for k, d in enumerate(dirs, 1):
        assert main([str(spec), "--out", str(d), "--shard", f"{k}/2", "--no-progress"]) == 0
    return dirs


@pytest.mark.integration
def test_shards_merged_equal_serial(spec, serial, shards):
    parts = [state_of(d) for d in shards]
    # Whole (task, decomposer) groups: each shard ran one decomposer's pass, none repeated.
    assert sorted(len(p["cells"]) for p in parts) == [2, 2]
    assert [len({c["decomposer"] for c in p["cells"]}) for p in parts] == [1, 1]
    assert not (shards[0] / "leaderboard.md").exists()  # reports come from --merge
    merged = spec.parent / "merged"
    assert main(["--merge", *map(str, shards), "--out", str(merged)]) == 0
    assert_same_study(merged, serial)
    assert state_of(merged)["runtime"]["executor"] == "shards"
    assert decomposer_generated(state_of(merged)) == decomposer_generated(state_of(serial))


def merge_error(capsys, *args: str) -> str:
    capsys.readouterr()  # what earlier runs printed
    assert cli.main(["study", "--merge", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("dq: error: "), err
    return err


@pytest.mark.integration
def test_merge_refusals(spec, serial, shards, capsys, tmp_path):
    one, two = map(str, shards)
    out = str(tmp_path / "merged")
    assert "shard(s) 2 of 2 missing" in merge_error(capsys, one, "--out", out)
    # Another study file (a changed comment is a different file): its empty share 3/3 runs at once.
    other = spec.parent / "other.yaml"
    other.write_text(spec.read_text() + "# another file\n", encoding="utf-8")
    assert main([str(other), "--out", str(tmp_path / "other3"), "--shard", "3/3", "--no-progress"]) == 0
    assert state_of(tmp_path / "other3")["cells"] == []
    assert "different study files" in merge_error(capsys, one, str(tmp_path / "other3"), "--out", out)
    # The same cell in two shards with different answers for one doc.
    copy = tmp_path / "shard1-copy"
    shutil.copytree(one, copy)
    [samples] = sorted(copy.glob("cells/*/*/samples_*.jsonl"))[:1]
    lines = samples.read_text().splitlines()
    first = json.loads(lines[0])
    first["filtered_resps"] = ["something else"]
    samples.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    assert "with different results" in merge_error(capsys, one, str(copy), two, "--out", out)
    assert "is a whole study, not a shard" in merge_error(capsys, str(serial), two, "--out", out)
    assert not Path(out).exists()  # nothing written by a refused merge


# ------------------------------------------------------------------------------ the plan
def cells_of(decomposers: list[str], solvers: list[str], tasks: list[str]) -> list[Cell]:
    return [Cell(t, d, s) for t in tasks for d in decomposers for s in solvers]


@pytest.mark.unit
@pytest.mark.parametrize("n", [1, 2, 3, 5, 9])
def test_shares_keep_groups_whole_and_cover_the_plan(n):
    cells = cells_of(["none", "a", "b", "oracle"], ["x", "y", "z"], ["t1", "t2"])
    shares = work.shares(cells, n)
    assert sorted(i for s in shares for i in s) == list(range(len(cells)))
    where = {i: k for k, share in enumerate(shares) for i in share}
    for group in work.groups(cells):  # a decomposer pass and its cells stay together
        assert len({where[i] for i in group.cells}) == 1
    assert work.shares(cells, n) == shares  # every shard computes the same split
    sizes = [len(s) for s in shares]
    assert max(sizes) - min(sizes) <= 3  # groups of 3 cells, dealt to the emptiest share


@pytest.mark.unit
def test_resources_take_the_largest_need(tmp_path):
    study = load_study(
        write_study(
            tmp_path / "s.yaml",
            models={
                "big": {"backend": "hf", "args": {"pretrained": "x"}, "resources": {"num_gpus": 2, "num_cpus": 4}},
                "small": {"backend": "hf", "args": {"pretrained": "y"}},
            },
            decomposers=["none", "big"],
            solvers=["small"],
        )
    )
    assert work.resources(study, ["none", "small"]) == {"num_cpus": 1.0}
    assert work.resources(study, ["big", "small"]) == {"num_cpus": 4.0, "num_gpus": 2.0}


@pytest.mark.unit
@pytest.mark.parametrize(
    "argv, message",
    [
        (["--shard", "3/2"], "--shard '3/2': expected K/N"),
        (["--shard", "x"], "expected K/N"),
        (["--shard", "1/2", "--executor", "ray"], "either --shard K/N or --executor ray"),
        (["--address", "auto"], "--address needs --executor ray"),
        (["--executor", "ray", "--address", "127.0.0.1:9"], "--address 127.0.0.1:9: no Ray cluster answers there"),
    ],
)
def test_flag_errors_are_one_line(spec, capsys, argv, message):
    assert cli.main(["study", str(spec), "--out", str(spec.parent / "never"), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err, err
    assert not (spec.parent / "never").exists()


@pytest.mark.unit
@pytest.mark.parametrize(
    "resources, message",
    [({"gpus": 1}, "keys num_cpus, num_gpus"), ({"num_gpus": -1}, "non-negative"), ([1], "expected a map")],
)
def test_bad_resources(tmp_path, resources, message):
    models = {"smol": {"backend": "hf", "args": {"pretrained": "smollm2-135m"}, "resources": resources}}
    spec = write_study(tmp_path / "s.yaml", models=models, decomposers=["none"], solvers=["smol"])
    with pytest.raises(DQError, match=f"models.smol.resources.*{re.escape(message)}"):
        load_study(spec)


@pytest.mark.unit
def test_help_documents_the_flags_and_resources():
    text = build_parser().format_help()
    for word in ("--executor", "--address", "--shard", "--merge", "resources:", "num_gpus"):
        assert word in text, word


@pytest.mark.unit
def test_dry_run_plan_is_unchanged(tmp_path):
    spec = write_study(tmp_path / "s.yaml")
    assert [c.id for c in plan(load_study(spec))] == [
        "dq_synth_d2__smol__smol",
        "dq_synth_d2__smol__smolb",
        "dq_synth_d2__smolb__smol",
        "dq_synth_d2__smolb__smolb",
    ]
