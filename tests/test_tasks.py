"""dq task YAMLs load through lm-eval, with the promised doc counts and schema; the synthetic
generator is deterministic and correct; a missing data file gives one clear error."""

from __future__ import annotations

import ast
import json
import operator
import os
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("DQ_DATA_DIR", str((REPO / ".." / "shared" / "data").resolve()))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import dq_tasks  # noqa: E402
from dq_tasks import hooks, loaders, registry, synth  # noqa: E402
from dq_tasks.constants import DEFAULT_CAP  # noqa: E402
from dq_tasks.extract import SECTION_HEADERS  # noqa: E402
from dq_tasks.registry import GROUPS, SUBTASKS, TASKS  # noqa: E402

pytestmark = pytest.mark.unit
EXPECTED = {t.name: t.docs for t in TASKS}
# lm-eval task names: gsmplus_dq is a group of its per-perturbation subtasks.
LEAF_TASKS = sorted((set(EXPECTED) - set(SUBTASKS)) | {n for names in SUBTASKS.values() for n in names})
WITH_GOLD_SUBQ = {"gsm8k_dq", "strategyqa_dq", "bamboogle_dq", "dq_synth_d2", "dq_synth_d4", "dq_synth_d6"} | {
    f"dq_synth_easy_d{d}" for d in (1, 2, 3)
}


@pytest.fixture(scope="module")
def task_dict() -> dict:
    """Every dq task built by lm-eval from dq_tasks/ (built-in tasks skipped to keep it fast)."""
    from lm_eval.tasks import TaskManager, get_task_dict

    manager = TaskManager(include_path=str(REPO / "dq_tasks"), include_defaults=False)
    with warnings.catch_warnings():  # get_task_dict is deprecated in 0.4.13 but still what `dq eval` uses
        warnings.simplefilter("ignore", DeprecationWarning)
        return get_task_dict(LEAF_TASKS, manager)


@pytest.fixture(scope="module")
def docs(task_dict: dict) -> dict[str, list[dict]]:
    by_task = {name: list(task.test_docs()) for name, task in task_dict.items()}
    for group, members in SUBTASKS.items():  # the group's docs, in subtask order
        by_task[group] = [d for m in members for d in by_task.pop(m)]
    return by_task


def _filtered(task, doc: dict, reply: str) -> dict[str, str]:
    """Run the task's own lm-eval filters on one reply, as lm-eval's evaluator does."""
    from lm_eval.api.instance import Instance

    inst = Instance("generate_until", doc, ("prompt", {}), 0, (task.config.task, 0, 1))
    inst.resps = [reply]
    for ensemble in task._filters:
        ensemble.apply([inst])
    return dict(inst.filtered_resps)


def test_table_lists_every_task() -> None:
    paper = {"gsm8k_dq", "drop_dq", "bamboogle_dq"}
    others = {"strategyqa_dq", "svamp_dq", "multiarith_dq", "aqua_dq", "gsm_hard_dq", "gsmplus_dq", "asdiv_dq"}
    synth = {f"dq_synth_d{d}" for d in (2, 4, 6)} | {f"dq_synth_easy_d{d}" for d in (1, 2, 3)}
    assert set(EXPECTED) == paper | others | synth
    assert set(GROUPS["dq_paper"]) == {"gsm8k_dq", "drop_dq", "bamboogle_dq"}
    assert set(GROUPS["dq_all"]) == set(EXPECTED)
    rows = dq_tasks.catalog()
    assert [r["name"] for r in rows] == [t.name for t in TASKS]
    assert {"name", "source", "hub", "license", "docs", "metrics", "gold_subquestions"} <= set(rows[0])
    table = (REPO / "dq_tasks" / "TASKS.md").read_text()
    for t in TASKS:  # TASKS.md is generated from the registry; keep them in step
        assert f"| `{t.name}` | {t.family} | `{t.source}` |" in table and f"| {t.docs} |" in table


