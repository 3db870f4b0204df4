"""Subcommand argument parsing that returns instead of exiting (``main(argv) -> int`` callers)."""

from __future__ import annotations

import argparse


def parse_argv(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace | int:
    """The parsed arguments, or the exit code argparse chose after printing usage or help."""
    try:
        return parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
