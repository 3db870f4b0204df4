"""dq distill: export from real two_stage runs on disk, the contamination guard, and training.

The teacher runs go through lm-eval end to end (simple_evaluate + EvaluationTracker, as the CLI
does): the tiny random Llama decomposes, and a scripted solver ("parrot") answers the gold number
on some docs and a wrong one on the others, so per-doc correctness comes from lm-eval's real
scoring of real samples files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from lm_eval.api.model import LM
from lm_eval.api.registry import register_model

from harness_ext.distill import main as distill_main
from harness_ext.distill.export import build_rows, load_teacher_run, numbered, replace_final_answer, stage_prompt
from harness_ext.distill.guard import check_rows, normalize_question
from harness_ext.errors import DQError

TASK = "dq_synth_d2"
LIMIT = 6


@register_model("dq_test_parrot")
class Parrot(LM):
    """Solver that is right exactly on docs with doc_id % modulus == 0."""

    def __init__(self, modulus: int = 2, **kwargs) -> None:
        super().__init__()
        self.modulus = int(modulus)

    @property
    def tokenizer_name(self) -> str:
        return "parrot"

    def chat_template(self, chat_template=False) -> str:
        return "parrot"

    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        out = []
        for r in requests:
            gold = int(r.doc["answers"][0])
            answer = gold if r.doc_id % self.modulus == 0 else gold + 1
            out.append(f"First, {r.doc_id} steps.\nThe answer is: {answer}")
        return out

    def apply_chat_template(self, chat_history, add_generation_prompt: bool = True) -> str:
        return "\n".join(m["content"] for m in chat_history)

    def loglikelihood(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError


def run_eval(out: Path, tasks_dir: Path, model_args: dict, metadata: dict | None = None) -> Path:
    import lm_eval
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.tasks import TaskManager

    import harness_ext.lmeval.two_stage  # noqa: F401  registers two_stage and the trace hook

    tracker = EvaluationTracker(output_path=str(out))
    results = lm_eval.simple_evaluate(
        model="two_stage",
        model_args=model_args,
        tasks=[TASK],
        limit=LIMIT,
        log_samples=True,
        evaluation_tracker=tracker,
        apply_chat_template=True,
        metadata=metadata,
        task_manager=TaskManager(include_path=str(tasks_dir), include_defaults=False, metadata=metadata),
    )
    samples = results.pop("samples")
    tracker.save_results_aggregated(results=results, samples=samples)
    for name in results["configs"]:
        tracker.save_results_samples(task_name=name, samples=samples[name])
    return out


@pytest.fixture(scope="module")
def runs(tiny_model, tasks_dir, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("teacher-runs")
    model = {
        "decomposer": "hf",
        "decomposer.pretrained": tiny_model,
        "decomposer_gen.max_gen_toks": 24,
        "solver": "dq_test_parrot",
        "solver.modulus": 2,
        "batch_size": 8,
        "device": "cpu",
    }
    oracle = {"decomposer": "oracle", "solver": "dq_test_parrot", "solver.modulus": 3}
    return {"hf": run_eval(root / "hf", tasks_dir, model), "oracle": run_eval(root / "oracle", tasks_dir, oracle)}


def samples_of(run: Path) -> dict[int, dict]:
    (f,) = run.glob(f"*/samples_{TASK}_*.jsonl")
    return {r["doc_id"]: r for r in map(json.loads, f.read_text().splitlines())}


def traces_of(run: Path) -> dict[int, dict]:
    (f,) = run.glob(f"*/traces_{TASK}_*.jsonl")
    return {r["doc_id"]: r for r in map(json.loads, f.read_text().splitlines())}


def exported(run: Path, variant: str, tmp_path: Path) -> Path:
    """The run's rows of one variant, written by the real `dq distill export`."""
    rows = tmp_path / "rows.jsonl"
    assert distill_main(["export", "--run", str(run), "--variant", variant, "--out", str(rows)]) == 0
    return rows


def train_argv(rows: Path, base: str, out: Path) -> list[str]:
    return ["train", "--data", str(rows), "--base", base, "--out", str(out)]


def export_rows(tmp_path: Path, *args: str) -> list[dict]:
    out = tmp_path / "rows.jsonl"
    assert distill_main(["export", *args, "--out", str(out)]) == 0
    return [json.loads(line) for line in out.read_text().splitlines()]


