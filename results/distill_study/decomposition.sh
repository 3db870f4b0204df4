#!/usr/bin/env bash
# Decomposition quality of the study's decomposers, from the traces of its cells (smol solver
# cells; the decomposition does not depend on the solver) -> results/distill_study/decomposition.md
set -euo pipefail
cd "$(dirname "$0")/../.."
C=results/distill_study/cells
{
  echo "# Decompositions of the decomposer students, read from the study's traces"
  echo
  echo "Regenerate: \`bash results/distill_study/decomposition.sh\` (uses results/distill/decomp_agreement.py;"
  echo "docs paired by doc_hash; Wilson / bootstrap 95% CIs; exact McNemar vs oracle)."
  for t in d2 d3; do
    echo
    echo "## dq_synth_easy_$t (150 test docs)"
    echo
    OMP_NUM_THREADS=1 .venv/bin/python results/distill/decomp_agreement.py \
      oracle=$C/dq_synth_easy_${t}__oracle__smol backbone=$C/dq_synth_easy_${t}__smol__smol \
      sd_t=$C/dq_synth_easy_${t}__sd_t__smol sd_r=$C/dq_synth_easy_${t}__sd_r__smol 2>/dev/null | tail -6
  done
} > results/distill_study/decomposition.md
