"""Training curves and cost of the three students, from their distill_log.json files.

    python results/distill_study/training_summary.py   # after build_students.sh

Reads results/distill_study/training/log-*.json (copied there by build_students.sh) and the
exported rows in out/distill_study/data/ (to count the tokens each student was trained on);
writes training/curves.png and prints a markdown table (kept as training/summary.md).
Training FLOPs ≈ 6 × parameters × tokens processed (forward + backward), the usual estimate.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
STUDENTS = {
    "sd_t": "S_D-T (decomposer, every gold decomposition)",
    "sd_r": "S_D-R (decomposer, gold decompositions the backbone solved with)",
    "se_t": "S_E-T (solver, gold step-by-step solutions)",
}
PARAMETERS = 134_515_008  # SmolLM2-135M (tied embeddings), counted from the loaded model


def mean_tokens(data: Path, max_length: int) -> float:
    """Mean tokens per training example, prompt included, as the trainer encodes them."""
    sys.path.insert(0, str(ROOT))
    from transformers import AutoTokenizer

    from harness_ext.distill.train import format_example
    from harness_ext.serve.packaged import resolve_pretrained

    tok = AutoTokenizer.from_pretrained(str(resolve_pretrained("smollm2-135m")))
    rows = [json.loads(line) for line in data.read_text().splitlines() if line.strip()]
    lengths = [len(ex.input_ids) for ex in (format_example(tok, r["messages"], max_length)[0] for r in rows) if ex]
    return sum(lengths) / len(lengths)


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data_dir = Path(os.environ.get("DQ_STUDENTS", ROOT / "out/distill_study")) / "data"
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), sharey=False)
    print(
        "| student | rows (train/val) | steps × batch | examples seen | tokens/example | tokens | training FLOPs | "
        "wall s (1 thread) | val loss start → end |"
    )
    print("|:---|---:|---:|---:|---:|---:|---:|---:|:---|")
    for ax, (name, title) in zip(axes, STUDENTS.items()):
        log = json.loads((HERE / "training" / f"log-{name}.json").read_text())
        cfg = log["config"]
        seen = log["steps"] * cfg["batch_size"] * cfg["grad_accum"]
        per = mean_tokens(data_dir / Path(cfg["data"]).name, cfg["max_length"])
        val = log["val_loss"]
        print(
            f"| {name} | {log['train_rows']}/{log['val_rows']} | {log['steps']} × {cfg['batch_size']} | {seen} | "
            f"{per:.0f} | {seen * per:,.0f} | {6 * PARAMETERS * seen * per:.2e} | {log['seconds']:.0f} | "
            f"{val[0][1]:.3f} → {val[-1][1]:.4f} |"
        )
        ax.plot(*zip(*log["train_loss"]), label="train", alpha=0.6)
        ax.plot(*zip(*val), "o-", label="validation")
        ax.set_yscale("log")
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("optimizer step")
    axes[0].set_ylabel("loss on reply tokens (log)")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(HERE / "training" / "curves.png", dpi=100)


if __name__ == "__main__":
    main()