def test_task_table_owns_readers_families_and_fewshot_splits() -> None:
    """Every per-task fact has one owner, the registry: loaders, prompt families and the few-shot
    error message derive from it."""
    from dq_tasks.prompting import get_prompt_set

    prompts = get_prompt_set("default")
    for t in TASKS:
        assert (t.readers is None) == (t.source == "-"), t.name  # generated tasks have no reader
        for leaf in registry.leaf_tasks(t.name):
            assert prompts.family(leaf) == t.family, leaf
        assert bool(t.fewshot_readers) <= (t.fewshot != "-"), t.name
    assert registry.fewshot_tasks() == (
        "gsm8k_dq (train)",
        "strategyqa_dq (test (minus the evaluated doc))",
        "aqua_dq (dev)",
    )
    assert not (REPO / "dq_tasks" / "prompts" / "default" / "families.yaml").exists()


def test_yaml_files_match_table() -> None:
    names = {p.stem for p in (REPO / "dq_tasks").glob("*.yaml") if not p.stem.startswith("_")}
    assert names == set(EXPECTED) | set(GROUPS) | {n for m in SUBTASKS.values() for n in m}


def test_group_yamls_list_tasks_without_cross_metric_aggregation() -> None:
    import yaml

    for group, members in GROUPS.items():
        config = yaml.safe_load((REPO / "dq_tasks" / f"{group}.yaml").read_text())
        assert config["group"] == group and tuple(config["task"]) == members
        assert "aggregate_metric_list" not in config  # members report different metrics


def test_gsmplus_group_aggregates_its_perturbation_subtasks(docs: dict[str, list[dict]]) -> None:
    import yaml

    config = yaml.safe_load((REPO / "dq_tasks" / "gsmplus_dq.yaml").read_text())
    assert tuple(config["task"]) == SUBTASKS["gsmplus_dq"] and len(config["task"]) == 8
    [agg] = config["aggregate_metric_list"]
    assert agg["metric"] == "exact_match" and agg["weight_by_size"] is True
    assert agg["filter_list"] == ["strict-match", "flexible-extract"]
    plus = docs["gsmplus_dq"]
    assert len(plus) == 2400 and sum(d["answers"] == ["None"] for d in plus) == 300


