"""One owner for the facts that the task suite and the two_stage model share."""

from __future__ import annotations

from pathlib import Path

TASKS_DIR = Path(__file__).resolve().parent  # an lm-eval include_path
PROMPTS_DIR = TASKS_DIR / "prompts"
DEFAULT_CAP = 3  # the paper's best cap on sub-questions (its Table 10); Bamboogle's YAML says 2
