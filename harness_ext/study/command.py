"""`dq study`'s command line: flags, the executor they choose, and the one-line summary."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from harness_ext.argv import parse_argv
from harness_ext.errors import DQError
from harness_ext.model.runtime import offline_defaults
from harness_ext.study import grid
from harness_ext.study.grid import Executor, SerialExecutor, plan, run_study
from harness_ext.study.spec import STUDY_FILE_HELP, load_study
from harness_ext.study_record import StudyResult


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dq study",
        description=(grid.__doc__ or "").split("\n\n")[1],
        epilog=STUDY_FILE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("study", metavar="STUDY.yaml", nargs="?")
    p.add_argument("--out", metavar="DIR", help="output directory (default: results/<study name>)")
    p.add_argument(
        "--cache",
        metavar="PATH",
        help="stage cache file (default: DIR/stage_cache.sqlite); "
        "point several studies or processes at one file to share generations",
    )
    p.add_argument("--dry-run", action="store_true", help="validate the study and list its cells; run nothing")
    p.add_argument("--no-progress", action="store_true", help="no progress bar over cells")
    p.add_argument("--verbose", action="store_true", help="keep lm-eval's INFO logging")
    scale = p.add_argument_group("scaling out (docs/scale.md)")
    scale.add_argument(
        "--executor",
        choices=("serial", "ray"),
        default="serial",
        help="serial: every cell in turn here (default); ray: one Ray task per (decomposer, task) "
        "pass, then one per cell, each placed by its models' `resources:` (pip install 'dq-harness[ray]'); "
        "finished cells of an earlier run into DIR are kept; one line per finished cell names its node",
    )
    scale.add_argument(
        "--address",
        metavar="auto|HOST:PORT",
        help="with --executor ray: the cluster to join (auto = the one `ray start` made here); "
        "default: a Ray instance started for this study on this machine",
    )
    scale.add_argument(
        "--shard",
        metavar="K/N",
        help="run share K of N (1-based; e.g. SLURM_ARRAY_TASK_ID/N): whole (decomposer, task) groups, "
        "so no decomposer pass repeats across shards; no reports until --merge",
    )
    scale.add_argument(
        "--merge",
        metavar="DIR",
        nargs="+",
        help="join the shard folders DIR_1 ... DIR_N of one study file into --out DIR "
        "(study.json, leaderboard, comparisons, plots, one stage cache)",
    )
    return p


def _executor(args: argparse.Namespace) -> Executor:
    if args.executor == "ray":
        from harness_ext.study.ray_exec import RayExecutor

        return RayExecutor(address=args.address)
    if args.address:
        raise DQError("--address needs --executor ray")
    return SerialExecutor(progress=not args.no_progress)


def _checked(args: argparse.Namespace) -> None:
    if args.merge and (args.study or args.shard or args.executor != "serial" or args.dry_run):
        raise DQError("--merge takes shard folders and --out only: dq study --merge DIR_1 ... DIR_N --out DIR")
    if args.merge and not args.out:
        raise DQError("--merge needs --out DIR, the folder the merged study is written to")
    if not args.merge and not args.study:
        raise DQError("dq study needs a study file (dq study STUDY.yaml) or --merge DIR_1 ... DIR_N --out DIR")
    if args.shard and args.executor == "ray":
        raise DQError("--shard runs one share without Ray; use either --shard K/N or --executor ray")


def main(argv: list[str] | None = None) -> int:
    args = parse_argv(build_parser(), argv)
    if isinstance(args, int):  # usage or help was printed
        return args
    offline_defaults()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if not args.verbose:
        logging.getLogger("lm_eval").setLevel(logging.WARNING)
    _checked(args)
    if args.merge:
        from harness_ext.study.shards import merge

        state = merge([Path(d) for d in args.merge], Path(args.out))
        return _summary(Path(args.out), state)
    from harness_ext.study.plan import parse_shard

    shard = parse_shard(args.shard) if args.shard else None
    study = load_study(args.study)
    cells = plan(study)  # every cell's model args validated before any compute
    executor = _executor(args)
    if args.dry_run:
        for c in cells:
            print(f"{c.id}\t{'skip: ' + c.skip if c.skip else 'run'}")
        return 0
    out = Path(args.out or Path("results") / study.name)
    state = run_study(study, out, progress=not args.no_progress, cache=args.cache, executor=executor, shard=shard)
    return _summary(out, state)


def _summary(out: Path, state: StudyResult) -> int:
    failures = state.failures or []
    print(
        f"dq study: {state.count('ok')} ok, {state.count('skipped')} skipped, {len(failures)} failed; "
        f"wrote {out}/study.json" + (f", {out}/leaderboard.md" if "leaderboard" in (state.report or {}) else ""),
        file=sys.stderr,
    )
    for f in failures:
        print(f"dq study: failed: {f}", file=sys.stderr)
    return 1 if failures else 0