def test_hub_fallback_converters(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hub path cannot run offline; check its row-to-doc conversion on hub-shaped rows."""
    rows = {
        ("openai/gsm8k", "main"): [{"question": "Q?", "answer": "a\n#### 1,200"}],
        ("openai/gsm8k", "socratic"): [{"question": "Q?", "answer": "How many? ** a\n#### 1,200"}],
        ("ucinlp/drop", None): [{"passage": "P.", "question": "Who?", "answers_spans": {"spans": ["A", "B"]}}],
        ("ChilleD/MultiArith", None): [{"question": " Q? ", "final_ans": "39"}],
    }
    monkeypatch.setattr(loaders, "_hub", lambda path, name=None, split="test": rows[(path, name)])
    gsm = loaders.gsm8k_hub()[0]
    assert gsm["answers"] == ["1200"] and gsm["gold_subquestions"] == ["How many?"]
    drop = loaders.drop_hub()[0]
    assert drop["context"] == "P." and drop["answers"] == ["A, B"] and drop["cluster_id"]
    assert drop["answer_spans"] == [["A", "B"]]  # the hub keeps spans: official multi-span scoring
    assert [d["question"] for d in loaders.multiarith_hub()] == ["Q?", "Q?"]  # train + test


def test_doc_counts(docs: dict[str, list[dict]]) -> None:
    assert {name: len(d) for name, d in docs.items()} == EXPECTED


def test_common_schema(docs: dict[str, list[dict]]) -> None:
    for name, task_docs in docs.items():
        keys = set(task_docs[0])
        for doc in task_docs:
            assert set(doc) == keys, name
            assert doc["dq_task"] == name
            assert isinstance(doc["question"], str) and doc["question"], name
            assert isinstance(doc["context"], str)
            assert doc["answers"] and all(isinstance(a, str) and a for a in doc["answers"]), (name, doc["id"])
            assert isinstance(doc["gold_subquestions"], list)
            assert all(isinstance(q, str) for q in doc["gold_subquestions"])
        json.dumps(task_docs[0])  # JSON-serializable
        assert len({d["id"] for d in task_docs}) == len(task_docs), f"{name}: ids not unique"


def test_gold_subquestions_where_promised(docs: dict[str, list[dict]]) -> None:
    for name in WITH_GOLD_SUBQ:
        with_subq = sum(bool(d["gold_subquestions"]) for d in docs[name])
        assert with_subq >= 0.99 * len(docs[name]), name
        assert all(q.strip() and "**" not in q for d in docs[name] for q in d["gold_subquestions"])
    assert docs["gsm8k_dq"][0]["gold_subquestions"] == [
        "How many eggs does Janet sell?",
        "How much does Janet make at the farmers' market?",
    ]


def test_dataset_specific_fields(docs: dict[str, list[dict]]) -> None:
    drop = docs["drop_dq"]
    assert all(d["context"] and d["cluster_id"] for d in drop)
    assert 500 < len({d["cluster_id"] for d in drop}) < 1000  # many questions per passage
    assert not drop[0]["context"].startswith("Passage:") and "Question:" not in drop[0]["question"]
    assert drop[1]["answers"] == ["Pakistanis and Filipinos", "Pakistani and Filipino"]
    assert all(d["max_subquestions"] == 2 and len(d["gold_subquestions"]) == 2 for d in docs["bamboogle_dq"])
    assert {d["answers"][0] for d in docs["strategyqa_dq"]} == {"yes", "no"}
    assert all(len(d["options"]) == 5 and d["answers"][0] in "ABCDE" for d in docs["aqua_dq"])
    plus = docs["gsmplus_dq"]
    assert len({d["perturbation_type"] for d in plus}) == 8 and all(d["cluster_id"] for d in plus)
    assert all(d["answer_spans"] == [[a] for a in d["answers"]] for d in drop)
    assert docs["gsm8k_dq"][0]["answers"] == ["18"]
    assert all("," not in d["answers"][0] for d in docs["gsm8k_dq"])
    assert docs["svamp_dq"][0]["answers"] == ["51"]


def test_prompts_and_generation_config(task_dict: dict, docs: dict[str, list[dict]]) -> None:
    for name, task in task_dict.items():
        doc = next(iter(task.test_docs()))
        text = task.doc_to_text(doc)
        assert doc["question"] in text and "The answer is:" in text, name
        assert task.doc_to_target(doc) == doc["answers"][0]
        kwargs = task.config.generation_kwargs
        assert kwargs["max_gen_toks"] == 512 and kwargs["do_sample"] is False
        assert "\n" not in kwargs["until"], "the solver writes several lines"
        assert set(SECTION_HEADERS) <= set(kwargs["until"]), name  # stop where lm-eval's gsm8k stops
        assert task.config.num_fewshot is None, name  # not pinned: --num_fewshot is not ignored
        reply = f"Some work.\nThe answer is: {doc['answers'][0]}\nQuestion: Tom has 3 apples."
        filtered = _filtered(task, doc, reply)
        assert set(filtered) == {"strict-match", "flexible-extract"}, name
        metrics = [m["metric"] for m in task.config.metric_list]
        for answer in filtered.values():
            perfect = task.process_results(doc, [answer])
            assert list(perfect) == metrics and all(v == 1.0 for v in perfect.values()), (name, perfect)
    assert "Passage:" in task_dict["drop_dq"].doc_to_text(docs["drop_dq"][0])
    assert "E)" in task_dict["aqua_dq"].doc_to_text(docs["aqua_dq"][0])
    assert "yes or no" in task_dict["strategyqa_dq"].doc_to_text(docs["strategyqa_dq"][0])
    assert "The answer is: None" in task_dict["gsmplus_dq_critical_thinking"].doc_to_text(docs["gsmplus_dq"][-1])


def test_bamboogle_metric_names_follow_the_paper(task_dict: dict) -> None:
    metrics = [m["metric"] for m in task_dict["bamboogle_dq"].config.metric_list]
    assert metrics == ["acc", "exact_match"]  # acc = the paper's containment
    doc = next(iter(task_dict["bamboogle_dq"].test_docs()))
    scores = task_dict["bamboogle_dq"].process_results(doc, [f"President {doc['answers'][0]}"])
    assert scores == {"acc": 1.0, "exact_match": 0.0}


def test_num_fewshot_honoured_where_a_split_exists(task_dict: dict) -> None:
    from harness_ext.errors import DQError

    for name in ("gsm8k_dq", "strategyqa_dq", "aqua_dq"):
        task = task_dict[name]
        task.set_config(key="num_fewshot", value=2)
        doc = next(iter(task.test_docs()))
        context = task.fewshot_context(doc, 2)
        assert context.count("The answer is: ") >= 3 and context.count("Question:") == 3, name
        assert context.endswith(task.doc_to_text(doc)), name
        task.set_config(key="num_fewshot", value=None)
    for name in ("drop_dq", "bamboogle_dq", "svamp_dq", "gsmplus_dq_critical_thinking"):
        task = task_dict[name]
        doc = next(iter(task.test_docs()))
        assert task.fewshot_context(doc, 0) == task.doc_to_text(doc)
        with pytest.raises(DQError, match="no few-shot split"):
            task.fewshot_context(doc, 3)


def test_other_prompt_kinds_render(docs: dict[str, list[dict]]) -> None:
    from dq_tasks.prompting import doc_variables, get_prompt_set

    prompts = get_prompt_set("default")
    for name, task_docs in docs.items():
        doc = task_docs[0]
        limit = doc.get("max_subquestions") or DEFAULT_CAP
        decompose = prompts.render(name, "decompose", **doc_variables(doc, max_subquestions=limit))
        assert f"at most {limit}" in decompose
        # The demo's easy tasks always have steps to ask about: their question-first prompt, the
        # one the demo calibrated (results/demo/README.md), has no "No decomposition" opt-out.
        assert ("No decomposition" in decompose) != name.startswith("dq_synth_easy")
        solve = prompts.render(
            name, "solve", **doc_variables(doc, max_subquestions=limit, subquestions=["What is x?", "What is y?"])
        )
        assert "1. What is x?" in solve and "2. What is y?" in solve and "The answer is:" in solve
        assert "The answer is:" in prompts.render(name, "cot", **doc_variables(doc))


def test_loaders_accept_lm_eval_metadata() -> None:
    # lm-eval passes the task metadata plus model args as keyword arguments.
    out = hooks.load_task(dq_task="bamboogle_dq", version=1.0, pretrained="some/model", batch_size=4)
    assert len(out["test"]) == 125
    assert len(synth.load_synth(depth=2, synth_n=5, version=1.0)["test"]) == 5


def test_missing_file_error_names_env_and_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DQ_DATA_DIR", str(tmp_path))
    with pytest.raises(loaders.MissingDataError) as err:
        registry.load_docs("gsm8k_dq")
    message = str(err.value)
    assert "DQ_DATA_DIR" in message and str(tmp_path / "gsm8k" / "test.jsonl") in message
    assert "export DQ_DATA_DIR" in message


# --------------------------------------------------------------------------- synthetic generator
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def _evaluate(expression: str) -> float:
    """Tiny arithmetic evaluator (no eval): numbers and + - * /."""

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](walk(node.left), walk(node.right))
        raise ValueError(expression)

    return walk(ast.parse(expression, mode="eval").body)


@pytest.mark.parametrize("depth", [1, 2, 4, 6])
def test_synth_gold_steps_reach_the_answer(depth: int) -> None:
    problems = synth.generate(depth, n=200)
    for p in problems:
        assert len(p["gold_subquestions"]) == len(p["gold_subanswers"]) == len(p["gold_equations"]) == depth
        previous = None
        for equation, subanswer in zip(p["gold_equations"], p["gold_subanswers"]):
            left, right = equation.split(" = ")
            value = _evaluate(left)
            assert value == int(right) == int(subanswer) and value >= 1 and float(value).is_integer()
            if previous is not None:  # each step starts from the previous result
                assert left.split()[0] == previous
            previous = right
        assert p["answers"] == [p["gold_subanswers"][-1]]
        assert p["question"].count(" has ") == depth + 1 and p["question"].endswith("?")
    assert len({p["question"] for p in problems}) == len(problems)


def test_synth_deterministic_and_seeded() -> None:
    assert synth.generate(4, n=50, seed=7) == synth.generate(4, n=50, seed=7)
    assert synth.generate(4, n=50, seed=7) != synth.generate(4, n=50, seed=8)
    assert synth.generate(4, n=20) == synth.generate(4, n=50)[:20]  # prefix-stable
    assert synth.generate(3, n=1)[0]["id"].startswith("dq_synth_d3-test-")


def test_synth_train_split_is_disjoint_from_test() -> None:
    for depth in (2, 4, 6):
        test = {p["question"] for p in synth.generate(depth, n=synth.TEST_N)}
        train = synth.generate(depth, n=500, split="train")
        assert len(train) == 500 and not test & {p["question"] for p in train}
    with pytest.raises(ValueError):
        synth.generate(2, n=1, split="dev")
