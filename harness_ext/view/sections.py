"""The leaderboard-wide sections `dq view` shows: rank intervals, cost frontier, generalization.

A `dq study` or `dq compare --out` directory carries them in ``sections.json`` (written by
compare/sections_md.py, so the site shows exactly what the report says); for plain run
directories the ranks are computed here with the same code (compare/sections.py).
"""

from __future__ import annotations

import json
from typing import Any

from harness_ext.compare.generalize import Config
from harness_ext.compare.sections import build_sections
from harness_ext.errors import DQError


def _computed(col, s: int) -> dict[str, Any]:
    """Ranks for a source without sections.json: one build per compare_runs report of it."""
    merged: dict[str, Any] = {"ranks": {}, "metric_of": {}, "computed": True}
    for i, report in col.reports:
        if i != s:
            continue
        runs = {r.label: r for r in col.runs if r.source == s}
        tasks = list(dict.fromkeys(x.task for x in report.summaries))
        paths = {
            t: {
                lab: runs[lab].loaded[t].path for lab in dict.fromkeys(x.label for x in report.summaries if x.task == t)
            }
            for t in tasks
        }
        configs = [Config(lab, runs[lab].info()["decomposer"], runs[lab].info()["solver"]) for lab in runs]
        try:
            sec = build_sections(report, configs, paths, iterations=2000).to_dict()
        except DQError:
            continue
        merged["ranks"].update(sec["ranks"])
        merged["metric_of"].update(sec["metric_of"])
    return merged


def collect_sections(col) -> list[dict[str, Any]]:
    """One record per source: its sections.json, else ranks computed from its runs."""
    out = []
    for s, src in enumerate(col.sources):
        path = src.root / "sections.json"
        data = None
        if src.kind in ("study", "compare") and path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                col.notes.append(f"{path}: unreadable; ranks recomputed")
        out.append({"source": s, **(data if isinstance(data, dict) else _computed(col, s))})
    return out


def attach_ranks(rows: list[dict], sections: list[dict], source_of: dict[int, int]) -> None:
    """Give each leaderboard row its rank interval where its (task, metric, filter) was ranked."""
    by_source = {sec["source"]: sec for sec in sections}
    for row in rows:
        sec = by_source.get(source_of.get(row["run"], -1))
        if not sec or list(sec.get("metric_of", {}).get(row["task"], [])) != [row["metric"], row["filter"]]:
            continue
        for r in sec.get("ranks", {}).get(row["task"], []):
            if r["label"] == row["label"]:
                row["rank"] = {k: r.get(k) for k in ("statistic", "rank_low", "rank_high", "tied_with_best")}
