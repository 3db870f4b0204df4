#!/usr/bin/env bash
# Rebuilds every student of results/distill_study (students are not committed; ~540 MB each):
#
#   results/distill_study/build_students.sh            # teacher, export, train
#   results/distill_study/build_students.sh train      # one step only
#
# Teacher: gold sub-questions (decomposer=oracle) of TRAIN_N problems of the dq_synth_easy_d2
# *train* split (generated with a different split key; any question text of the test set is
# skipped), solved by the backbone smollm2-135m with the study's settings. From that one run:
#   sd-t  every gold decomposition                        -> student S_D-T (decomposer)
#   sd-r  gold decompositions the backbone solved with    -> student S_D-R (decomposer)
#   se-g  the gold step-by-step solution, sub-questions in the prompt -> student S_E-T (solver)
# Every student: smollm2-135m, full fine-tune, the same steps, batch, learning rate and seed.
set -euo pipefail
cd "$(dirname "$0")/../.."
. .venv/bin/activate
export DQ_DATA_DIR=${DQ_DATA_DIR:-$(realpath ../shared/data)} TOKENIZERS_PARALLELISM=false
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
# One torch thread per process: the two students of a pair train side by side on 2 cores.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
OUT=${DQ_STUDENTS:-out/distill_study}
HERE=results/distill_study
TRAIN_N=${TRAIN_N:-600}
STEPS=${STEPS:-60}
step=${1:-all}

if [[ $step == all || $step == teacher ]]; then
  dq eval --model two_stage \
    --model_args decomposer=oracle,solver=hf,solver.pretrained=smollm2-135m,solver.dtype=float32,batch_size=32,solver_gen.max_gen_toks=64 \
    --tasks dq_synth_easy_d2 --metadata "{\"synth_split\": \"train\", \"synth_n\": $TRAIN_N}" \
    --apply_chat_template --output_path $OUT/teacher --log_samples
fi
if [[ $step == all || $step == export ]]; then
  for v in sd-t sd-r se-g; do
    dq distill export --run $OUT/teacher --variant $v --out $OUT/data/$v.jsonl
  done
fi
if [[ $step == all || $step == train ]]; then
  train() {  # $1 variant, $2 student name
    dq distill train --data $OUT/data/$1.jsonl --base smollm2-135m --out $OUT/students/$2 \
      --lr 5e-5 --max-steps $STEPS --batch-size 8 --val-fraction 0.05 --eval-every 10 --seed 0 \
      --eval-task dq_synth_easy_d2 --eval-task dq_synth_easy_d3 > $OUT/train-$2.log 2>&1
    cp $OUT/students/$2/loss.png $HERE/training/loss-$2.png
    cp $OUT/students/$2/distill_log.json $HERE/training/log-$2.json
  }
  mkdir -p $HERE/training
  train sd-t sd_t & train se-g se_t & wait
  train sd-r sd_r
  tail -n 2 $OUT/train-*.log
fi
