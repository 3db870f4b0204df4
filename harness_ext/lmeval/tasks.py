"""lm-eval's task index over dq_tasks: one TaskManager recipe, group expansion, eval docs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dq_tasks.constants import TASKS_DIR
from harness_ext.errors import DQError


def task_manager(metadata: dict[str, Any] | None = None):
    """An index of dq_tasks only: indexing lm-eval's built-in tasks costs ~15 s per process."""
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=str(TASKS_DIR), include_defaults=False, metadata=metadata)


def known_names(manager) -> list[str]:
    return sorted(manager.all_subtasks + manager.all_groups)


def expand_tasks(names: list[str], manager, where: str = "tasks") -> list[str]:
    """Task and group names -> leaf task names, in order, each once; unknown names fail."""
    index = manager.task_index
    out: list[str] = []

    def visit(name: Any, trail: tuple[str, ...]) -> None:
        if not isinstance(name, str):
            raise DQError(f"{where}: inline task configs are not supported ({name!r}); name a task or group")
        entry = index.get(name)
        if entry is None:
            raise DQError(f"{where}: unknown task or group {name!r}; known: {', '.join(known_names(manager))}")
        if name in manager.all_groups or name in manager.all_tags:
            if name in trail:
                raise DQError(f"{where}: group {name!r} includes itself")
            members = (entry.cfg or {}).get("task", []) if entry.cfg else []
            for member in members if isinstance(members, list) else [members]:
                visit(member, (*trail, name))
        elif name not in out:
            out.append(name)

    for name in names:
        visit(name, ())
    return out


def eval_docs(task: str, metadata: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """The docs lm-eval scores for ``task`` (a group: all its members), as the CLI would load them."""
    manager = task_manager(metadata)
    if task not in manager.all_tasks:
        raise DQError(f"{task!r} is not a dq task; known: {', '.join(sorted(manager.all_subtasks))}")
    try:
        leaves = list(manager.load([task])["tasks"].values())
    except Exception as exc:  # a dataset file missing, DQ_DATA_DIR unset offline, ...
        raise DQError(f"cannot load the docs of {task!r}: {exc}") from None
    for task_obj in leaves:
        for doc in task_obj.eval_docs:
            yield dict(doc)
