"""The student's optimisation, on transformers' ``Trainer``: AdamW, linear warm-up then linear
decay, gradient clipping at 1.0, gradient accumulation, checkpoints, mixed precision and
multi-device runs all come from the library. Only the data (masked examples, our collator)
and the loss log are ours."""

from __future__ import annotations

import os
from typing import Any

from harness_ext.distill.examples import Example, TrainConfig, TrainLog, checkpoint_dir, collate
from harness_ext.errors import DQError


class _Rows:
    """A map-style dataset over encoded examples (the Trainer's sampler shuffles it by seed)."""

    def __init__(self, examples: list[Example]):
        self.examples = examples

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> Example:
        return self.examples[i]


def training_arguments(cfg: TrainConfig, steps: int, has_val: bool):
    import torch
    from transformers import TrainingArguments

    if cfg.precision == "bf16" and not (torch.cuda.is_available() and torch.cuda.is_bf16_supported()):
        raise DQError("--precision bf16 needs a GPU that supports bfloat16; use fp32 on CPU")
    if cfg.precision == "fp16" and not torch.cuda.is_available():
        raise DQError("--precision fp16 needs a CUDA GPU; use fp32 on CPU")
    eval_every = cfg.eval_every or max(1, steps // 8)
    return TrainingArguments(
        output_dir=str(checkpoint_dir(cfg.out)),
        max_steps=steps,
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.lr,
        weight_decay=0.0,
        lr_scheduler_type="linear",
        warmup_steps=max(1, int(steps * cfg.warmup_fraction)),
        max_grad_norm=1.0,
        logging_steps=1,
        eval_strategy="steps" if has_val else "no",
        eval_steps=eval_every,
        save_strategy="steps" if cfg.save_every else "no",
        save_steps=cfg.save_every or 500,
        save_total_limit=2,
        seed=cfg.seed,
        data_seed=cfg.seed,
        bf16=cfg.precision == "bf16",
        fp16=cfg.precision == "fp16",
        report_to="none",
        disable_tqdm=True,
        dataloader_pin_memory=False,
        remove_unused_columns=False,  # our examples are dataclasses, not a datasets.Dataset
        include_num_input_tokens_seen="non_padding",  # the student's training cost, in the log
    )


def _progress(steps: int):
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        """One line per evaluation instead of the Trainer's dict per log step."""

        def on_log(self, args, state, control, logs=None, **kwargs):
            if "eval_loss" in (logs or {}) and state.is_world_process_zero and state.global_step:
                train = [h["loss"] for h in state.log_history if "loss" in h]
                last = f"{train[-1]:.4f}" if train else "-"
                print(f"dq distill train: step {state.global_step}/{steps} train {last} val {logs['eval_loss']:.4f}")

    return Progress()


def read_history(log: TrainLog, history: list[dict[str, Any]]) -> None:
    """The Trainer's log history (kept across --resume) -> the log's loss curves."""
    for entry in history:
        step = int(entry.get("step", 0))
        if "loss" in entry:
            log.train_loss.append((step, round(float(entry["loss"]), 6)))
        if "eval_loss" in entry and (not log.val_loss or log.val_loss[-1][0] != step):
            log.val_loss.append((step, round(float(entry["eval_loss"]), 6)))


def run_trainer(
    cfg: TrainConfig, log: TrainLog, model, tokenizer, train_set: list[Example], val_set: list[Example]
) -> tuple[Any, bool]:
    """Train ``model`` for ``log.steps`` optimizer steps; returns (model, is main process)."""
    from transformers import PrinterCallback, Trainer

    args = training_arguments(cfg, log.steps, bool(val_set))
    log.device = str(args.device)
    trainer = Trainer(
        model=model,
        args=args,
        data_collator=lambda batch: collate(batch, tokenizer.pad_token_id),
        train_dataset=_Rows(train_set),
        eval_dataset=_Rows(val_set) if val_set else None,
        callbacks=[_progress(log.steps)],
    )
    trainer.remove_callback(PrinterCallback)
    if val_set and not cfg.resume:  # the step-0 point (train() starts a fresh state, so keep it here)
        log.val_loss.append((0, round(float(trainer.evaluate()["eval_loss"]), 6)))
    trainer.train(resume_from_checkpoint=log.resumed_from)
    if val_set and log.steps % args.eval_steps:
        trainer.evaluate()  # the curve always ends at the last step
    read_history(log, trainer.state.log_history)
    log.tokens_seen = int(trainer.state.num_input_tokens_seen)
    # Forward + backward ≈ 6 x parameters x tokens, with the parameters counted as `dq study`
    # counts them for inference (all unique weights); the Trainer's total_flos counts padding.
    log.train_flops = 6.0 * model.num_parameters() * log.tokens_seen
    # RANK too: a launcher can start ranks that the Trainer does not join into one group (torchrun
    # on CPU); each then trains alone, and only rank 0 may write the student.
    return trainer.model, trainer.is_world_process_zero() and os.environ.get("RANK", "0") == "0"
