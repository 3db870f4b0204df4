"""Prompt templates: jinja2 files in a sandbox, looked up by task, then family, then default.

A template set is a directory (``dq_tasks/prompts/<name>`` or any user path) holding
``<task>/<kind>.j2``, ``<family>/<kind>.j2`` and ``default/<kind>.j2``; each task's family comes from
the task table (registry.py), which a ``families.yaml`` in a user set's root may override. Files missing from a user set fall back to the built-in
``default`` set, so a user overrides only what they change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from jinja2 import FileSystemLoader, StrictUndefined, TemplateNotFound
from jinja2.sandbox import SandboxedEnvironment

from dq_tasks.constants import PROMPTS_DIR as BUILTIN_ROOT

Kind = Literal["single", "cot", "decompose", "solve", "dynamic_decompose", "dynamic_answer", "dynamic_solve"]
KINDS: tuple[Kind, ...] = get_args(Kind)


class PromptSetError(ValueError):
    """A template set name or directory that cannot be used."""


def _resolve_dir(name_or_dir: str) -> Path:
    path = Path(name_or_dir)
    if path.is_dir():
        return path.resolve()
    builtin = BUILTIN_ROOT / name_or_dir
    if builtin.is_dir():
        return builtin
    known = sorted(p.name for p in BUILTIN_ROOT.iterdir() if p.is_dir())
    raise PromptSetError(
        f"unknown prompt template set {name_or_dir!r}: use one of {known} or a directory "
        f"holding <task>/<kind>.j2 or default/<kind>.j2 files"
    )


def _load_families(*roots: Path) -> dict[str, str]:
    """The task table's families (registry.py), overridden by a user set's families.yaml."""
    from dq_tasks.registry import families as table  # the registry imports the loaders: lazily

    families = table()
    for root in reversed(roots):  # the first root wins
        f = root / "families.yaml"
        if f.is_file():
            families.update(yaml.safe_load(f.read_text()) or {})
    return families


@dataclass
class PromptSet:
    """Renders ``kind`` templates (single, decompose, solve, ...) for a task."""

    name: str = "default"
    root: Path = field(init=False)
    families: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.root = _resolve_dir(self.name)
        roots = [self.root] + ([BUILTIN_ROOT / "default"] if self.root != BUILTIN_ROOT / "default" else [])
        self.families = _load_families(*roots)
        self._env = SandboxedEnvironment(
            loader=FileSystemLoader([str(r) for r in roots]),
            undefined=StrictUndefined,
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def family(self, task: str | None) -> str:
        return self.families.get(task or "", "default")

    def candidates(self, task: str | None, kind: Kind) -> list[str]:
        names = [f"{task}/{kind}.j2"] if task else []
        return names + [f"{self.family(task)}/{kind}.j2", f"default/{kind}.j2"]

    def has(self, task: str | None, kind: Kind) -> bool:
        return self._find(task, kind) is not None

    def _find(self, task: str | None, kind: Kind):
        for name in self.candidates(task, kind):
            try:
                return self._env.get_template(name)
            except TemplateNotFound:
                continue
        return None

    def render(self, task: str | None, kind: Kind, **variables: Any) -> str:
        template = self._find(task, kind)
        if template is None:
            raise PromptSetError(
                f"prompt set {self.name!r} has no {kind!r} template for task {task!r} "
                f"(looked for {self.candidates(task, kind)})"
            )
        return template.render(**variables).strip()

    def source_id(self, task: str | None, kind: Kind) -> str:
        """Template file name + text, for cache keys: a changed template is a new key."""
        template = self._find(task, kind)
        if template is None or template.filename is None:
            return f"{self.name}:{kind}:missing"
        return f"{template.filename}:{Path(template.filename).read_text()}"


@lru_cache(maxsize=16)
def get_prompt_set(name: str = "default") -> PromptSet:
    return PromptSet(name)


def doc_variables(doc: dict, **extra: Any) -> dict[str, Any]:
    """The variables every template sees: the doc's fields, plus ``doc`` itself."""
    variables = {"question": "", "context": "", "subquestions": [], "doc": doc}
    variables.update({k: v for k, v in doc.items() if isinstance(k, str) and k.isidentifier()})
    variables.update(extra)
    return variables
