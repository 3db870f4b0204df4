"""Rewrite this folder's statistics from the committed runs, without running any model.

    python results/paper_grid_small/regenerate_report.py      # from anywhere

compare/, comparisons.json, leaderboard.md, generalization.md, sections.json and plots/ are what
`dq study` writes at its end (harness_ext.study.report.write_outputs) from study.json and the
cells' lm-eval outputs; this
calls that function with the current code. study.json itself (the run record) is left as it is;
the script says so if the report summary it holds would now differ.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path("results/paper_grid_small")


def _repo_relative(path: str) -> str:
    """study.json may hold repo-relative, ~ or absolute cell paths; the report prints them."""
    p = Path(path).expanduser()
    if p.is_absolute() and p.is_relative_to(ROOT):
        p = p.relative_to(ROOT)
    if not (p if p.is_absolute() else ROOT / p).is_dir():
        raise SystemExit(f"cell output {path} not found; run from a full checkout")
    return str(p)


def main() -> int:
    os.chdir(ROOT)  # the cells' paths are repo-relative
    sys.path.insert(0, str(ROOT))
    from dataclasses import replace

    from harness_ext.study.report import write_outputs
    from harness_ext.study.spec import load_study
    from harness_ext.study_record import read_study

    state = read_study(OUT)
    state.cells = [replace(c, output_dir=_repo_relative(c.output_dir)) if c.output_dir else c for c in state.cells]
    written = write_outputs(load_study(state.study_file), state, OUT)
    if written != state.report:
        print(f"note: study.json's report summary differs from this one: {json.dumps(written)}")
    print(f"wrote {OUT}/compare, comparisons.json, leaderboard.md, generalization.md, sections.json, plots/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
