"""Supervised fine-tuning of a student on exported rows: loss on the assistant turn only.

Training runs on transformers' ``Trainer``, so what researchers expect on GPUs works unchanged:
gradient accumulation, checkpoints and ``--resume``, bf16/fp16, and ``accelerate launch -m
harness_ext.cli distill train ...`` across devices. This module owns only what is ours: the
prompt/reply masking (the prompt is exactly what the two_stage stage sends), the row split, the
contamination-guarded inputs, the loss log and plot, and an atomic save. The output is an
ordinary HF model directory, so ``decomposer.pretrained=DIR`` / ``solver.pretrained=DIR`` (or
``--model hf``) load it directly.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from harness_ext.distill.examples import IGNORE, Example, TrainConfig, TrainLog, checkpoint_dir
from harness_ext.distill.trainer import run_trainer
from harness_ext.errors import DQError


# --------------------------------------------------------------------------- formatting
def format_example(tokenizer, messages: list[dict[str, str]], max_length: int) -> tuple[Example | None, bool]:
    """Token ids with labels masked (-100) on everything but the assistant's reply.

    With a chat template the prompt is the template up to the generation prompt, exactly what
    the two_stage stage sends at evaluation time; without one (a base model) the stage sends the
    raw prompt, and the reply follows on a new line, ending in EOS so the student learns to stop.
    Returns (None, False) when truncation would leave no reply tokens.
    """
    head, reply = messages[:-1], messages[-1]["content"]
    if getattr(tokenizer, "chat_template", None):
        prompt = tokenizer.apply_chat_template(head, add_generation_prompt=True, tokenize=False)
        full = tokenizer.apply_chat_template(messages, tokenize=False)
        if not full.startswith(prompt):
            raise DQError(
                "the base model's chat template does not extend the generation prompt with the "
                "reply; cannot tell prompt from target tokens"
            )
        completion = full[len(prompt) :]
    else:
        prompt = "\n\n".join(m["content"] for m in head)
        completion = "\n" + reply + (tokenizer.eos_token or "")
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    completion_ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
    ids = (prompt_ids + completion_ids)[:max_length]
    labels = ([IGNORE] * len(prompt_ids) + completion_ids)[:max_length]
    if all(label == IGNORE for label in labels):
        return None, True
    return Example(ids, labels), len(prompt_ids) + len(completion_ids) > max_length


def split_rows(rows: list[dict], fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """Seeded shuffle, then the first ``fraction`` (at least one row when > 0) is validation."""
    if not 0 <= fraction < 1:
        raise DQError(f"--val-fraction must be in [0, 1), got {fraction}")
    order = list(rows)
    random.Random(seed).shuffle(order)
    n_val = 0 if fraction == 0 else max(1, round(len(order) * fraction))
    if len(order) - n_val < 1:
        raise DQError(f"{len(rows)} rows leave nothing to train on with --val-fraction {fraction}")
    return order[n_val:], order[:n_val]


# --------------------------------------------------------------------------- model
def load_base(base: str, lora: bool):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from harness_ext.serve.packaged import resolve_pretrained

    if lora:
        try:
            import peft  # noqa: F401
        except ImportError:
            raise DQError("--lora needs the peft package: pip install peft") from None
    path = str(resolve_pretrained(base))
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype="float32")
    except (OSError, ValueError) as exc:
        raise DQError(f"--base {base}: cannot load a causal LM from {path} ({str(exc).splitlines()[0]})") from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    if lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(  # type: ignore[assignment]
            model,
            LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM"),
        )
    return tokenizer, model


# --------------------------------------------------------------------------- the run
def _encode(tokenizer, rows: list[dict], max_length: int, log: TrainLog) -> list[Example]:
    out = []
    for row in rows:
        example, truncated = format_example(tokenizer, row["messages"], max_length)
        log.truncated_rows += truncated and example is not None
        if example is None:
            log.dropped_rows += 1
        else:
            out.append(example)
    return out


def _check_config(cfg: TrainConfig) -> None:
    if cfg.batch_size < 1 or cfg.grad_accum < 1 or cfg.max_length < 8:
        raise DQError("--batch-size and --grad-accum must be >= 1 and --max-length >= 8")
    if cfg.save_every is not None and cfg.save_every < 1:
        raise DQError(f"--save-every must be >= 1 step, got {cfg.save_every}")
    if cfg.resume and not _newest_checkpoint(cfg):
        raise DQError(
            f"--resume: no checkpoint in {checkpoint_dir(cfg.out)}; checkpoints are written only "
            "by a run with --save-every N (drop --resume to start over)"
        )


def _newest_checkpoint(cfg: TrainConfig) -> str | None:
    """The newest *complete* checkpoint. The Trainer writes trainer_state.json last, so a run
    killed mid-save leaves a newer folder without it (or with it cut off): skip such folders
    (transformers' get_last_checkpoint takes the highest number, complete or not)."""
    folder = checkpoint_dir(cfg.out)
    found = sorted(folder.glob("checkpoint-*"), key=_step, reverse=True) if folder.is_dir() else []
    return next((str(p) for p in found if _step(p) >= 0 and _complete(p)), None)


def _drop_incomplete(folder: Path) -> None:
    """Half-written folders would otherwise count in the Trainer's save_total_limit rotation."""
    for path in folder.glob("checkpoint-*"):
        if not _complete(path):
            shutil.rmtree(path, ignore_errors=True)


def _step(path: Path) -> int:
    tail = path.name.removeprefix("checkpoint-")
    return int(tail) if tail.isdigit() else -1


def _complete(path: Path) -> bool:
    try:
        json.loads((path / "trainer_state.json").read_text())
    except (OSError, ValueError):
        return False
    return True


def train(cfg: TrainConfig, rows: list[dict], notes: list[str] | None = None) -> TrainLog:
    _check_config(cfg)
    check_out(Path(cfg.out))
    log = TrainLog(asdict(cfg), notes=list(notes or []))
    tokenizer, model = load_base(cfg.base, cfg.lora)
    train_rows, val_rows = split_rows(rows, cfg.val_fraction, cfg.seed)
    train_set = _encode(tokenizer, train_rows, cfg.max_length, log)
    val_set = _encode(tokenizer, val_rows, cfg.max_length, log)
    if not train_set:
        raise DQError(f"no training rows left after truncation to --max-length {cfg.max_length}")
    log.train_rows, log.val_rows = len(train_set), len(val_set)
    per_step = cfg.batch_size * cfg.grad_accum
    log.steps = cfg.max_steps or max(1, math.ceil(cfg.epochs * len(train_set) / per_step))
    log.resumed_from = _newest_checkpoint(cfg) if cfg.resume else None
    if log.resumed_from:
        _drop_incomplete(checkpoint_dir(cfg.out))
    start = time.perf_counter()
    model, main_process = run_trainer(cfg, log, model, tokenizer, train_set, val_set)
    log.seconds = round(time.perf_counter() - start, 2)
    if main_process:  # under `accelerate launch` every rank trains; one writes the student
        save(model, tokenizer, cfg, log)
        shutil.rmtree(checkpoint_dir(cfg.out), ignore_errors=True)  # the student is complete
    return log


# --------------------------------------------------------------------------- output
def check_out(out: Path) -> None:
    """Only an earlier student (it has distill_log.json) may be replaced, never another folder."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "distill_log.json").exists())):
        raise DQError(f"--out {out} exists and is not a previous `dq distill train` output; choose a new directory")


def plot_losses(log: TrainLog, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    if log.train_loss:
        ax.plot(*zip(*log.train_loss), label="train (per step)", alpha=0.6)
    if log.val_loss:
        ax.plot(*zip(*log.val_loss), "o-", label="validation")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (reply tokens)")
    ax.set_title(f"{Path(log.config['base']).name} <- {Path(log.config['data']).name}", fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def save(model, tokenizer, cfg: TrainConfig, log: TrainLog) -> Path:
    """Write into a temp dir next to ``out`` and rename: no half-written student on a crash."""
    out = Path(cfg.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        if cfg.lora:  # merge the adapters: the result loads without peft
            model = model.merge_and_unload()
        model.to("cpu").float().save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "distill_log.json").write_text(json.dumps(asdict(log), indent=2) + "\n")
        plot_losses(log, tmp / "loss.png")
        if out.exists():
            shutil.rmtree(out)
        tmp.chmod(0o755)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
