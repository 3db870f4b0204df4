"""`make demo`: does a decomposer help SmolLM2-135M-Instruct? Measured, with CIs and p-values.

Three runs share one solver (SmolLM2-135M-Instruct, greedy, chat template) on the same docs of
an easy synthetic task (add/subtract small numbers, a few dependent steps):

- single-stage: the solver answers the question directly;
- model decomposer: the same model first writes sub-questions, the solver then answers with them;
- oracle decomposer: the solver gets the task's gold sub-questions (what a perfect decomposer gives).

The task and token limits were chosen by measurement (results/demo/README.md): there the
solver is neither always right nor always wrong, and the model writes sub-questions on most
docs, so a difference can show. All runs go to a fresh folder that replaces the previous runs
only once every run has finished; the report then describes exactly those runs.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness_ext import rundir
from harness_ext.compare.api import ComparisonReport, compare_runs
from harness_ext.compare.report import write_report
from harness_ext.errors import DQError
from harness_ext.lmeval.runner import evaluate_to_dir
from harness_ext.lmeval.two_stage import TwoStageLM
from harness_ext.serve.packaged import cache_dir

TASK = "dq_synth_easy_d1"  # the depth where the solver is in range (results/demo/README.md)
MODEL = "smollm2-135m"
# (label, decomposer backend): the single-stage run is the baseline of every comparison.
RUNS = (("single-stage", "none"), ("model-decomposer", "hf"), ("oracle-decomposer", "oracle"))


@dataclass(frozen=True)
class Settings:
    """What a demo (or calibration) run varies; the defaults are the measured choice."""

    limit: int = 100
    batch_size: int = 32
    solver_toks: int = 64  # the answer is short; a cap keeps batched CPU decoding fast
    decomposer_toks: int = 40  # up to three one-line sub-questions
    cache: str | None = str(cache_dir() / "demo_stage_cache.sqlite")


def model_args(decomposer: str, settings: Settings) -> dict[str, Any]:
    smol = {"pretrained": MODEL, "dtype": "float32"}
    spec: dict[str, Any] = {
        "solver": "hf",
        **{f"solver.{k}": v for k, v in smol.items()},
        "batch_size": settings.batch_size,
        "solver_gen.max_gen_toks": settings.solver_toks,
        "decomposer": decomposer,
    }
    if settings.cache:
        spec["cache"] = settings.cache
    if decomposer == "hf":
        spec.update({f"decomposer.{k}": v for k, v in smol.items()})
        # A blank line ends the list: the decompose prompt's examples are separated by one.
        spec.update({"decomposer_gen.max_gen_toks": settings.decomposer_toks, "decomposer_gen.until": ["\n\n"]})
    return spec


def run_all(tasks: list[str], settings: Settings, runs_dir: Path) -> dict[str, Path]:
    """One lm-eval run per decomposer into ``runs_dir`` (which must not exist yet)."""
    if runs_dir.exists():
        raise FileExistsError(f"{runs_dir} exists; the demo never appends to old runs")
    paths = {}
    for label, decomposer in RUNS:
        lm = TwoStageLM(**model_args(decomposer, settings))
        print(f"[demo] {label} ({lm.config.label}): {', '.join(tasks)}, {settings.limit} docs each", file=sys.stderr)
        paths[label] = evaluate_to_dir(lm, tasks, runs_dir, limit=settings.limit, apply_chat_template=True)
    return paths


def run_file(run: Path, kind: str, task: str) -> Path:
    """The one samples/traces file of a task in one demo run folder (run_all writes one date)."""
    results = rundir.find_results_file(run)[0]
    path = rundir.run_file(results, task, kind)
    if not path.is_file():
        raise FileNotFoundError(f"expected a {kind} file for {task} in {run}: no {path.name}")
    return path


def read_jsonl(run: Path, kind: str, task: str) -> list[dict]:
    return rundir.read_jsonl(run_file(run, kind, task))


def decomposition_rate(run: Path, task: str) -> tuple[int, int, float]:
    """(docs with sub-questions, docs, mean sub-questions) from the run's traces."""
    counts = [len(t.subquestions) for t in rundir.read_traces(run_file(run, rundir.TRACES, task))]
    return sum(c > 0 for c in counts), len(counts), sum(counts) / max(len(counts), 1)


def decomposition_table(paths: dict[str, Path], task: str) -> str:
    lines = ["| run | docs with sub-questions | mean sub-questions |", "|---|---:|---:|"]
    for label, run in paths.items():
        with_subq, n, mean = decomposition_rate(run, task)
        lines.append(f"| {label} | {with_subq}/{n} ({with_subq / max(n, 1):.0%}) | {mean:.2f} |")
    return "\n".join(lines) + "\n"


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def verdicts(report: ComparisonReport) -> list[str]:
    """Each comparison in plain words: what differs, by how much, and how sure."""
    lines = []
    for c in report.comparisons:
        what = f"{c.b} vs {c.a} ({c.metric}, {c.filter}): {c.mean_b:.2f} vs {c.mean_a:.2f}, difference {c.diff:+.2f} "
        what += f"(95% CI {c.ci_low:+.2f} to {c.ci_high:+.2f}; Holm-adjusted p = {_p(c.p_adjusted)}, n = {c.n})"
        if c.significant:
            lines.append(f"{what}: {c.b} is {'better' if c.diff > 0 else 'worse'}.")
        elif c.mdd is not None and c.mdd == c.mdd:  # None or NaN: the power analysis had no answer
            lines.append(
                f"{what}: no significant difference; with {c.n} docs only a difference of about ±{c.mdd:.2f} or more is detectable."
            )
        else:
            lines.append(f"{what}: no significant difference.")
    return lines


