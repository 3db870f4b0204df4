"""lm-eval's own command line, driven with dq_tasks on the include path (for `dq eval`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from dq_tasks.constants import TASKS_DIR
from harness_ext.errors import DQError

SUBCOMMANDS = ("run", "ls", "validate")


def parse(argv: list[str]) -> tuple[object, argparse.Namespace]:
    """lm-eval's parser over ``argv`` (``run`` implied, as `lm_eval` itself does)."""
    from lm_eval._cli import HarnessCLI

    if argv and argv[0] not in SUBCOMMANDS:
        argv = ["run", *argv]
    parser = HarnessCLI()
    saved, sys.argv = sys.argv, ["dq eval", *argv]  # HarnessCLI reads sys.argv only
    try:
        return parser, parser.parse_args()
    finally:
        sys.argv = saved


def run(argv: list[str], check: Callable[[argparse.Namespace], None] | None = None) -> None:
    """Parse, let ``check`` refuse bad arguments early, add dq_tasks to --include_path, run."""
    from lm_eval.utils import setup_logging

    setup_logging()
    parser, args = parse(argv)
    if check is not None:
        check(args)
    if hasattr(args, "include_path"):
        extra = [args.include_path] if args.include_path else []
        args.include_path = [str(TASKS_DIR), *extra]
    try:
        parser.execute(args)  # type: ignore[attr-defined]
    except FileNotFoundError as exc:  # dq_tasks.loaders.MissingDataError: says what was tried
        raise DQError(str(exc)) from None
    except ValueError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        if first.startswith("Tasks not found"):  # lm-eval's message for unknown --tasks names
            raise DQError(f"{first} (dq tasks lists ours; lm_eval ls tasks lists lm-eval's)") from None
        raise


def help_text() -> str:
    """lm-eval's `run --help`, to follow our own."""
    from lm_eval._cli import HarnessCLI

    parser = HarnessCLI()
    sub = parser._subparsers.choices["run"]  # type: ignore[attr-defined]
    return sub.format_help()
