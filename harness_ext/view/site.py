"""`dq view RUN_OR_STUDY_DIR... --out SITE_DIR`: write the static leaderboard / pair / doc site.

The site is index.html + app.js + style.css (hand-written, in assets/) and data/*.js files that
each call ``DQ.put(key, data)``. Script files, not JSON: browsers refuse fetch() of local files
on file://, but load <script src> fine, so the site works offline from disk with no server.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

from harness_ext.argv import parse_argv
from harness_ext.errors import DQError
from harness_ext.view.data import collect, index_payload
from harness_ext.view.taskdata import Payload, task_payloads

ASSETS = Path(__file__).parent / "assets"
ASSET_FILES = (
    "index.html",
    "style.css",
    "dq.js",
    "leaderboard.js",
    "pair.js",
    "doc.js",
    "generalization.js",
    "start.js",
)
MARKER = "data/index.js"  # a directory holding this is a dq view site we may overwrite


def _js(payload: Payload) -> str:
    # json.dumps output is a valid JS expression; ensure_ascii keeps the file charset-proof and
    # "</" is escaped so the text can never close a script element, whatever a model wrote.
    body = json.dumps(payload.data, ensure_ascii=True, separators=(",", ":")).replace("</", "<\\/")
    return f"DQ.put({json.dumps(payload.key)},{body});\n"


def _prepare(out: Path) -> None:
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise DQError(f"{out} exists and is not a dq view site; pick an empty or new --out directory")
    for sub in ("data", "plots"):
        shutil.rmtree(out / sub, ignore_errors=True)
    (out / "data").mkdir(parents=True, exist_ok=True)
    (out / "plots").mkdir(exist_ok=True)


def _copy_plots(col, out: Path) -> list[dict]:
    plots = []
    for s, src in enumerate(col.sources):
        for p in src.plots:
            rel = p.relative_to(src.root).as_posix()
            name = f"{s}_" + re.sub(r"[^A-Za-z0-9_.-]", "_", rel)
            shutil.copyfile(p, out / "plots" / name)
            plots.append({"source": s, "title": rel, "src": f"plots/{name}"})
    return plots


def build_site(paths: list[str | Path], out: str | Path, title: str | None = None) -> Path:
    """Write the site for the given study / compare / run dirs; returns the index.html path."""
    out = Path(out)
    col = collect(paths)
    _prepare(out)
    stats: dict[tuple[int, str], dict] = {}
    for t, task in enumerate(col.tasks()):
        for payload in task_payloads(col, t, task, stats):
            (out / "data" / f"{payload.key}.js").write_text(_js(payload), encoding="ascii")
    plots = _copy_plots(col, out)
    name = title or " + ".join(Path(p).name or str(p) for p in paths)
    index = Payload("index", index_payload(col, stats, plots, name))
    (out / MARKER).write_text(_js(index), encoding="ascii")
    for f in ASSET_FILES:
        shutil.copyfile(ASSETS / f, out / f)
    return out / "index.html"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dq view",
        description="Write a static HTML leaderboard, pair explorer and doc view (opens from file://, offline).",
    )
    p.add_argument(
        "paths", nargs="+", metavar="DIR", help="a dq study --out dir, a dq compare --out dir, or lm-eval run dirs"
    )
    p.add_argument("--out", required=True, metavar="SITE_DIR", help="where to write index.html and data/")
    p.add_argument("--title", help="page title (default: the input dir names)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parse_argv(build_parser(), argv)
    if isinstance(args, int):  # usage or help was printed
        return args
    index = build_site(args.paths, args.out, args.title)
    print(f"dq view: wrote {index} (open it in a browser; no server needed)", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
