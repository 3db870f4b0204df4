"""Under --apply_chat_template, two_stage with no decomposer is the solver on lm-eval's own
requests: the same contexts in the samples file and the same answers as lm-eval's `hf` model,
for loglikelihood (multiple choice) and for generation with a task `gen_prefix` (the prefix is
an assistant turn the model continues, ``add_generation_prompt=False``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROWS = [{"q": f"{a}+{b}?", "choices": [str(a + b), str(a + b + 1)], "label": 0} for a, b in ((1, 1), (2, 3), (4, 4))]
COMMON = """dataset_path: json
dataset_kwargs: {{data_files: {{test: {data}}}}}
test_split: test
doc_to_text: "Question: {{{{q}}}}"
"""
TASKS = {
    "tiny_mc": "output_type: multiple_choice\ndoc_to_choice: '{{choices}}'\ndoc_to_target: label\n"
    "metric_list: [{metric: acc}]\n",
    "tiny_prefix": "output_type: generate_until\ndoc_to_target: '{{choices[label]}}'\ngen_prefix: 'Answer:'\n"
    "generation_kwargs: {until: ['\\n'], max_gen_toks: 5, do_sample: false}\nmetric_list: [{metric: exact_match}]\n",
}


@pytest.fixture(scope="module")
def task_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("chat-tasks")
    (folder / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    for name, body in TASKS.items():
        (folder / f"{name}.yaml").write_text(f"task: {name}\n" + COMMON.format(data=folder / "data.jsonl") + body)
    return folder


def _run(lm, task_dir: Path, out: Path) -> dict[str, list[dict]]:
    from lm_eval.tasks import TaskManager

    from harness_ext.lmeval.runner import evaluate_and_save

    manager = TaskManager(include_path=str(task_dir), include_defaults=False)
    _, folder = evaluate_and_save(lm, list(TASKS), out, manager=manager, apply_chat_template=True)
    return {t: [json.loads(x) for x in next(folder.glob(f"samples_{t}_*.jsonl")).open()] for t in TASKS}


def _seen(rows: list[dict]) -> list[tuple]:
    return [(r["doc_id"], json.dumps(r["arguments"]), json.dumps(r["resps"])) for r in rows]


def test_no_decomposer_under_chat_equals_lm_evals_hf(tiny_model, task_dir, tmp_path):
    from lm_eval.models.huggingface import HFLM

    from harness_ext.lmeval.chat import CHAT_MARK
    from tests.conftest import make

    ours = _run(make(tiny_model, "none"), task_dir, tmp_path / "two_stage")
    theirs = _run(HFLM(pretrained=tiny_model, batch_size=4, device="cpu"), task_dir, tmp_path / "hf")
    for task in TASKS:
        assert _seen(ours[task]) == _seen(theirs[task]), task
        assert CHAT_MARK not in json.dumps([r["arguments"] for r in ours[task]])
    # the prefix is continued, not closed: the context ends inside the assistant's turn
    context = ours["tiny_prefix"][0]["arguments"]["gen_args_0"]["arg_0"]
    assert context.rstrip().endswith("Answer:"), context
