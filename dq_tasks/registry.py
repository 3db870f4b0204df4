"""The task table: one row per dq task (also rendered in TASKS.md and by ``dq tasks``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields

from dq_tasks import loaders

Reader = Callable[[], list[dict]]


@dataclass(frozen=True)
class TaskInfo:
    name: str
    family: str  # prompt template family: a folder of each prompt set (dq_tasks/prompts/default/<family>/)
    source: str  # path under $DQ_DATA_DIR ("-" for generated tasks)
    hub: str  # datasets.load_dataset fallback when DQ_DATA_DIR is unset
    license: str
    docs: int
    metrics: str  # each reported under both filters: <metric>,strict-match and <metric>,flexible-extract
    gold_subquestions: bool
    cap: str  # the decomposer's sub-question cap (doc max_subquestions, else DEFAULT_CAP)
    fewshot: str  # the split --num_fewshot draws exemplars from ("-": k > 0 is an error)
    # How the docs are read: (local reader under $DQ_DATA_DIR, hub reader); None: generated.
    readers: tuple[Reader, Reader] | None = field(default=None, repr=False, compare=False)
    # lm-eval's fewshot_config.split names a key here (StrategyQA draws from its test split).
    fewshot_readers: dict[str, Reader] = field(default_factory=dict, repr=False, compare=False)

    @property
    def row(self) -> dict:
        """The table row (the facts a reader sees in `dq tasks`, TASKS.md and README)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.repr}


EASY = "- (generated, dq_tasks/synth.py; add/subtract 1-5, amounts <= 20)"


def _synth(name: str, depth: int, hub: str) -> TaskInfo:
    """A synthetic task: 200 generated test docs, gold sub-questions, cap = depth."""
    return TaskInfo(name, "math", "-", hub, "project", 200, "exact_match", True, f"{depth} (depth)", "-")


TASKS: tuple[TaskInfo, ...] = (
    TaskInfo(
        "gsm8k_dq",
        "math",
        "gsm8k/test.jsonl + gsm8k/test_socratic.jsonl",
        "openai/gsm8k (main + socratic, test)",
        "MIT",
        1319,
        "exact_match",
        True,
        "3",
        "train",
        readers=(loaders.gsm8k_local, loaders.gsm8k_hub),
        fewshot_readers={"train": loaders.gsm8k_train},
    ),
    TaskInfo(
        "drop_dq",
        "drop",
        "drop/drop_v0_dev.jsonl.gz",
        "ucinlp/drop (validation; 9535 rows, no alternatives)",
        "CC BY-SA 4.0",
        9536,
        "em, f1",
        False,
        "3",
        "-",
        readers=(loaders.drop_local, loaders.drop_hub),
    ),
    TaskInfo(
        "bamboogle_dq",
        "multihop",
        "bamboogle/bamboogle.json",
        "chiayewken/bamboogle (test; no Q1/Q2)",
        "none stated (Q1/Q2 from comp-gap-public, no license)",
        125,
        "acc (paper: gold contained), exact_match",
        True,
        "2",
        "-",
        readers=(loaders.bamboogle_local, loaders.bamboogle_hub),
    ),
    TaskInfo(
        "strategyqa_dq",
        "multihop",
        "strategyqa/train.json + strategyqa/dev.json",
        "ChilleD/StrategyQA (train + test)",
        "MIT",
        2290,
        "acc",
        True,
        "3",
        "test (minus the evaluated doc)",
        readers=(loaders.strategyqa_local, loaders.strategyqa_hub),
    ),
    TaskInfo(
        "svamp_dq",
        "math",
        "svamp/SVAMP.json",
        "ChilleD/SVAMP (train + test)",
        "MIT",
        1000,
        "exact_match",
        False,
        "3",
        "-",
        readers=(loaders.svamp_local, loaders.svamp_hub),
    ),
    TaskInfo(
        "multiarith_dq",
        "math",
        "multiarith/MultiArith.json",
        "ChilleD/MultiArith (train + test)",
        "none stated (auto-cot repo Apache-2.0)",
        600,
        "exact_match",
        False,
        "3",
        "-",
        readers=(loaders.multiarith_local, loaders.multiarith_hub),
    ),
    TaskInfo(
        "aqua_dq",
        "mcq",
        "aqua/test.json",
        "deepmind/aqua_rat (raw, test)",
        "Apache-2.0",
        254,
        "acc",
        False,
        "3",
        "dev",
        readers=(loaders.aqua_local, loaders.aqua_hub),
        fewshot_readers={"dev": loaders.aqua_dev},
    ),
    TaskInfo(
        "gsm_hard_dq",
        "math",
        "gsm-hard/gsmhardv2.jsonl",
        "reasoning-machines/gsm-hard (train)",
        "Apache-2.0",
        1319,
        "exact_match (abs(pred - gold) < 1e-3, as PAL)",
        False,
        "3",
        "-",
        readers=(loaders.gsm_hard_local, loaders.gsm_hard_hub),
    ),
    TaskInfo(
        "gsmplus_dq",
        "gsmplus",
        "gsm-plus/gsmplus_testmini.jsonl",
        "qintongli/GSM-Plus (testmini)",
        "CC BY-SA 4.0 (HF card)",
        2400,
        "exact_match per perturbation type (8 subtasks) + group",
        False,
        "3",
        "-",
        readers=(loaders.gsmplus_local, loaders.gsmplus_hub),
    ),
    TaskInfo(
        "asdiv_dq",
        "math",
        "asdiv/asdiv.jsonl",
        "EleutherAI/asdiv (validation; numeric answers of 2305)",
        "CC BY-NC 4.0 (non-commercial)",
        2096,
        "exact_match",
        False,
        "3",
        "-",
        readers=(loaders.asdiv_local, loaders.asdiv_hub),
    ),
    *(_synth(f"dq_synth_d{d}", d, "- (generated, dq_tasks/synth.py)") for d in (2, 4, 6)),
    *(_synth(f"dq_synth_easy_d{d}", d, EASY) for d in (1, 2, 3)),
)

