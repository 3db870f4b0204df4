"""Read each dataset into the common dq doc schema.

Schema of every doc: ``dq_task`` (the task name; not ``task``, which would clash with the
``task`` argument of PromptSet.render), ``id``, ``question``, ``context`` (DROP passage, else ""),
``answers`` (accepted answer strings; the first is the target), ``gold_subquestions`` (list of
str, possibly empty), plus dataset extras (``cluster_id``, ``max_subquestions``, ``options``, ...).

With ``DQ_DATA_DIR`` set the local files under it are read (never copied into the repo);
without it the public Hugging Face copies are loaded (that path needs network access and is
not exercised by the offline tests). Parsed docs are cached per (task, data dir). Which reader serves which task is a fact of the
task table (registry.py).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

from dq_tasks.constants import TASKS_DIR

DATA_ENV = "DQ_DATA_DIR"


class MissingDataError(FileNotFoundError):
    """A dataset file expected under $DQ_DATA_DIR is not there."""


# --------------------------------------------------------------------------- helpers
def data_root() -> tuple[Path | None, str]:
    """Where the datasets come from, in one order everywhere (dq eval, make, the library):
    $DQ_DATA_DIR when set; else ``../shared/data`` beside the repository (not the current
    directory); else None, meaning the public Hugging Face copies."""
    env = os.environ.get(DATA_ENV, "")
    if env:
        return Path(env).expanduser(), f"{DATA_ENV}={env!r}"
    default = TASKS_DIR.parents[1] / "shared" / "data"
    if default.is_dir():
        return default, f"the default {default} ({DATA_ENV} unset)"
    return None, f"{DATA_ENV} unset and no {default}"


def data_file(relative: str) -> Path:
    """Absolute path of ``relative`` under the data root, with one actionable error if absent."""
    root, tried = data_root()
    path = (root or Path(".")) / relative
    if root is None or not path.is_file():
        raise MissingDataError(
            f"dataset file {relative} not found: tried {tried} ({path}); "
            f"point {DATA_ENV} at the directory that holds it (export {DATA_ENV}=/path/to/shared/data)"
        )
    return path


def _read_json(relative: str) -> Any:
    return json.loads(data_file(relative).read_text(encoding="utf-8"))


def _read_jsonl(relative: str) -> list[dict]:
    path = data_file(relative)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def num_str(value: Any) -> str:
    """Gold number as text: 51.0 -> "51", "2,125" -> "2125", 0.5 -> "0.5"."""
    if isinstance(value, str):
        return value.strip().replace(",", "")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def short_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def _doc(task: str, index: int, question: str, answers: Iterable[Any], **extra: Any) -> dict:
    return {
        "dq_task": task,
        "id": str(extra.pop("id", f"{task}-{index}")),
        "question": question.strip(),
        "context": extra.pop("context", ""),
        "answers": [str(a) for a in answers],
        "gold_subquestions": [str(q) for q in extra.pop("gold_subquestions", [])],
        **extra,
    }


def _hub(path: str, name: str | None = None, split: str = "test") -> list[dict]:
    import datasets  # imported lazily: only the hub fallback needs it here

    try:
        return list(datasets.load_dataset(path, name, split=split))
    except Exception as exc:  # offline (HF_HUB_OFFLINE=1, dq eval's default) or unreachable
        _, tried = data_root()
        raise MissingDataError(
            f"no local data ({tried}) and the Hugging Face copy {path} could not be loaded "
            f"({type(exc).__name__}); export {DATA_ENV}=/path/to/shared/data"
        ) from None


# --------------------------------------------------------------------------- GSM8K
def _socratic_steps(solution: str) -> list[str]:
    """Socratic lines read "How many eggs does Janet sell? ** Janet sells ..."; keep the question."""
    body = solution.split("####")[0]
    return [line.split(" ** ")[0].strip() for line in body.splitlines() if " ** " in line]


def _gsm8k_docs(rows: list[dict], socratic: list[dict]) -> list[dict]:
    if len(rows) != len(socratic) or any(r["question"] != s["question"] for r, s in zip(rows, socratic)):
        raise ValueError("gsm8k test and test_socratic files are not aligned question by question")
    return [
        _doc(
            "gsm8k_dq",
            i,
            r["question"],
            [num_str(r["answer"].split("####")[-1])],
            gold_subquestions=_socratic_steps(s["answer"]),
            solution=r["answer"],
        )
        for i, (r, s) in enumerate(zip(rows, socratic))
    ]


def gsm8k_local() -> list[dict]:
    return _gsm8k_docs(_read_jsonl("gsm8k/test.jsonl"), _read_jsonl("gsm8k/test_socratic.jsonl"))


def gsm8k_hub() -> list[dict]:
    return _gsm8k_docs(_hub("openai/gsm8k", "main"), _hub("openai/gsm8k", "socratic"))


# --------------------------------------------------------------------------- DROP
def _split_drop_context(context: str) -> tuple[str, str]:
    """simple-evals format: "Passage: <p>\\nQuestion: <q>\\nAnswer:"."""
    passage, _, question = context.rpartition("\nQuestion: ")
    passage = passage.removeprefix("Passage: ").strip()
    return passage, question.removesuffix("Answer:").strip()


def _drop_doc(index: int, passage: str, question: str, spans: list[list[str]]) -> dict:
    """``answers`` holds each gold alternative as one string; ``answer_spans`` keeps its spans
    where the data has them, for the official multi-span scoring."""
    answers = [", ".join(alt) for alt in spans]
    return _doc(
        "drop_dq", index, question, answers, context=passage, cluster_id=short_hash(passage), answer_spans=spans
    )


def drop_local() -> list[dict]:
    # simple-evals' file joins multi-span golds into one string ("Pakistanis and Filipinos"),
    # so each alternative is one span here: see TASKS.md for the measured effect.
    docs = []
    for i, row in enumerate(_read_jsonl("drop/drop_v0_dev.jsonl.gz")):
        passage, question = _split_drop_context(row["context"])
        docs.append(_drop_doc(i, passage, question, [[alt] for alt in row["ref_text"].split("|")]))
    return docs


def drop_hub() -> list[dict]:
    # ucinlp/drop has 9535 validation rows and keeps one gold answer per question (no validated
    # alternatives), with multi-span answers as their spans.
    rows = _hub("ucinlp/drop", split="validation")
    return [_drop_doc(i, r["passage"], r["question"], [list(r["answers_spans"]["spans"])]) for i, r in enumerate(rows)]


# --------------------------------------------------------------------------- Bamboogle
def bamboogle_local() -> list[dict]:
    # Only the original "Answer" is gold: the hand-cleaned A2 lists sometimes disagree (1823/1825).
    return [
        _doc(
            "bamboogle_dq",
            i,
            r["Question"],
            [r["Answer"]],
            gold_subquestions=[r["Q1"], r["Q2"]],
            gold_subanswers=[r["A1"][0], r["A2"][0]],
            max_subquestions=2,
        )
        for i, r in enumerate(_read_json("bamboogle/bamboogle.json"))
    ]


def bamboogle_hub() -> list[dict]:
    # The hub copy has no Q1/Q2, so gold sub-questions are empty there.
    return [
        _doc(
            "bamboogle_dq",
            i,
            r["Question"],
            [r["Answer"]],
            gold_subquestions=[],
            gold_subanswers=[],
            max_subquestions=2,
        )
        for i, r in enumerate(_hub("chiayewken/bamboogle"))
    ]


# --------------------------------------------------------------------------- StrategyQA
def _strategyqa_docs(rows: list[dict]) -> list[dict]:
    return [
        _doc(
            "strategyqa_dq",
            i,
            r["question"],
            ["yes" if r["answer"] else "no"],
            id=r["qid"],
            gold_subquestions=r.get("decomposition") or [],
            facts=list(r.get("facts") or []),
        )
        for i, r in enumerate(rows)
    ]


def strategyqa_local() -> list[dict]:
    return _strategyqa_docs(_read_json("strategyqa/train.json") + _read_json("strategyqa/dev.json"))


def strategyqa_hub() -> list[dict]:
    # wics/strategy-qa needs a loading script, which datasets>=4 refuses; ChilleD/StrategyQA is
    # parquet with the official fields (train + test = the 2290 labelled questions; unverified).
    return _strategyqa_docs(_hub("ChilleD/StrategyQA", split="train") + _hub("ChilleD/StrategyQA", split="test"))


# --------------------------------------------------------------------------- math word problems
def _svamp_docs(rows: list[dict]) -> list[dict]:
    return [
        _doc(
            "svamp_dq",
            i,
            f"{r['Body'].strip()} {r['Question'].strip()}",
            [num_str(r["Answer"])],
            id=r["ID"],
            equation=r["Equation"],
            type=r["Type"],
        )
        for i, r in enumerate(rows)
    ]


def svamp_local() -> list[dict]:
    return _svamp_docs(_read_json("svamp/SVAMP.json"))


def svamp_hub() -> list[dict]:
    return _svamp_docs(_hub("ChilleD/SVAMP", split="train") + _hub("ChilleD/SVAMP", split="test"))


def multiarith_local() -> list[dict]:
    return [
        _doc("multiarith_dq", i, r["sQuestion"], [num_str(r["lSolutions"][0])], id=r["iIndex"])
        for i, r in enumerate(_read_json("multiarith/MultiArith.json"))
    ]


def multiarith_hub() -> list[dict]:
    rows = _hub("ChilleD/MultiArith", split="train") + _hub("ChilleD/MultiArith", split="test")
    return [_doc("multiarith_dq", i, r["question"], [num_str(r["final_ans"])]) for i, r in enumerate(rows)]


def _aqua_docs(rows: list[dict]) -> list[dict]:
    return [
        _doc("aqua_dq", i, r["question"], [r["correct"]], options=list(r["options"]), rationale=r.get("rationale", ""))
        for i, r in enumerate(rows)
    ]


def aqua_local() -> list[dict]:
    return _aqua_docs(_read_jsonl("aqua/test.json"))  # JSON lines despite the .json name


def aqua_hub() -> list[dict]:
    return _aqua_docs(_hub("deepmind/aqua_rat", "raw"))


def _gsm_hard_docs(rows: list[dict]) -> list[dict]:
    return [_doc("gsm_hard_dq", i, r["input"], [num_str(r["target"])]) for i, r in enumerate(rows)]


def gsm_hard_local() -> list[dict]:
    return _gsm_hard_docs(_read_jsonl("gsm-hard/gsmhardv2.jsonl"))


def gsm_hard_hub() -> list[dict]:
    return _gsm_hard_docs(_hub("reasoning-machines/gsm-hard", split="train"))


def _gsmplus_docs(rows: list[dict]) -> list[dict]:
    # The 8 perturbations of one seed question form a cluster for clustered statistics.
    return [
        _doc(
            "gsmplus_dq",
            i,
            r["question"],
            [num_str(r["answer"])],
            perturbation_type=r["perturbation_type"],
            seed_question=r["seed_question"],
            cluster_id=short_hash(r["seed_question"]),
        )
        for i, r in enumerate(rows)
    ]


def gsmplus_local() -> list[dict]:
    return _gsmplus_docs(_read_jsonl("gsm-plus/gsmplus_testmini.jsonl"))


def gsmplus_hub() -> list[dict]:
    return _gsmplus_docs(_hub("qintongli/GSM-Plus", split="testmini"))


def asdiv_local() -> list[dict]:
    return [
        _doc("asdiv_dq", i, r["input"], [num_str(r["target"])]) for i, r in enumerate(_read_jsonl("asdiv/asdiv.jsonl"))
    ]


def asdiv_hub() -> list[dict]:
    # EleutherAI/asdiv has all 2305 problems with answers like "9 (apples)"; keep numeric ones.
    docs: list[dict] = []
    for r in _hub("EleutherAI/asdiv", split="validation"):
        answer = r["answer"].split(" (")[0]
        if answer.replace(".", "", 1).lstrip("-").isdigit():
            docs.append(_doc("asdiv_dq", len(docs), f"{r['body']} {r['question']}", [answer]))
    return docs


# --------------------------------------------------------------------------- caching
@cache
def _cached(
    task: str, data_dir: str, local: Callable[[], list[dict]], hub: Callable[[], list[dict]]
) -> tuple[dict, ...]:
    return tuple(local() if data_dir else hub())


def cached_docs(task: str, local: Callable[[], list[dict]], hub: Callable[[], list[dict]]) -> list[dict]:
    """The docs of one task (registry.load_docs picks its readers), parsed once per data dir;
    fresh dict copies, so callers may mutate them."""
    return [dict(d) for d in _cached(task, str(data_root()[0] or ""), local, hub)]


# --------------------------------------------------------------------------- few-shot splits
# Split name -> reader of exemplar docs, per task (lm-eval's fewshot_config.split names the key).
# StrategyQA's labelled questions are all in the test set, so its exemplars come from the test
# split itself; lm-eval then leaves the evaluated doc out of its own exemplars.
def gsm8k_train() -> list[dict]:
    rows = _read_jsonl("gsm8k/train.jsonl") if data_root()[0] else _hub("openai/gsm8k", "main", "train")
    return [
        _doc("gsm8k_dq", i, r["question"], [num_str(r["answer"].split("####")[-1])], id=f"gsm8k_dq-train-{i}")
        for i, r in enumerate(rows)
    ]


def aqua_dev() -> list[dict]:
    rows = _read_jsonl("aqua/dev.json") if data_root()[0] else _hub("deepmind/aqua_rat", "raw", "validation")
    return [{**d, "id": f"aqua_dq-dev-{i}"} for i, d in enumerate(_aqua_docs(rows))]
