"""decomposer=replay: sub-questions from recorded traces, under the Python API, `dq eval`, plain
`lm_eval` and `dq study`; every way a recording can fail to match is one `dq: error:` line."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from harness_ext.errors import DQError
from harness_ext.lmeval.models import parse_model_args
from harness_ext.lmeval.samples import doc_hash
from harness_ext.model.decomposers import ReplayDecomposer
from harness_ext.model.items import Item
from harness_ext.model.spec import TwoStageConfig
from harness_ext.records import CallTotals, StageView, TraceRecord
from harness_ext.rundir import read_traces, task_of, traces_files

TASK, LIMIT = "dq_synth_d2", 4
GEN = {"until": ["\n\n"], "max_gen_toks": 6}
HOOK = (Path(sysconfig.get_paths()["purelib"]) / "dq_harness.pth").exists()  # plain lm_eval finds two_stage
CLIS = [
    pytest.param(False, id="dq-eval"),
    pytest.param(True, id="plain-lm_eval", marks=pytest.mark.skipif(not HOOK, reason="run `make setup` (the hook)")),
]
# The replayed decomposition's own keys; everything else in its view is the recording's.
REPLAY_KEYS = {"backend", "replayed_from", "cached"}


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def run_files(run: Path, kind: str) -> list[dict]:
    (path,) = run.glob(f"{kind}_{TASK}_*.jsonl")
    return lines(path)


def two_stage(tiny_model: str, decomposer: str, **extra):
    from harness_ext.lmeval.two_stage import TwoStageLM

    args = {"decomposer": decomposer, "solver": "hf", "solver.pretrained": tiny_model, "batch_size": 4,
            "device": "cpu", "decomposer_gen.max_gen_toks": 12, **extra}  # fmt: skip
    if decomposer == "hf":
        args["decomposer.pretrained"] = tiny_model
    return TwoStageLM(**args)


def evaluate(lm, out: Path, limit: int = LIMIT) -> Path:
    from harness_ext.lmeval.runner import evaluate_to_dir

    return evaluate_to_dir(lm, [TASK], out, limit=limit, apply_chat_template=True, gen_kwargs=dict(GEN))


@pytest.fixture(scope="module")
def recorded(tiny_model, tmp_path_factory) -> dict[str, Path]:
    """Two recordings: a model decomposer (views and tokens) and the oracle (sub-questions)."""
    root = tmp_path_factory.mktemp("recorded")
    return {dec: evaluate(two_stage(tiny_model, dec), root / dec) for dec in ("hf", "oracle")}


# ------------------------------------------------------------------------------ unit
def _view(**kw) -> StageView:
    return StageView(**{"prompt": "p", "output": "o", "prompt_tokens": 3, "completion_tokens": 2, "seconds": 0.5,
                        "cached": False, "token_source": "tokenizer", **kw})  # fmt: skip


@pytest.mark.unit
@pytest.mark.parametrize(
    "record",
    [
        TraceRecord("t", 0, "h", "static", ["a?"], [], _view(), "hf", _view(output="7")),
        TraceRecord("t", 1, "h", "static", [], ["single_stage"], None, "oracle", _view(), rank=1),
        TraceRecord("t", 2, "h", "static", ["a?"], [], _view(cached=True), "replay", _view(), replayed_from="x.jsonl"),
        TraceRecord("t", 3, "h", "static", ["a?"], [], None, "replay", _view(), replayed_from="x.jsonl"),
        TraceRecord(
            "t",
            4,
            "h",
            "dynamic",
            ["a?"],
            ["done_signal"],
            None,
            "hf",
            _view(),
            rounds=[{"subquestion": "a?", "answer": "1"}],
            decomposer_totals=CallTotals(3, 2, 0.1, 2),
            solver_totals=CallTotals(5, 4, 0.2, 2),
        ),  # fmt: skip
    ],
)
def test_trace_records_read_back_as_written(record):
    line = json.loads(json.dumps(record.to_json()))
    again = TraceRecord.from_json(line)
    assert again.to_json() == line
    assert again.replayed_from == record.replayed_from and again.subquestions == record.subquestions


def _write(path: Path, *records: TraceRecord) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r.to_json()) + "\n" for r in records))
    return path


@pytest.mark.unit
def test_traces_files_accepts_a_file_a_run_folder_and_an_output_path(tmp_path):
    rec = TraceRecord("t", 0, "h", "static", [], [], None, "none", _view())
    old = _write(tmp_path / "out" / "two_stage__a__b" / "traces_t_2026-01-01T00-00-00.1.jsonl", rec)
    new = _write(tmp_path / "out" / "two_stage__a__b" / "traces_t_2026-02-01T00-00-00.1.jsonl", rec)
    other = _write(tmp_path / "out" / "two_stage__a__b" / "traces_dq_synth_d2_2026-01-01T00-00-00.1.jsonl", rec)
    assert traces_files(old) == {"t": old}
    assert traces_files(new.parent) == traces_files(tmp_path / "out") == {"t": new, "dq_synth_d2": other}
    assert [r.doc_hash for r in read_traces(new)] == ["h"]


@pytest.mark.unit
def test_traces_files_refuses_what_it_cannot_use(tmp_path):
    rec = TraceRecord("t", 0, "h", "static", [], [], None, "none", _view())
    with pytest.raises(DQError, match="no such file or folder"):
        traces_files(tmp_path / "nope")
    (tmp_path / "empty" / "cells").mkdir(parents=True)
    with pytest.raises(DQError, match=r"no traces_.*a dq study folder: name one of its cells"):
        traces_files(tmp_path / "empty")
    results = tmp_path / "results_2026-01-01T00-00-00.json"
    results.write_text("{}")
    with pytest.raises(DQError, match="expected a traces_"):
        traces_files(results)
    _write(tmp_path / "two" / "x" / "traces_t_2026-01-01T00-00-00.jsonl", rec)
    _write(tmp_path / "two" / "y" / "traces_t_2026-01-01T00-00-00.jsonl", rec)
    with pytest.raises(DQError, match="in 2 run folders"):
        traces_files(tmp_path / "two")
    bad = tmp_path / "traces_t_2026-01-01T00-00-00.jsonl"
    good = json.dumps(rec.to_json())
    for body, line in [
        ('{"task": "t"}\n', 1),
        (f"{good}\n{good}\n{good[:40]}", 3),  # truncated mid-line (a copy cut short, a full disk)
        (f"{good}\n[1, 2]\n", 2),  # JSON, but not an object
        (f'{good}\n"text"\n', 2),
        (good.replace('"subquestions": []', '"subquestions": "a?"') + "\n", 1),
    ]:
        bad.write_text(body)
        with pytest.raises(DQError, match=f"{bad.name} line {line}: not a two_stage trace record"):
            read_traces(bad)


@pytest.mark.unit
def test_an_undated_traces_file_names_its_task_by_its_records(tmp_path):
    rec = TraceRecord("gsm8k_dq", 0, "h", "static", [], [], None, "none", _view())
    renamed = _write(tmp_path / "traces_gsm8k_dq.jsonl", rec)  # not "gsm8k" (cut at the last '_')
    assert task_of(renamed) == "gsm8k_dq" and traces_files(renamed) == {"gsm8k_dq": renamed}
    dated = _write(tmp_path / "traces_gsm8k_dq_2026-01-01T00-00-00.5.jsonl", rec)
    assert task_of(dated) == "gsm8k_dq"
    assert traces_files(tmp_path) == {"gsm8k_dq": dated}  # beside a dated run, the renamed copy is not "newer"


@pytest.mark.unit
def test_replay_model_args_are_checked(tmp_path):
    rec = _write(tmp_path / "traces_t_2026-01-01T00-00-00.jsonl", TraceRecord("t", 0, "h", "static", [], [], None,
                                                                              "none", _view()))  # fmt: skip
    config = parse_model_args({"decomposer": "replay", "decomposer.path": str(rec), "solver": "hf", "batch_size": 2})
    assert config.decomposer.args["path"] == str(rec) and not config.decomposer.is_model
    assert "batch_size" not in config.decomposer.args and config.label == "replay/hf"
    nested = parse_model_args({"decomposer": {"backend": "replay", "path": str(rec)}, "solver": {"backend": "hf"}})
    assert nested.decomposer.args == config.decomposer.args  # the JSON form says the same
    for args, words in [
        ({"decomposer": "replay"}, "needs decomposer.path"),
        ({"decomposer": "replay", "decomposer.path": str(tmp_path / "nope")}, "no such file or folder"),
        ({"decomposer": "replay", "decomposer.path": str(rec), "decomposer.pretrained": "x"}, "only decomposer.path"),
        ({"decomposer": "replay", "decomposer.path": str(rec), "mode": "dynamic"}, "use mode=static"),
    ]:
        with pytest.raises(DQError, match=words):
            parse_model_args({**args, "solver": "hf"})
    with pytest.raises(DQError, match="decomposers only"):
        parse_model_args({"solver": "replay"})


def _recording(folder: Path, task: str, records: list[TraceRecord], dq: dict | None, date="2026-01-01T00-00-00.1"):
    """A run folder as two_stage writes it: traces (+ the results file naming its config.dq)."""
    traces = _write(folder / f"traces_{task}_{date}.jsonl", *records)
    if dq is not None:
        (folder / f"results_{date}.json").write_text(json.dumps({"config": {"dq": dq}}))
    return traces


def _live_dq(pretrained: str = "/models/teacher-7b", **options) -> dict:
    return parse_model_args({"decomposer": "none", "solver": "hf", **options}).to_dict() | {
        "decomposer": {"role": "decomposer", "backend": "hf", "args": {"pretrained": pretrained}, "gen": {}},
        "label": f"{Path(pretrained).name}/x",
    }  # fmt: skip


@pytest.mark.unit
def test_the_results_config_names_the_recording_exactly(tmp_path):
    rec = TraceRecord("t", 0, "h", "static", ["a?"], [], _view(), "", _view())
    traces = _recording(tmp_path / "run" / "two_stage__teacher-7b__x", "t", [rec], _live_dq())
    config = parse_model_args({"decomposer": "replay", "decomposer.path": str(tmp_path / "run"), "solver": "hf"})
    args = config.decomposer.args
    assert args["path"] == str(tmp_path / "run") and args["resolved"] == str((tmp_path / "run").resolve())
    entry = args["traces"]["t"]
    assert entry["file"] == str(traces.resolve()) and entry["sha256"] == hashlib.sha256(traces.read_bytes()).hexdigest()
    assert (entry["decomposer"], entry["prompts"], entry["origin"]) == ("teacher-7b", "default", None)
    # The label says which decomposer is replayed: no collision with the recording's (teacher-7b/hf)
    # in dq compare, nor with a replay of another decomposer; nothing is generated, so no gen kwargs.
    assert config.label == "replay-teacher-7b/hf" and config.decomposer.gen == {}
    kept = parse_model_args({"decomposer": "replay", "decomposer.path": str(traces), "decomposer_gen.max_gen_toks": 9,
                             "solver": "hf"})  # fmt: skip
    assert kept.decomposer.gen == {}  # as with none/oracle, decomposer_gen.* is accepted; it has no effect
    # A traces file copied on its own (no results file beside it): replayed, its decomposer unknown.
    alone = _write(tmp_path / "alone" / traces.name, rec)
    bare = parse_model_args({"decomposer": "replay", "decomposer.path": str(alone), "solver": "hf"})
    assert bare.label == "replay/hf" and bare.decomposer.args["traces"]["t"]["results"] is None


@pytest.mark.unit
def test_a_replay_of_a_replay_names_the_origin(tmp_path):
    rec = TraceRecord("t", 0, "h", "static", ["a?"], [], _view(), "", _view())
    first = _recording(tmp_path / "a", "t", [rec], _live_dq())
    hop1 = parse_model_args({"decomposer": "replay", "decomposer.path": str(first), "solver": "hf"})
    again = TraceRecord("t", 0, "h", "static", ["a?"], [], _view(cached=True), "replay", _view(),
                        replayed_from=str(first))  # fmt: skip
    second = _recording(tmp_path / "b", "t", [again], {**hop1.to_dict()}, date="2026-02-01T00-00-00.1")
    hop2 = parse_model_args({"decomposer": "replay", "decomposer.path": str(second), "solver": "hf"})
    assert hop2.decomposer.args["traces"]["t"]["origin"] == str(first.resolve())
    assert hop2.decomposer.args["traces"]["t"]["file"] == str(second.resolve())
    assert hop2.label == hop1.label == "replay-teacher-7b/hf"  # not replay-replay-...
    third = _recording(tmp_path / "c", "t", [again], hop2.to_dict(), date="2026-03-01T00-00-00.1")
    hop3 = parse_model_args({"decomposer": "replay", "decomposer.path": str(third), "solver": "hf"})
    assert hop3.decomposer.args["traces"]["t"]["origin"] == str(first.resolve())


class _Prompter:
    """What ReplayDecomposer asks of the two_stage model (its Prompter protocol): config, cap and
    the doc hash (lm-eval's, as the adapter passes it)."""

    def __init__(self, config: TwoStageConfig) -> None:
        self.config = config

    def cap(self, item: Item) -> int:
        return self.config.max_subquestions or int(item.doc.get("max_subquestions") or 3)

    def doc_hash(self, doc: dict) -> str:
        return doc_hash(doc)

    def request(self, item, kind, gen_kwargs, **extra):  # a replay renders no prompt
        raise AssertionError("replay must not render a decompose prompt")


def _replayer(path: Path, **options) -> ReplayDecomposer:
    config = parse_model_args({"decomposer": "replay", "decomposer.path": str(path), "solver": "hf", **options})
    return ReplayDecomposer(config.decomposer.args, _Prompter(config))


DOCS = [{"question": f"q{i}?", "max_subquestions": 3} for i in range(3)]


@pytest.mark.unit
def test_replay_recaps_and_warns_once_when_the_recording_had_another_cap(tmp_path, caplog):
    subs = ["a?", "b?", "c?"]
    recs = [TraceRecord("t", i, doc_hash(d), "static", subs, [], _view(), "", _view()) for i, d in enumerate(DOCS)]
    _recording(tmp_path, "t", recs, _live_dq())
    items = [Item("t", i, d, "ctx", {}) for i, d in enumerate(DOCS)]
    with caplog.at_level(logging.WARNING):
        _replayer(tmp_path).decompose([Item("t", 0, DOCS[0], "ctx", {})])
    assert not caplog.records  # same cap, same prompts: nothing to say
    with caplog.at_level(logging.WARNING):
        _replayer(tmp_path, max_subquestions=2).decompose(items)
    assert [i.subquestions for i in items] == [subs[:2]] * 3  # cut to this run's cap
    (warning,) = caplog.records  # once per task, not per doc
    assert "recorded with cap 3 sub-questions, this run 2" in warning.getMessage()
    caplog.clear()
    more = [Item("t", 0, DOCS[0], "ctx", {})]
    with caplog.at_level(logging.WARNING):
        _replayer(tmp_path, max_subquestions=5).decompose(more)
    assert more[0].subquestions == subs and "never extended" in caplog.records[0].getMessage()


@pytest.mark.unit
def test_replay_errors_name_the_file_once(tmp_path):
    recs = [TraceRecord("t", i, doc_hash(d), "static", ["a?"], [], None, "oracle", _view()) for i, d in enumerate(DOCS)]
    old = _recording(tmp_path, "t", recs, None)
    new = _recording(tmp_path, "t", recs[:1], None, date="2026-02-01T00-00-00.1")  # a later, smaller rerun
    items = [Item("t", i, d, "ctx", {}) for i, d in enumerate(DOCS)]
    with pytest.raises(DQError, match=rf"doc 1 .*is not in .*{new.name}.*older traces of t.*{old.name}.*\(1 more docs"):
        _replayer(tmp_path).decompose(items)
    replayer = _replayer(old)
    bare = ReplayDecomposer(str(old), replayer.prompter)  # a bare path works too (no hash to hold it to)
    bare.decompose(ok := [Item("t", 0, DOCS[0], "ctx", {})])
    assert ok[0].subquestions == ["a?"] and ok[0].replayed_from == str(old.resolve())
    old.write_text(old.read_text()[:-30])  # cut short (or rewritten) after the run named it
    with pytest.raises(DQError, match=f"{old.name} changed after this run named it"):
        replayer.decompose(items)
    with pytest.raises(DQError, match=f"{old.name} line 3: not a two_stage trace record") as exc:
        _replayer(old).decompose(items)
    assert "more docs" not in str(exc.value)  # one error for the file, not one per doc


# ------------------------------------------------------------------------------ e2e: Python API
def _same_solver_side(original: Path, replayed: Path) -> None:
    a, b = run_files(original, "traces"), run_files(replayed, "traces")
    assert [t["doc_hash"] for t in a] == [t["doc_hash"] for t in b] and len(b) == LIMIT
    for x, y in zip(a, b):
        assert (y["subquestions"], y["flags"]) == (x["subquestions"], x["flags"])
        assert {k: v for k, v in y["solver"].items() if k not in ("seconds", "cached")} == {
            k: v for k, v in x["solver"].items() if k not in ("seconds", "cached")
        }
        assert y["decomposer"]["backend"] == "replay" and y["decomposer"]["replayed_from"].endswith(".jsonl")
        kept = {k: v for k, v in y["decomposer"].items() if k not in REPLAY_KEYS | {"seconds"}}
        assert kept == {k: v for k, v in x["decomposer"].items() if k not in REPLAY_KEYS | {"seconds"}}
        if "prompt" in x["decomposer"]:
            assert y["decomposer"]["cached"] is True  # nothing generated now
    sa, sb = run_files(original, "samples"), run_files(replayed, "samples")
    assert [(s["doc_id"], s["resps"], s["exact_match"]) for s in sa] == [
        (s["doc_id"], s["resps"], s["exact_match"]) for s in sb
    ]
    assert [s["arguments"] for s in sa] == [s["arguments"] for s in sb]  # the solver's prompts
    ra = json.loads(next(original.glob("results_*.json")).read_text())["results"]
    rb = json.loads(next(replayed.glob("results_*.json")).read_text())["results"]
    assert ra == rb


@pytest.mark.e2e
@pytest.mark.parametrize("source", ["hf", "oracle"])
def test_replayed_decompositions_give_the_original_solver_run(recorded, tiny_model, tmp_path, source):
    run = recorded[source]
    if source == "oracle":
        assert any(t["subquestions"] for t in run_files(run, "traces"))  # the solve prompt is exercised
    else:  # "no_decomposition" docs: the replay must give the solver the original single-stage prompt
        assert any("no_decomposition" in t["flags"] for t in run_files(run, "traces"))
    path = run.parent if source == "hf" else next(run.glob("traces_*.jsonl"))  # --output_path, or one file
    lm = two_stage(tiny_model, "replay", **{"decomposer.path": str(path)})
    replayed = evaluate(lm, tmp_path / "replay")
    _same_solver_side(run, replayed)
    assert "decomposer" not in lm.stages  # no decomposer model was loaded
    views = [(t["decomposer"].get("seconds"), t["decomposer"].get("prompt")) for t in run_files(run, "traces")]
    assert [
        (t["decomposer"].get("seconds"), t["decomposer"].get("prompt")) for t in run_files(replayed, "traces")
    ] == views
    recorded_tokens = sum(t["decomposer"].get("prompt_tokens") or 0 for t in run_files(run, "traces"))
    assert lm.decomposer.stats.prompt_tokens == recorded_tokens and lm.decomposer.stats.generated == 0
    assert lm.decomposer.replayed == LIMIT
    config = json.loads(next(replayed.glob("results_*.json")).read_text())["config"]["dq"]
    assert config["decomposer"]["backend"] == "replay" and config["decomposer"]["args"]["path"] == str(path)
    (traces,) = run.glob(f"traces_{TASK}_*.jsonl")  # the results file names the recording exactly
    entry = config["decomposer"]["args"]["traces"][TASK]
    assert entry["file"] == str(traces.resolve()) and entry["sha256"] == hashlib.sha256(traces.read_bytes()).hexdigest()
    name = Path(tiny_model).name if source == "hf" else "oracle"
    assert config["label"] == f"replay-{name}/{Path(tiny_model).name}" and entry["decomposer"] == name
    if source == "hf":  # a replay of this replay: the same solver side, and the chain names its origin
        again = evaluate(two_stage(tiny_model, "replay", **{"decomposer.path": str(replayed)}), tmp_path / "again")
        _same_solver_side(run, again)
        chain = json.loads(next(again.glob("results_*.json")).read_text())["config"]["dq"]
        assert chain["decomposer"]["args"]["traces"][TASK]["origin"] == str(traces.resolve())
        assert chain["label"] == config["label"]


@pytest.mark.e2e
def test_a_replay_of_fewer_docs_takes_a_subset(recorded, tiny_model, tmp_path):
    lm = two_stage(tiny_model, "replay", **{"decomposer.path": str(recorded["oracle"])})
    replayed = evaluate(lm, tmp_path / "replay", limit=2)
    assert [t["subquestions"] for t in run_files(replayed, "traces")] == [
        t["subquestions"] for t in run_files(recorded["oracle"], "traces")[:2]
    ]


# ------------------------------------------------------------------------------ e2e: CLIs and errors
def _cli(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DQ_THREADS": "1", "DQ_PROGRESS": "0"}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=600)


def _eval_cmd(tiny_model: str, path: Path | str, *, lm_eval: bool = False, task: str = TASK, limit: int = LIMIT):
    args = f"decomposer=replay,decomposer.path={path},solver=hf,solver.pretrained={tiny_model}"
    head = [
        str(Path(sys.executable).with_name("lm_eval")),
        "--include_path",
        str(Path(__file__).parents[1] / "dq_tasks"),
    ]
    return [*(head if lm_eval else [sys.executable, "-m", "harness_ext", "eval"]), "--model", "two_stage",
            "--model_args", args, "--tasks", task, "--limit", str(limit), "--device", "cpu", "--batch_size", "4",
            "--gen_kwargs", "max_gen_toks=6", "--apply_chat_template", "--log_samples", "--output_path", "out"]  # fmt: skip


def one_error_line(proc: subprocess.CompletedProcess, cwd: Path, *words: str) -> str:
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("dq: error:") and all(w in last for w in words), last
    assert not list(cwd.glob("out/**/results_*.json"))  # nothing half-written
    return last


@pytest.mark.e2e
@pytest.mark.parametrize("lm_eval", CLIS)
def test_replay_under_the_clis(recorded, tiny_model, tmp_path, lm_eval):
    relative = os.path.relpath(recorded["oracle"], tmp_path)  # resolved against the working directory
    proc = _cli(_eval_cmd(tiny_model, relative, lm_eval=lm_eval), tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = (tmp_path / "out").iterdir()
    assert run.name == "two_stage__replay-oracle__" + Path(tiny_model).name
    dq = json.loads(next(run.glob("results_*.json")).read_text())["config"]["dq"]
    assert dq["decomposer"]["args"]["resolved"] == str(recorded["oracle"].resolve())  # reproducible elsewhere
    assert all(Path(t["decomposer"]["replayed_from"]).is_absolute() for t in run_files(run, "traces"))
    assert [t["subquestions"] for t in run_files(run, "traces")] == [
        t["subquestions"] for t in run_files(recorded["oracle"], "traces")
    ]


def _tampered(recorded: dict[str, Path], tmp_path: Path) -> Path:
    """The recording as if it had seen other data for doc 1: its doc_hash differs."""
    source = next(recorded["hf"].glob("traces_*.jsonl"))
    records = lines(source)
    records[1]["doc_hash"] = "0" * 64
    out = tmp_path / "tampered" / source.name
    out.parent.mkdir()
    out.write_text("".join(json.dumps(r) + "\n" for r in records))
    return out


def _truncated(source: Path, tmp_path: Path) -> Path:
    """The recording cut short in its last line (a copy interrupted, a full disk)."""
    out = tmp_path / "cut" / source.name
    out.parent.mkdir()
    out.write_text(source.read_text()[:-40])
    return out


@pytest.mark.e2e
@pytest.mark.parametrize("lm_eval", CLIS)
@pytest.mark.parametrize("case", ["missing doc", "hash mismatch", "bad path", "other task", "truncated file"])
def test_each_replay_error_is_one_line(recorded, tiny_model, tmp_path, case, lm_eval):
    traces = next(recorded["hf"].glob("traces_*.jsonl"))
    path, words, extra = {
        "missing doc": (recorded["hf"], [traces.name, f"task {TASK} doc {LIMIT} ", "is not in"], {"limit": LIMIT + 2}),
        "hash mismatch": (_tampered(recorded, tmp_path), ["tampered", f"task {TASK} doc 1 ", "docs differ"], {}),
        "bad path": (tmp_path / "no-such-run", ["no-such-run", "no such file or folder"], {}),
        "other task": (traces, [traces.name, "no traces for dq_synth_d4" if not lm_eval else "no traces for task"],
                       {"task": "dq_synth_d4"}),
        "truncated file": (_truncated(traces, tmp_path), [traces.name, f"line {LIMIT}:", "not a two_stage trace"], {}),
    }[case]  # fmt: skip
    proc = _cli(_eval_cmd(tiny_model, path, lm_eval=lm_eval, **extra), tmp_path)
    last = one_error_line(proc, tmp_path, *words)
    assert "more docs" not in last or case == "missing doc"  # a bad file is one error, not one per doc


@pytest.mark.e2e
def test_replay_in_a_study_counts_recorded_tokens_as_not_generated(recorded, tiny_model, tmp_path):
    from harness_ext.study.command import main

    study = {
        "tasks": [TASK],
        "limit": LIMIT,
        "models": {
            "a": {"backend": "hf", "args": {"pretrained": tiny_model}},
            "taught": {"backend": "replay", "path": str(recorded["hf"].parent), "parameters": 1000},
        },
        "decomposers": ["a", "taught"],
        "solvers": ["a"],
        "apply_chat_template": True,
        "batch_size": 4,
        "device": "cpu",
        "decomposer_gen": {"max_gen_toks": 12},
        "solver_gen": dict(GEN),
        "iterations": 100,
        "torch_threads": 1,
    }
    spec = tmp_path / "study.yaml"
    spec.write_text(yaml.safe_dump(study))
    assert main([str(spec), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    state = json.loads((tmp_path / "out" / "study.json").read_text())
    cells = {c["decomposer"]: c for c in state["cells"]}
    assert cells["taught"]["metrics"] == cells["a"]["metrics"]  # the same decomposer, recorded or live
    live, replay = cells["a"]["cost"]["decomposer"], cells["taught"]["cost"]["decomposer"]
    assert replay["backend"] == "replay" and replay["replayed"] == LIMIT and replay["generated"] == 0
    assert (replay["prompt_tokens"], replay["completion_tokens"]) == (live["prompt_tokens"], live["completion_tokens"])
    assert replay["flops"] == 2 * 1000 * (replay["prompt_tokens"] + replay["completion_tokens"])
    _same_solver_side(Path(cells["a"]["output_dir"]), Path(cells["taught"]["output_dir"]))
    # A study cell folder is a recording too.
    cell_dir = tmp_path / "out" / "cells" / cells["a"]["id"]
    lm = two_stage(tiny_model, "replay", **{"decomposer.path": str(cell_dir)})
    again = run_files(evaluate(lm, tmp_path / "from-cell"), "traces")
    live_traces = run_files(Path(cells["a"]["output_dir"]), "traces")
    assert [(t["subquestions"], t["decomposer"]["output"]) for t in again] == [
        (t["subquestions"], t["decomposer"]["output"]) for t in live_traces
    ]
    assert all(str(cell_dir) in t["decomposer"]["replayed_from"] for t in again)


@pytest.mark.unit
def test_a_study_replay_model_is_a_decomposer_with_a_path(tmp_path):
    from harness_ext.study.spec import load_study

    def study(**models) -> Path:
        spec = tmp_path / "s.yaml"
        body = {"tasks": [TASK], "models": {"a": {"backend": "hf", "args": {"pretrained": "x"}}, **models}}
        spec.write_text(yaml.safe_dump({**body, "decomposers": ["r"], "solvers": ["a"]}))
        return spec

    assert load_study(study(r={"backend": "replay", "path": "run"})).models["r"].args == {"path": "run"}
    for entry in (
        {"backend": "replay"},
        {"backend": "hf", "path": "run"},
        {"backend": "replay", "path": "r", "args": {"x": 1}},
    ):
        with pytest.raises(DQError, match="backend: replay, path: RUN_DIR"):
            load_study(study(r=entry))
    spec = tmp_path / "t.yaml"
    spec.write_text(yaml.safe_dump({"tasks": [TASK], "models": {"r": {"backend": "replay", "path": "run"}},
                                    "decomposers": ["r"], "solvers": ["r"]}))  # fmt: skip
    with pytest.raises(DQError, match="decomposers only"):
        load_study(spec)