GSMPLUS_TYPES = (
    "numerical substitution",
    "digit expansion",
    "integer-decimal-fraction conversion",
    "adding operation",
    "reversing operation",
    "problem understanding",
    "distraction insertion",
    "critical thinking",
)
# gsmplus_dq is an lm-eval group (like MMLU): one subtask per GSM-Plus perturbation type.
SUBTASKS: dict[str, tuple[str, ...]] = {
    "gsmplus_dq": tuple("gsmplus_dq_" + t.replace("-", "_").replace(" ", "_") for t in GSMPLUS_TYPES),
}

GROUPS: dict[str, tuple[str, ...]] = {
    "dq_paper": ("gsm8k_dq", "drop_dq", "bamboogle_dq"),
    "dq_all": tuple(t.name for t in TASKS),
}


def catalog() -> list[dict]:
    """The task table as a list of plain dicts (for ``dq tasks``)."""
    return [t.row for t in TASKS]


def families() -> dict[str, str]:
    """Task (and subtask) name -> prompt template family, what the built-in prompt set uses."""
    table = {t.name: t.family for t in TASKS}
    return {**table, **{sub: table[group] for group, subs in SUBTASKS.items() for sub in subs}}


def fewshot_tasks() -> tuple[str, ...]:
    """The tasks --num_fewshot k > 0 works on, with the split their exemplars come from."""
    return tuple(f"{t.name} ({t.fewshot})" for t in TASKS if t.fewshot != "-")


def load_docs(task: str) -> list[dict]:
    """Docs of a file-backed task (fresh dict copies, so callers may mutate them)."""
    readers = {t.name: t.readers for t in TASKS if t.readers}
    if task not in readers:
        raise KeyError(f"no loader for {task!r}; known: {sorted(readers)}")
    local, hub = readers[task]  # type: ignore[misc]
    return loaders.cached_docs(task, local, hub)


def fewshot_splits(task: str) -> dict[str, list[dict]]:
    """Exemplar docs per few-shot split of ``task`` (empty for tasks without one)."""
    info = next((t for t in TASKS if t.name == task), None)
    return {split: read() for split, read in (info.fewshot_readers if info else {}).items()}


def task_info(name: str) -> TaskInfo:
    for info in TASKS:
        if info.name == name:
            return info
    raise KeyError(f"unknown dq task {name!r}; known: {[t.name for t in TASKS]}")


def leaf_tasks(name: str) -> tuple[str, ...]:
    """A task, or the member tasks of one of our groups."""
    if name in GROUPS:
        return tuple(t for member in GROUPS[name] for t in leaf_tasks(member))
    return SUBTASKS.get(name, (name,))


def has_gold_subquestions(name: str) -> bool | None:
    """Whether a dq task's docs carry gold sub-questions (what decomposer=oracle uses); None for
    a task this registry does not know (lm-eval's own, or a YAML added by hand)."""
    base = next((g for g, subs in SUBTASKS.items() if name in subs), name)
    try:
        return task_info(base).gold_subquestions
    except KeyError:
        return None