# --------------------------------------------------------------------------- export
def test_sd_t_rows_every_doc_raw_prompt_and_numbered_target(runs, tmp_path):
    rows = export_rows(tmp_path, "--run", str(runs["hf"]), "--variant", "sd-t")
    samples, traces = samples_of(runs["hf"]), traces_of(runs["hf"])
    assert sorted(r["doc_id"] for r in rows) == sorted(samples) == list(range(LIMIT))
    teacher = load_teacher_run(runs["hf"])
    for row in rows:
        trace, sample = traces[row["doc_id"]], samples[row["doc_id"]]
        user, assistant = (m["content"] for m in row["messages"])
        assert [m["role"] for m in row["messages"]] == ["user", "assistant"]
        assert row["doc_hash"] == sample["doc_hash"] and row["task"] == TASK
        assert row["question"] == sample["doc"]["question"]
        # The raw decompose prompt: no chat markup, and inside the prompt actually sent.
        assert user.startswith("Your task is to split a math word problem") and "<|user|>" not in user
        assert user in trace["decomposer"]["prompt"] and trace["decomposer"]["prompt"].startswith("<|user|>")
        assert user == stage_prompt(teacher.config, teacher.docs[TASK][row["doc_id"]], "decompose")
        assert assistant == numbered(trace["subquestions"])
    assert numbered([]) == "No decomposition"
    assert numbered(["How many a?", "How many b?"]) == "1. How many a?\n2. How many b?"


def test_oracle_run_is_a_teacher_with_gold_subquestions(runs, tmp_path):
    rows = export_rows(tmp_path, "--run", str(runs["oracle"]), "--variant", "sd-t")
    samples = samples_of(runs["oracle"])
    for row in rows:
        assert row["messages"][1]["content"] == numbered(samples[row["doc_id"]]["doc"]["gold_subquestions"])


def test_sd_r_keeps_exactly_the_correct_docs(runs, tmp_path):
    correct = {d for d, s in samples_of(runs["hf"]).items() if s["exact_match"] == 1.0}
    assert correct == {0, 2, 4}  # the parrot (modulus 2), as lm-eval scored it
    rows = export_rows(tmp_path, "--run", str(runs["hf"]), "--variant", "sd-r")
    assert {r["doc_id"] for r in rows} == correct and len(rows) == len(correct)


def test_sd_r_fallback_run_adds_its_correct_docs_with_its_decomposition(runs, tmp_path):
    second = {d for d, s in samples_of(runs["oracle"]).items() if s["exact_match"] == 1.0}
    assert second == {0, 3}
    rows = export_rows(tmp_path, "--run", str(runs["hf"]), "--variant", "sd-r", "--fallback-run", str(runs["oracle"]))
    assert sorted(r["doc_id"] for r in rows) == [0, 2, 3, 4]
    (row3,) = [r for r in rows if r["doc_id"] == 3]
    gold = samples_of(runs["oracle"])[3]["doc"]["gold_subquestions"]
    assert row3["messages"][1]["content"] == numbered(gold) and row3["teacher"].startswith("oracle/")


def test_se_t_is_the_solution_and_se_a_swaps_only_the_final_answer(runs, tmp_path):
    se_t = {r["doc_id"]: r for r in export_rows(tmp_path, "--run", str(runs["hf"]), "--variant", "se-t")}
    se_a = {r["doc_id"]: r for r in export_rows(tmp_path, "--run", str(runs["hf"]), "--variant", "se-a")}
    samples, traces = samples_of(runs["hf"]), traces_of(runs["hf"])
    for doc_id, sample in samples.items():
        teacher = se_t[doc_id]["messages"][1]["content"]
        gold_version = se_a[doc_id]["messages"][1]["content"]
        assert teacher == traces[doc_id]["solver"]["output"].strip()
        assert se_a[doc_id]["messages"][0] == se_t[doc_id]["messages"][0]
        head = f"First, {doc_id} steps.\nThe answer is: "
        assert teacher.startswith(head) and gold_version == head + sample["target"]
        assert (teacher == gold_version) == (sample["exact_match"] == 1.0)
        assert se_t[doc_id]["messages"][0]["content"].startswith("Question:")  # the solve/single prompt


