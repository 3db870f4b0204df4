"""The exception for bad user input (its owner is dq_tasks/errors.py, the ground floor, so task
code can raise it without importing harness_ext); the CLI prints it as one line and exits 2."""

from dq_tasks.errors import DQError

__all__ = ["DQError"]
