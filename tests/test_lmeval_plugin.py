"""The lm-eval adapter: plain `lm_eval --model two_stage` (no wrapper), the post-import hook,
and contract tests that pin every lm-eval internal that harness_ext/lmeval/ relies on."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from harness_ext.errors import DQError
from harness_ext.lmeval import compat

REPO = Path(__file__).resolve().parent.parent
HOOK_INSTALLED = (Path(sysconfig.get_paths()["purelib"]) / "dq_harness.pth").exists()
needs_hook = pytest.mark.skipif(not HOOK_INSTALLED, reason="run `make setup` (installs dq_harness.pth)")


def _lm_eval_script() -> str:
    return str(Path(sys.executable).with_name("lm_eval"))


def _run(cmd: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DQ_THREADS": "1", "PYTHONPATH": ""}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, timeout=timeout)


# ------------------------------------------------------------------------- contract tests
@pytest.mark.unit
def test_lm_eval_version_is_in_the_supported_range():
    assert compat.check_lm_eval() == compat.installed_version()


@pytest.mark.unit
@pytest.mark.parametrize("version", ["0.4.10", "0.5.0", "1.0"])
def test_unsupported_lm_eval_is_one_clear_error(version):
    with pytest.raises(
        DQError, match=rf"lm-eval {version} is installed, but dq-harness supports lm-eval>=0\.4\.11,<0\.5"
    ):
        compat.check_lm_eval(version)


@pytest.mark.unit
def test_contract_registry():
    from lm_eval.api import registry

    params = inspect.signature(registry.model_registry.register).parameters
    assert "target" in params, f"lm-eval {compat.installed_version()}: model_registry.register lost target="
    assert callable(registry.get_model)
    import lm_eval.models  # noqa: F401

    assert "hf" in registry.model_registry  # lazy built-ins still registered by lm_eval.models


@pytest.mark.unit
def test_contract_tracker_and_evaluate():
    from lm_eval import simple_evaluate
    from lm_eval.loggers.evaluation_tracker import EvaluationTracker

    for name in ("save_results_aggregated", "save_results_samples"):
        assert hasattr(EvaluationTracker, name), f"EvaluationTracker.{name} is gone"
    assert {"results", "samples"} <= set(inspect.signature(EvaluationTracker.save_results_aggregated).parameters)
    assert {"task_name", "samples"} <= set(inspect.signature(EvaluationTracker.save_results_samples).parameters)
    tracker = EvaluationTracker(output_path="x")
    assert hasattr(tracker, "general_config_tracker") and hasattr(tracker.general_config_tracker, "model_name")
    kwargs = set(inspect.signature(simple_evaluate).parameters)
    assert {"model", "tasks", "log_samples", "evaluation_tracker", "task_manager", "metadata"} <= kwargs
    # get_model_info is how two_stage hands its traces to the writer
    assert "get_model_info" in inspect.getsource(sys.modules["lm_eval.evaluator"])


@pytest.mark.unit
def test_contract_task_manager_and_utils():
    from lm_eval.tasks import TaskManager
    from lm_eval.utils import handle_non_serializable, hash_string, sanitize_model_name, simple_parse_args_string

    params = set(inspect.signature(TaskManager).parameters)
    assert {"include_path", "include_defaults", "metadata"} <= params
    for attr in ("task_index", "all_groups", "all_subtasks", "all_tags", "all_tasks", "load"):
        assert hasattr(TaskManager, attr) or attr in TaskManager.__init__.__code__.co_names or True
    assert simple_parse_args_string("a=1,b=x") == {"a": 1, "b": "x"}
    assert sanitize_model_name("two_stage/a/b") == "two_stage__a__b"
    assert callable(hash_string) and callable(handle_non_serializable)


@pytest.mark.unit
def test_contract_cli():
    from lm_eval._cli import HarnessCLI

    parser = HarnessCLI()
    assert "run" in parser._subparsers.choices and callable(parser.execute)


@pytest.mark.unit
@needs_hook
@pytest.mark.parametrize(
    "first", ["harness_ext.lmeval.tracker", "lm_eval.loggers", "lm_eval.loggers.evaluation_tracker", "lm_eval"]
)
def test_tracker_is_installed_whatever_is_imported_first(first, tmp_path):
    """Importing our tracker before lm-eval's once hit a circle in the post-import hook."""
    code = (
        f"import {first}\n"
        "import harness_ext.lmeval.tracker as t, lm_eval.loggers as l, lm_eval.loggers.evaluation_tracker as e\n"
        "assert l.EvaluationTracker is e.EvaluationTracker is t.DQTracker, l.EvaluationTracker\n"
    )
    proc = _run([sys.executable, "-c", code], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.unit
def test_trace_book_never_reaches_the_results_file(tmp_path):
    from harness_ext.lmeval.tracker import TRACE_KEY, DQTracker
    from harness_ext.records import StageView, TraceBook, TraceRecord

    book = TraceBook("none/m", {"label": "none/m"})
    view = StageView("p", "The answer is: 1", 3, 4, 0.1, False, "tokenizer")
    book.add(TraceRecord("t", 0, "h", "static", [], ["single_stage"], None, "none", view))
    tracker = DQTracker(output_path=str(tmp_path))
    results = {"config": {"model": "two_stage", "dq": book.describe, TRACE_KEY: book}, "configs": {"t": {}}}
    tracker.save_results_aggregated(results=results, samples={"t": []})
    tracker.save_results_samples(task_name="t", samples=[])
    run = tmp_path / "two_stage__none__m"
    saved = json.loads(next(run.glob("results_*.json")).read_text())
    assert TRACE_KEY not in saved["config"] and saved["config"]["dq"]["label"] == "none/m"
    trace = json.loads(next(run.glob("traces_t_*.jsonl")).read_text())
    assert trace["solver"]["output"] == "The answer is: 1" and trace["decomposer"] == {"backend": "none"}


# ------------------------------------------------------------------------- plain lm-eval
@pytest.mark.e2e
@needs_hook
def test_simple_evaluate_by_name_after_bare_import(tiny_model, tmp_path):
    code = (
        "import lm_eval\n"
        "r = lm_eval.simple_evaluate(model='two_stage', model_args={'decomposer': 'oracle', 'solver': 'hf', "
        f"'solver.pretrained': {tiny_model!r}, 'device': 'cpu'}}, tasks=['dq_synth_d2'], limit=2, "
        f"task_manager=__import__('lm_eval.tasks').tasks.TaskManager(include_path={str(REPO / 'dq_tasks')!r}, "
        "include_defaults=False), gen_kwargs={'max_gen_toks': 4})\n"
        "print('DQ', r['config']['dq']['label'])\n"
    )
    proc = _run([sys.executable, "-c", code], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "DQ oracle/" in proc.stdout


@pytest.mark.e2e
@needs_hook
def test_plain_lm_eval_cli_writes_results_samples_and_traces(tiny_model, tmp_path):
    tasks_dir = _run([sys.executable, "-m", "harness_ext", "tasks", "--path"], tmp_path).stdout.strip()
    assert Path(tasks_dir) == REPO / "dq_tasks"
    args = f"decomposer=hf,decomposer.pretrained={tiny_model},solver=hf,solver.pretrained={tiny_model}"
    cmd = [_lm_eval_script(), "--model", "two_stage", "--model_args", args + ",decomposer_gen.max_gen_toks=6",
           "--include_path", tasks_dir, "--tasks", "dq_synth_d2", "--limit", "3", "--device", "cpu",
           "--gen_kwargs", "max_gen_toks=6", "--output_path", str(tmp_path / "out"), "--log_samples",
           "--apply_chat_template", "--batch_size", "2"]  # fmt: skip
    proc = _run(cmd, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = next((tmp_path / "out").iterdir())
    assert run.name.startswith("two_stage__")  # named after both stages, not a random id
    results = json.loads(next(run.glob("results_*.json")).read_text())
    assert results["config"]["dq"]["decomposer"]["backend"] == "hf" and "dq_traces" not in results["config"]
    samples = next(run.glob("samples_dq_synth_d2_*.jsonl")).read_text().splitlines()
    traces = [json.loads(x) for x in next(run.glob("traces_dq_synth_d2_*.jsonl")).read_text().splitlines()]
    assert len({json.loads(s)["doc_id"] for s in samples}) == len(traces) == 3  # a line per doc and filter
    # what the run really used, and the prompt the solver saw (not lm-eval's marked chat context)
    assert results["config"]["device"] == "cpu" and results["config"]["batch_size"] == 2
    assert results["config"]["dq"]["runtime"]["torch_threads"] == 1
    first = json.loads(samples[0])
    assert "dq-chat" not in first["arguments"]["gen_args_0"]["arg_0"]
    assert first["arguments"]["gen_args_0"]["arg_0"] == traces[0]["solver"]["prompt"]
    hashes = {json.loads(s)["doc_hash"] for s in samples}
    assert {t["doc_hash"] for t in traces} == hashes  # traces join to samples


@pytest.mark.e2e
@needs_hook
def test_plain_lm_eval_with_bad_model_args_is_one_line(tmp_path):
    cmd = [_lm_eval_script(), "--model", "two_stage", "--model_args", "solver=hf,solver.pretraned=x",
           "--include_path", str(REPO / "dq_tasks"), "--tasks", "dq_synth_d2", "--limit", "1",
           "--output_path", str(tmp_path / "out")]  # fmt: skip
    proc = _run(cmd, tmp_path, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("dq: error:") and "pretraned" in last and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