def test_se_g_is_the_gold_step_by_step_solution_under_the_solve_prompt(runs, tmp_path):
    from dq_tasks.synth import gold_solution

    rows = {r["doc_id"]: r for r in export_rows(tmp_path, "--run", str(runs["oracle"]), "--variant", "se-g")}
    samples = samples_of(runs["oracle"])
    assert set(rows) == set(samples)
    for doc_id, sample in samples.items():
        doc, reply = sample["doc"], rows[doc_id]["messages"][1]["content"]
        assert reply == gold_solution(doc) and reply.endswith(f"The answer is: {sample['target']}")
        # one numbered step per gold equation, each naming the step's result
        for i, equation in enumerate(doc["gold_equations"], 1):
            assert f"{i}. " in reply and equation in reply
        prompt = rows[doc_id]["messages"][0]["content"]
        assert all(q in prompt for q in doc["gold_subquestions"]) and rows[doc_id]["teacher"] == "gold"


def test_gold_solution_only_for_docs_with_gold_steps():
    from dq_tasks.synth import gold_solution

    doc = {
        "gold_subquestions": ["How many toy cars does Ben have?"],
        "gold_equations": ["3 * 2 = 6"],
        "answers": ["6"],
    }
    assert gold_solution(doc) == "1. Ben has 3 * 2 = 6 toy cars. The answer is: 6"
    assert gold_solution({"answers": ["6"], "gold_subquestions": []}) is None  # e.g. GSM8K
    assert gold_solution({**doc, "gold_subquestions": ["What is Ben's total?"]}) is None
    assert gold_solution({**doc, "gold_equations": []}) is None


def test_replace_final_answer_edges():
    text = "The answer is: 3 apples.\nThen more.\nSo the answer is 12.\nDone"
    assert replace_final_answer(text, "14") == "The answer is: 3 apples.\nThen more.\nSo the answer is: 14\nDone"
    assert replace_final_answer("No marker here", "7") == "No marker here\nThe answer is: 7"


