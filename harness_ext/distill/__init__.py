"""``dq distill``: export SFT rows from two_stage runs and train student decomposers/solvers.

    dq distill export --run RUN --variant {sd-t,sd-r,se-t,se-a} --out rows.jsonl [--fallback-run RUN2]
    dq distill train --data rows.jsonl --base smollm2-135m --out students/sd-t [--max-steps 100]
    accelerate launch -m harness_ext.cli distill train ...    # several GPUs: the same command

Heavy imports (torch, transformers, lm-eval) happen inside the subcommands, so ``-h`` is fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness_ext.argv import parse_argv
from harness_ext.distill.export import VARIANTS
from harness_ext.errors import DQError
from harness_ext.model.runtime import offline_defaults


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dq distill", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    e = sub.add_parser("export", help="two_stage run (samples + traces) -> chat-format SFT rows (JSONL)")
    e.add_argument("--run", required=True, help="lm-eval output dir, model subdir or results_*.json")
    e.add_argument(
        "--variant",
        required=True,
        choices=VARIANTS,
        help="sd-t/sd-r: decomposer rows (all / correct only); se-t/se-a: solver rows (teacher solution / "
        "with the gold answer); se-g: the gold step-by-step solution (dq_synth tasks)",
    )
    e.add_argument("--out", required=True, help="JSONL file to write (atomically)")
    e.add_argument("--fallback-run", help="sd-r: a doc also counts when this second run got it right")
    e.add_argument("--metric", help="per-doc correctness metric for sd-r (default: exact_match, acc, em or f1)")
    e.add_argument("--threshold", type=float, default=1.0, help="metric value that counts as correct (1.0)")
    e.add_argument("--task", action="append", help="export only this task (repeatable; default: all)")

    t = sub.add_parser("train", help="fine-tune a causal LM on exported rows (loss on the reply only)")
    t.add_argument("--data", required=True, help="JSONL rows from `dq distill export`")
    t.add_argument("--base", required=True, help="HF model dir or packaged name (smollm2-135m)")
    t.add_argument("--out", required=True, help="output HF model directory")
    t.add_argument("--epochs", type=float, default=1.0)
    t.add_argument("--lr", type=float, default=5e-5)
    t.add_argument("--max-steps", type=int, help="optimizer steps (overrides --epochs)")
    t.add_argument("--lora", action="store_true", help="train LoRA adapters (needs peft), merged on save")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--val-fraction", type=float, default=0.1)
    t.add_argument("--batch-size", type=int, default=4)
    t.add_argument("--grad-accum", type=int, default=1)
    t.add_argument("--max-length", type=int, default=384)
    t.add_argument("--eval-every", type=int, help="validation every N steps (default: ~8 times per run)")
    t.add_argument(
        "--eval-task",
        action="append",
        help="task the student will be scored on, for the contamination guard (default: the rows' tasks)",
    )
    t.add_argument("--eval-metadata", help="lm-eval --metadata JSON of that evaluation (e.g. synth_n)")
    t.add_argument("--save-every", type=int, help="write a resumable checkpoint every N steps (default: none)")
    t.add_argument("--resume", action="store_true", help="continue from the newest --save-every checkpoint")
    t.add_argument(
        "--precision", choices=("fp32", "bf16", "fp16"), default="fp32", help="mixed precision on GPU (fp32 on CPU)"
    )
    t.add_argument("--allow-overlap", action="store_true", help="train even on docs of the evaluation split")
    return p


def _export(args: argparse.Namespace) -> int:
    from harness_ext.distill.export import export

    stats = export(args.run, args.variant, args.out, args.fallback_run, args.metric, args.threshold, args.task)
    extra = f", {stats.from_fallback} from the fallback run" if stats.from_fallback else ""
    print(
        f"dq distill export: {stats.rows} {args.variant} rows from {stats.docs} docs "
        f"({stats.dropped_incorrect} dropped as incorrect{extra}, {stats.no_decomposition} 'No decomposition') "
        f"-> {args.out}"
    )
    return 0


def _train(args: argparse.Namespace) -> int:
    offline_defaults()
    from harness_ext.distill.export import read_rows
    from harness_ext.distill.guard import check_rows, parse_metadata
    from harness_ext.distill.train import TrainConfig, check_out, train

    cfg = TrainConfig(
        data=args.data,
        base=args.base,
        out=args.out,
        epochs=args.epochs,
        lr=args.lr,
        max_steps=args.max_steps,
        lora=args.lora,
        seed=args.seed,
        val_fraction=args.val_fraction,
        batch_size=args.batch_size,
        grad_accum=args.grad_accum,
        max_length=args.max_length,
        eval_every=args.eval_every,
        save_every=args.save_every,
        resume=args.resume,
        precision=args.precision,
    )
    check_out(Path(cfg.out))  # fail before the (slow) guard and model load
    rows = read_rows(args.data)
    notes = check_rows(rows, args.eval_task, args.allow_overlap, parse_metadata(args.eval_metadata))
    for note in notes:
        print(f"dq distill train: {note}")
    log = train(cfg, rows, notes)
    last_val = f", val loss {log.val_loss[0][1]:.3f} -> {log.val_loss[-1][1]:.3f}" if log.val_loss else ""
    print(
        f"dq distill train: {log.steps} steps on {log.train_rows} rows ({log.device}, {log.seconds:.0f} s)"
        f"{last_val} -> {args.out} (loss.png, distill_log.json)"
    )
    return 0


def main(argv: list[str]) -> int:
    args = parse_argv(build_parser(), argv)
    if isinstance(args, int):  # usage or help was printed
        return args
    if args.command == "export":
        return _export(args)
    return _train(args)


__all__ = ["main", "DQError"]
