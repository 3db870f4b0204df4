#!/usr/bin/env bash
# Static vs dynamic decomposition (the paper's Table 6 shape) with SmolLM2-135M in both roles.
# Regenerates everything in results/dynamic/ (run from the repo root, DQ_DATA_DIR set):
#   bash results/dynamic/run.sh
set -euo pipefail
LIMIT=${LIMIT:-10}
SMOL="decomposer=hf,decomposer.pretrained=smollm2-135m,decomposer.dtype=float32,solver=hf,solver.pretrained=smollm2-135m,solver.dtype=float32"
GEN="decomposer_gen.max_gen_toks=64,solver_gen.max_gen_toks=128,cache=results/dynamic/stage_cache.sqlite"
for mode in static dynamic; do
  rm -rf "results/dynamic/runs/$mode"
  dq eval --model two_stage --model_args "$SMOL,$GEN,mode=$mode" --tasks dq_paper,dq_synth_d4 --limit "$LIMIT" \
    --apply_chat_template --batch_size 16 --device cpu --output_path "results/dynamic/runs/$mode" --log_samples
done
dq compare results/dynamic/runs/static results/dynamic/runs/dynamic --labels static dynamic --baseline static \
  --out results/dynamic/compare
python -m harness_ext.study.trace_stats results/dynamic/runs/static results/dynamic/runs/dynamic --labels static dynamic \
  > results/dynamic/tokens.md
