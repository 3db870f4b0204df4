"""Decomposition quality of two_stage runs on a dq_synth task, read from their traces.

End-task exact match sits at the floor for a 135M solver on depth-4 problems, so this measures
what distillation changes directly: how often the decomposer's parsed sub-questions equal the
gold ones (capped at 3, as the oracle teacher's), and what fraction of gold sub-questions it
asks. 95 % CIs: Wilson for the 0/1 measure, bootstrap for the fraction; paired exact McNemar
between each run and the first.

    python results/distill/decomp_agreement.py LABEL=RUN_DIR ...
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from harness_ext.distill.export import load_teacher_run
from harness_ext.distill.guard import normalize_question
from harness_ext.compare.stats import mcnemar_pvalues, mean_ci

CAP = 3


def per_doc(run_dir: str) -> dict[str, tuple[float, float]]:
    """doc_hash -> (exact list match, fraction of gold sub-questions asked)."""
    out = {}
    for docs in load_teacher_run(run_dir).docs.values():
        for rec in docs.values():
            gold = [normalize_question(q) for q in rec.doc["gold_subquestions"][:CAP]]
            pred = [normalize_question(q) for q in (rec.trace.subquestions if rec.trace else None) or []]
            out[rec.doc_hash] = (float(pred == gold), sum(q in pred for q in gold) / len(gold))
    return out


def main(argv: list[str]) -> None:
    runs = [(a.split("=", 1)[0], per_doc(a.split("=", 1)[1])) for a in argv]
    keys = sorted(set.intersection(*(set(r) for _, r in runs)))
    print(f"{len(keys)} docs in common\n")
    print("| decomposer | exact sub-question list (95% CI) | gold sub-questions asked (95% CI) | McNemar p vs first (exact list) |")
    print("|---|---|---|---|")
    first = np.array([runs[0][1][k][0] for k in keys])
    for label, res in runs:
        exact = np.array([res[k][0] for k in keys])
        frac = np.array([res[k][1] for k in keys])
        e, f = mean_ci(exact, binary=True), mean_ci(frac, binary=False)
        n01, n10 = int(((first == 0) & (exact == 1)).sum()), int(((first == 1) & (exact == 0)).sum())
        p = "—" if label == runs[0][0] else f"{float(mcnemar_pvalues(n01, n10)):.3g}"  # exact McNemar
        print(f"| {label} | {e.statistic:.3f} [{e.ci_low:.3f}, {e.ci_high:.3f}] | {f.statistic:.3f} [{f.ci_low:.3f}, {f.ci_high:.3f}] | {p} |")


if __name__ == "__main__":
    main(sys.argv[1:])
