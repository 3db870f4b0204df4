"""Install the lm-eval post-import hook into this interpreter's site-packages.

A wheel carries dq_harness.pth and dq_harness_hook.py at its root (setup.py); an editable
install does not, so `make setup` runs ``python -m harness_ext.lmeval.hookfiles``.
"""

from __future__ import annotations

import shutil
import sys
import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HOOK_FILES = ("dq_harness.pth", "dq_harness_hook.py")


def install(site_dir: Path | None = None) -> list[Path]:
    site = Path(site_dir or sysconfig.get_paths()["purelib"])
    written = []
    for name in HOOK_FILES:
        source = REPO / name
        if not source.exists():
            raise SystemExit(f"dq: error: {source} is missing; run this from a checkout of dq-harness")
        shutil.copyfile(source, site / name)
        written.append(site / name)
    return written


if __name__ == "__main__":
    for path in install(Path(sys.argv[1]) if len(sys.argv) > 1 else None):
        print(f"installed {path}")