def headline(report: ComparisonReport, filter_name: str = "strict-match") -> str:
    """One line: the means under one filter, and which differences are significant."""
    means = ", ".join(f"{s.label} {s.mean:.2f}" for s in report.summaries if s.filter == filter_name)
    found = [
        f"{c.b} vs {c.a} {c.diff:+.2f} (Holm p {_p(c.p_adjusted)})"
        for c in report.comparisons
        if c.significant and c.filter == filter_name
    ]
    verdict = ("significant: " + "; ".join(found)) if found else "no significant difference"
    return f"{filter_name} accuracy: {means}; {verdict}"


def _swap_in(new: Path, target: Path) -> None:
    """Replace ``target`` by ``new`` with two renames; the old folder is deleted afterwards."""
    trash = target.with_name(f".{target.name}.old")
    shutil.rmtree(trash, ignore_errors=True)
    if target.exists():
        target.rename(trash)
    new.rename(target)
    shutil.rmtree(trash, ignore_errors=True)


def write_demo_report(report: ComparisonReport, paths: dict[str, Path], out: Path, header: str) -> Path:
    write_report(report, out)
    report_md = out / "report.md"
    body = "\n".join(f"- {v}" for v in verdicts(report))
    rates = decomposition_table(paths, TASK)
    report_md.write_text(
        f"{header}\n## What differs\n\n{body}\n\n## Decomposition rate\n\n{rates}\n" + report_md.read_text()
    )
    return report_md


def committed_runs(out: Path) -> dict[str, Path]:
    """label -> run folder of the runs under OUT/runs, recognised by their decomposer backend."""
    labels = {backend: label for label, backend in RUNS}
    paths: dict[str, Path] = {}
    for folder in sorted(p for p in (out / "runs").glob("*") if p.is_dir()):
        results = rundir.read_json(rundir.find_results_file(folder)[0])
        backend = ((results.get("config") or {}).get("dq") or {}).get("decomposer", {}).get("backend")
        if backend in labels:
            paths[labels[backend]] = folder
    missing = [label for label, _ in RUNS if label not in paths]
    if missing:
        raise DQError(f"{out}/runs lacks the demo runs {missing}; run `make demo` to write them")
    return {label: paths[label] for label, _ in RUNS}


def report_only(out: Path) -> int:
    """The report of the runs already under OUT/runs; the header keeps the run's own line."""
    paths = committed_runs(out)
    report = compare_runs(list(paths.values()), labels=list(paths), baseline="single-stage", iterations=10_000, seed=0)
    old = (out / "report.md").read_text().split("\n## What differs")[0] if (out / "report.md").exists() else ""
    note = "Report rebuilt from these runs (no model run) by `python -m harness_ext.demo --report-only`."
    kept = [line for line in old.rstrip().splitlines() if line != note]  # rerunning adds no second note
    header = "\n".join(kept or ["# Demo", ""]) + "\n" + note + "\n"
    report_md = write_demo_report(report, paths, out, header)
    print(f"[demo] report: {report_md} | {headline(report)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness_ext.demo", description=__doc__)
    parser.add_argument("--out", default="results/demo")
    parser.add_argument("--limit", type=int, default=Settings.limit)
    parser.add_argument("--batch_size", type=int, default=Settings.batch_size)
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rebuild report.md, comparisons and plots from OUT/runs without running a model "
        "(after a scorer change: python -m dq_tasks.rescore OUT/runs/*, then this)",
    )
    args = parser.parse_args(argv)
    settings = Settings(limit=args.limit, batch_size=args.batch_size)
    out = Path(args.out)
    if args.report_only:
        return report_only(out)
    start = time.perf_counter()
    partial = out / "runs.partial"
    shutil.rmtree(partial, ignore_errors=True)  # left by an interrupted demo
    fresh = run_all([TASK], settings, partial)
    _swap_in(partial, out / "runs")
    paths = {label: out / "runs" / p.relative_to(partial) for label, p in fresh.items()}
    report = compare_runs(list(paths.values()), labels=list(paths), baseline="single-stage", iterations=10_000, seed=0)
    command = "make demo  # = python -m harness_ext.demo " + shlex.join(argv if argv is not None else sys.argv[1:])
    header = (
        f"# Demo: does a decomposer help SmolLM2-135M-Instruct on {TASK}?\n\n"
        f"Regenerate: `{command}`. {settings.limit} docs, greedy, chat template on, at most "
        f"{settings.decomposer_toks} new tokens for the decomposer and {settings.solver_toks} for the solver; "
        f"wall time {time.perf_counter() - start:.0f} s. How the task was chosen: [README.md](README.md).\n"
    )
    report_md = write_demo_report(report, paths, out, header)
    from harness_ext.view.site import build_site

    site = build_site([out], out / "site")  # dq view: leaderboard, discordant docs, traces
    print(f"[demo] site: {site}", file=sys.stderr)
    print(f"[demo] report: {report_md} | {headline(report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
