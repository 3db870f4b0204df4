#!/usr/bin/env bash
# Rewrite this study's reports from its committed cells, no model runs (a few seconds):
# leaderboard.md (rank intervals), generalization.md + sections.json (ranks, overall ranking,
# cost frontier, generalization by decomposer vs the backbone and by solver vs the backbone,
# the d2 -> d3 cross-task table), comparisons.json, compare/, plots/, study.json's "report".
# Rerun after anything rescores the cells' samples.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
"$PY" -m harness_ext.study.report results/distill_study \
  --reference decomposer=smol --reference solver=smol \
  --trained-on sd_t=dq_synth_easy_d2 --trained-on sd_r=dq_synth_easy_d2 --trained-on se_t=dq_synth_easy_d2
