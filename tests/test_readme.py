"""README's quick start and tour, pasted into a fresh bash (smaller --limit and token budget)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.model]
REPO = Path(__file__).resolve().parent.parent


def block_after(heading: str) -> str:
    text = (REPO / "README.md").read_text()
    section = text.split(heading, 1)[1]
    return re.search(r"```bash\n(.*?)```", section, re.S).group(1)


def paste(script: str, cwd: Path) -> subprocess.CompletedProcess:
    script = (
        script.replace("source .venv/bin/activate", f"source {REPO}/.venv/bin/activate")
        .replace("../shared/data", os.environ.get("DQ_DATA_DIR") or str(REPO.parent / "shared" / "data"))
        .replace("--limit 20", "--limit 2")
        .replace("--limit 10", "--limit 2")
        .replace("max_gen_toks=128", "max_gen_toks=16")
    )
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "DQ_DATA_DIR")}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"  # a fresh shell: no venv on PATH until activated
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=1200)  # fmt: skip


def test_quick_start_and_tour_run_when_pasted(tmp_path):
    quick = paste(block_after("## Quick start"), tmp_path)
    assert quick.returncode == 0, quick.stderr[-3000:]
    assert list((tmp_path / "out").glob("two_stage__*/traces_gsm8k_dq_*.jsonl"))
    tour = paste("source .venv/bin/activate\n" + block_after("## A 5-minute tour"), tmp_path)
    assert tour.returncode == 0, tour.stderr[-3000:]
    assert (tmp_path / "out" / "report" / "report.md").exists()
