#!/usr/bin/env bash
# The distillation demo behind results/distill/README.md (CPU; see the README for timings).
# Teacher = gold sub-questions (decomposer=oracle) of the dq_synth_d4 *train* split, solved by
# smollm2-135m; students = SmolLM2-135M decomposers distilled with sd-t and sd-r (LoRA, merged);
# everything is evaluated on the first 40 docs of the dq_synth_d4 test split with the same solver.
set -euo pipefail
cd "$(dirname "$0")/../.."
. .venv/bin/activate
export DQ_DATA_DIR=${DQ_DATA_DIR:-$(realpath ../shared/data)} TOKENIZERS_PARALLELISM=false
# One torch thread: on 2 shared, oversubscribed cores, 2 OpenMP threads spin-wait and ran
# 8x slower in wall time (10x the CPU) than 1 thread in a measurement here.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
R=results/distill/runs
S=out/distill  # students (HF dirs, ~540 MB each) stay out of git
EVAL="--tasks dq_synth_d4 --limit 40 --apply_chat_template --batch_size 16 --log_samples"
SOLVER="solver=hf,solver.pretrained=smollm2-135m"
step=${1:-all}

if [[ $step == all || $step == teacher ]]; then
  # Teacher on 80 train-split problems (disjoint from the test set by construction).
  dq eval --model two_stage --model_args decomposer=oracle,$SOLVER --tasks dq_synth_d4 \
    --metadata '{"synth_split": "train", "synth_n": 80}' --apply_chat_template --batch_size 16 \
    --output_path $R/teacher_train --log_samples
fi
if [[ $step == all || $step == refs ]]; then
  # Reference points on the test split: untrained backbone decomposer, and the teacher itself.
  dq eval --model two_stage --model_args decomposer=hf,decomposer.pretrained=smollm2-135m,$SOLVER $EVAL --output_path $R/base
  dq eval --model two_stage --model_args decomposer=oracle,$SOLVER $EVAL --output_path $R/teacher_test
fi
if [[ $step == all || $step == export ]]; then
  dq distill export --run $R/teacher_train --variant sd-t --out results/distill/data/sd-t.jsonl
  # In our run the teacher solver got 0/80 right, so sd-r keeps nothing and export exits 2.
  dq distill export --run $R/teacher_train --variant sd-r --out results/distill/data/sd-r.jsonl || true
fi
if [[ $step == all || $step == train ]]; then
  for v in sd-t sd-r; do
    [[ -f results/distill/data/$v.jsonl ]] || { echo "no $v rows: skipped"; continue; }
    dq distill train --data results/distill/data/$v.jsonl --base smollm2-135m --out $S/student-$v \
      --lora --lr 3e-4 --max-steps ${STEPS:-20} --batch-size 2 --val-fraction 0.1 --eval-every 5 --seed 0
    cp $S/student-$v/loss.png results/distill/loss-$v.png
    cp $S/student-$v/distill_log.json results/distill/train-log-$v.json
  done
fi
if [[ $step == all || $step == eval ]]; then
  for v in sd-t sd-r; do
    [[ -d $S/student-$v ]] || continue
    dq eval --model two_stage --model_args decomposer=hf,decomposer.pretrained=$S/student-$v,$SOLVER $EVAL \
      --output_path $R/student-$v
  done
fi
if [[ $step == all || $step == compare ]]; then
  dq compare $R/base $R/teacher_test $R/student-sd-t \
    --labels backbone teacher-oracle student-sd-t --baseline backbone --seed 0 \
    --out results/distill/compare | tee results/distill/compare.md
  python results/distill/decomp_agreement.py backbone=$R/base teacher-oracle=$R/teacher_test \
    student-sd-t=$R/student-sd-t | tee results/distill/decomp_agreement.md
fi
