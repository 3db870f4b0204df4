"""What a training run consumes and reports: its config, the masked examples, the collator,
the loss log and where its checkpoints live (shared by train.py and trainer.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

IGNORE = -100  # label value the causal-LM loss skips
Precision = Literal["fp32", "bf16", "fp16"]


@dataclass
class TrainConfig:
    data: str
    base: str
    out: str
    epochs: float = 1.0
    lr: float = 5e-5
    max_steps: int | None = None
    lora: bool = False
    seed: int = 0
    val_fraction: float = 0.1
    batch_size: int = 4
    grad_accum: int = 1
    max_length: int = 384
    warmup_fraction: float = 0.1
    eval_every: int | None = None  # steps; default: about 8 evaluations per run
    save_every: int | None = None  # steps between resumable checkpoints; None: no checkpoints
    resume: bool = False  # continue from the newest checkpoint in checkpoint_dir(out)
    precision: Precision = "fp32"


@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]


@dataclass
class TrainLog:
    config: dict[str, Any]
    device: str = "cpu"
    train_rows: int = 0
    val_rows: int = 0
    dropped_rows: int = 0
    truncated_rows: int = 0
    steps: int = 0
    train_loss: list[tuple[int, float]] = field(default_factory=list)
    val_loss: list[tuple[int, float]] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    resumed_from: str | None = None
    tokens_seen: int = 0  # non-padding input tokens of the training batches (prompt included)
    train_flops: float = 0.0  # 6 x parameters x tokens_seen (forward + backward)


def collate(batch: list[Example], pad_id: int) -> dict[str, Any]:
    """Right padding (positions stay those of unpadded inference); padded labels are ignored."""
    import torch

    width = max(len(e.input_ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, e in enumerate(batch):
        ids[i, : len(e.input_ids)] = torch.tensor(e.input_ids)
        labels[i, : len(e.labels)] = torch.tensor(e.labels)
        mask[i, : len(e.input_ids)] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def checkpoint_dir(out: str | Path) -> Path:
    """Resumable Trainer checkpoints live beside the student, never inside it."""
    out = Path(out)
    return out.parent / f".{out.name}.checkpoints"