def test_export_errors_are_clear(runs, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(runs["hf"], broken)
    for f in broken.glob("*/traces_*.jsonl"):
        f.unlink()
    with pytest.raises(DQError, match="no traces_dq_synth_d2"):
        load_teacher_run(broken)
    for f in broken.glob("*/samples_*.jsonl"):
        f.unlink()
    with pytest.raises(DQError, match="--log_samples"):
        load_teacher_run(broken)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DQError, match="no lm-eval results"):
        load_teacher_run(tmp_path / "empty")
    with pytest.raises(DQError, match="no such file"):
        load_teacher_run(tmp_path / "missing")
    from harness_ext.cli import main as dq_main

    assert dq_main(["distill", "export", "--run", str(broken), "--variant", "sd-t", "--out", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()


# --------------------------------------------------------------------------- guard
def synth_rows(split: str, n: int = 3) -> list[dict]:
    from dq_tasks.synth import generate

    return [
        {
            "messages": [{"role": "user", "content": d["question"]}, {"role": "assistant", "content": "x"}],
            "task": TASK,
            "doc_id": i,
            "doc_hash": f"not-a-hash-{i}",
            "question": d["question"],
        }
        for i, d in enumerate(generate(2, n=n, split=split))
    ]


def test_guard_catches_test_docs_by_hash_and_by_normalized_question(runs):
    exported, _ = build_rows(load_teacher_run(runs["hf"]), "sd-t")
    with pytest.raises(DQError, match=rf"contamination: {LIMIT} rows overlap {TASK}"):
        check_rows(exported, None)
    by_hash_only = [{**r, "question": "unrelated"} for r in exported]
    with pytest.raises(DQError, match="contamination"):
        check_rows(by_hash_only, [TASK])
    reworded = [{**r, "question": "  " + r["question"].upper().replace(" ", "  ")} for r in synth_rows("test")]
    assert normalize_question(reworded[0]["question"]) == normalize_question(synth_rows("test")[0]["question"])
    with pytest.raises(DQError, match="contamination: 3 rows"):
        check_rows(reworded, [TASK])
    assert check_rows(exported, [TASK], allow_overlap=True) == [
        f"guard: {LIMIT} rows overlap {TASK} (doc_id 0, 1, 2, 3, 4 and 1 more) (allowed)"
    ]


def test_guard_passes_train_split_and_honours_eval_metadata():
    assert check_rows(synth_rows("train"), [TASK]) == [f"guard: 0 rows overlap {TASK}"]
    # Evaluating on the train split itself (via --metadata) makes the same rows contaminated.
    with pytest.raises(DQError, match="contamination"):
        check_rows(synth_rows("train"), [TASK], metadata={"synth_split": "train", "synth_n": 5})


def test_train_refuses_overlap_before_loading_anything(runs, tmp_path):
    rows = exported(runs["hf"], "sd-t", tmp_path)
    with pytest.raises(DQError, match="contamination"):
        distill_main(["train", "--data", str(rows), "--base", "/nonexistent", "--out", str(tmp_path / "s")])
    assert not (tmp_path / "s").exists()


# --------------------------------------------------------------------------- training
def test_format_example_masks_everything_but_the_reply(tiny_model):
    from transformers import AutoTokenizer

    from harness_ext.distill.train import IGNORE, format_example

    tok = AutoTokenizer.from_pretrained(tiny_model)
    msgs = [{"role": "user", "content": "Question: Ann has 5 pens."}, {"role": "assistant", "content": "1. How many?"}]
    ex, truncated = format_example(tok, msgs, 512)
    prompt = tok.apply_chat_template(msgs[:1], add_generation_prompt=True, tokenize=False)
    n_prompt = len(tok(prompt, add_special_tokens=False)["input_ids"])
    assert not truncated and ex.labels[:n_prompt] == [IGNORE] * n_prompt
    assert tok.decode(ex.labels[n_prompt:]) == "1. How many?\n" and ex.input_ids[n_prompt:] == ex.labels[n_prompt:]
    assert format_example(tok, msgs, n_prompt) == (None, True)  # nothing of the reply left


def test_train_writes_a_loadable_student_decomposer(runs, tiny_model, tmp_path):
    from transformers import AutoModelForCausalLM

    rows = exported(runs["hf"], "sd-t", tmp_path)
    out = tmp_path / "student"
    argv = [
        *train_argv(rows, tiny_model, out),
        "--max-steps",
        "3",
        "--batch-size",
        "2",
        "--max-length",
        "2048",
        "--lr",
        "1e-3",
        "--seed",
        "1",
        "--val-fraction",
        "0.34",
        "--eval-every",
        "2",
        "--allow-overlap",
    ]
    assert distill_main(argv) == 0
    log = json.loads((out / "distill_log.json").read_text())
    assert log["steps"] == 3 and log["train_rows"] == 4 and log["val_rows"] == 2 and log["dropped_rows"] == 0
    assert len(log["train_loss"]) == 3 and [s for s, _ in log["val_loss"]] == [0, 2, 3]
    # cost: 3 steps x batch 2 of this run's rows, padding excluded; FLOPs = 6 x parameters x tokens
    assert 6 * 3 * 2 <= log["tokens_seen"] <= 3 * 2 * 2048
    params = sum(p.numel() for p in AutoModelForCausalLM.from_pretrained(out).parameters())
    assert log["train_flops"] == pytest.approx(6 * params * log["tokens_seen"], rel=0.05)
    assert (out / "loss.png").stat().st_size > 1000
    AutoModelForCausalLM.from_pretrained(out)
    # Same seed, same data: the same run again replaces the old student with identical losses.
    assert distill_main(argv) == 0
    assert json.loads((out / "distill_log.json").read_text())["train_loss"] == log["train_loss"]

    from harness_ext.lmeval.two_stage import TwoStageLM
    from tests.conftest import requests

    lm = TwoStageLM(
        **{
            "decomposer": "hf",
            "decomposer.pretrained": str(out),
            "decomposer_gen.max_gen_toks": 6,
            "solver": "hf",
            "solver.pretrained": tiny_model,
            "batch_size": 2,
            "device": "cpu",
        }
    )
    docs = [{"question": "Ann has 3 pens. How many?", "context": "", "answers": ["3"], "gold_subquestions": []}] * 2
    assert len(lm.generate_until(requests(docs))) == 2
    assert "Sub-questions" in lm.traces_for(TASK)[0]["decomposer"]["prompt"]


def test_lora_student_is_merged_and_loads_without_peft(runs, tiny_model, tmp_path):
    pytest.importorskip("peft")
    from transformers import AutoModelForCausalLM

    rows = exported(runs["hf"], "se-a", tmp_path)
    out = tmp_path / "lora"
    assert (
        distill_main(
            [
                *train_argv(rows, tiny_model, out),
                "--lora",
                "--max-steps",
                "1",
                "--val-fraction",
                "0",
                "--allow-overlap",
            ]
        )
        == 0
    )
    assert not (out / "adapter_config.json").exists()
    AutoModelForCausalLM.from_pretrained(out)


def test_train_input_errors(tmp_path, tiny_model):
    with pytest.raises(DQError, match="no such file"):
        distill_main(
            ["train", "--data", str(tmp_path / "nope.jsonl"), "--base", tiny_model, "--out", str(tmp_path / "o")]
        )
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    with pytest.raises(DQError, match="assistant turn"):
        distill_main(["train", "--data", str(bad), "--base", tiny_model, "--out", str(tmp_path / "o")])
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "important.txt").write_text("x")
    with pytest.raises(DQError, match="not a previous"):
        distill_main(["train", "--data", str(bad), "--base", tiny_model, "--out", str(tmp_path / "keep")])


def test_se_g_refuses_docs_without_gold_steps(runs):
    run = load_teacher_run(runs["oracle"])
    rec = next(iter(run.docs[TASK].values()))
    rec.doc["gold_equations"] = []
    with pytest.raises(DQError, match="no gold step-by-step solution"):
        build_rows(run, "se-g")


def test_killed_training_resumes_from_its_checkpoint(runs, tiny_model, tmp_path):
    """A real interruption: the training process is killed once a checkpoint exists; --resume
    finishes the same run, and the curve covers every step once."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from harness_ext.distill.examples import checkpoint_dir

    rows, out = exported(runs["hf"], "sd-t", tmp_path), tmp_path / "student"
    argv = [*train_argv(rows, tiny_model, out), "--max-steps", "400"]
    argv += ["--batch-size", "2", "--max-length", "2048", "--save-every", "3", "--val-fraction", "0.2"]
    argv += ["--eval-every", "100", "--allow-overlap"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "harness_ext.cli", "distill", *argv], env=env)
    ckpt = checkpoint_dir(out)
    deadline = time.monotonic() + 300
    while not list(ckpt.glob("checkpoint-*/trainer_state.json")) and proc.poll() is None:
        assert time.monotonic() < deadline, "no checkpoint written"
        time.sleep(0.2)
    time.sleep(0.5)  # let the checkpoint finish writing (the newest complete one is used)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists(), "a killed run must not leave a student behind"
    complete = sorted(int(p.parent.name.split("-")[1]) for p in ckpt.glob("checkpoint-*/trainer_state.json"))
    assert complete and complete[-1] < 400
    # A kill mid-save leaves newer folders without (or with a cut-off) trainer_state.json, as
    # CI once saw; whatever this kill left, add both kinds so resume must skip them.
    newest = ckpt / f"checkpoint-{complete[-1]}"
    for step, state in ((complete[-1] + 1, None), (complete[-1] + 2, '{"global_step": ')):
        shutil.copytree(newest, ckpt / f"checkpoint-{step}")
        (ckpt / f"checkpoint-{step}" / "trainer_state.json").unlink()
        if state is not None:
            (ckpt / f"checkpoint-{step}" / "trainer_state.json").write_text(state)
    assert distill_main([*argv, "--resume"]) == 0
    log = json.loads((out / "distill_log.json").read_text())
    assert log["resumed_from"] == str(newest) and log["steps"] == 400
    assert [s for s, _ in log["train_loss"]] == list(range(1, 401))
    assert not ckpt.exists()  # the finished student replaces its checkpoints
    with pytest.raises(DQError, match="no checkpoint"):
        distill_main([*argv, "--resume"])


def test_mixed_precision_needs_a_gpu(runs, tiny_model, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present: bf16/fp16 are valid here")
    rows = exported(runs["hf"], "sd-t", tmp_path)
    argv = [*train_argv(rows, tiny_model, tmp_path / "s"), "--allow-overlap"]
    with pytest.raises(DQError, match="fp16 needs a CUDA GPU"):
        distill_main([*argv, "--precision", "fp16"])
    assert not (tmp_path / "s").exists()


def test_guard_without_row_identity_refuses_unless_overlap_is_allowed():
    hand_written = [{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}]
    with pytest.raises(DQError, match="needs --eval-task"):
        check_rows(hand_written, None)
    with pytest.raises(DQError, match="neither doc_hash nor question"):
        check_rows(hand_written, ["dq_synth_easy_d2"])
    (note,) = check_rows(hand_written, ["dq_synth_easy_d2"], allow_overlap=True)
    assert note.startswith("guard not run:") and note.endswith("(--allow-overlap)")
