"""Shared fixtures: offline env, the shared data dir, and a tiny randomly initialized model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lm_eval.api.instance import Instance

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("DQ_DATA_DIR", str(REPO.parent / "shared" / "data"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def build_tiny_model(path: Path) -> Path:
    """A 2-layer Llama with a byte-level BPE trained on a few sentences: real, fast, random."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = [
        "What is 3 + 4? The answer is: 7.",
        "Sub-questions: How many apples? 1. 2. 3.",
        "Question: Ann has 5 pens. Context: a passage.",
        "No decomposition",
    ] * 20
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<s>", "</s>", "<pad>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    fast.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(path)
    fast.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    return str(build_tiny_model(tmp_path_factory.mktemp("tiny-llama")))


@pytest.fixture(scope="session")
def tasks_dir() -> Path:
    return REPO / "dq_tasks"


# --------------------------------------------------------------------------- shared helpers
GEN = {"until": ["\n\n"], "max_gen_toks": 6, "do_sample": False}


def docs(n: int, gold: bool = True) -> list[dict]:
    return [
        {
            "question": f"Ann has {i} pens and buys 2 more. How many now?",
            "context": "",
            "answers": [str(i + 2)],
            "gold_subquestions": ["How many pens at first?", "How many bought?"] if gold else [],
        }
        for i in range(n)
    ]


def requests(ds: list[dict], task: str = "dq_synth_d2") -> list[Instance]:
    return [
        Instance("generate_until", d, (f"Question: {d['question']}\nAnswer:", dict(GEN)), 0, (task, i, 1))
        for i, d in enumerate(ds)
    ]


def make(tiny_model: str, decomposer: str = "hf", **extra):
    from harness_ext.lmeval.two_stage import TwoStageLM

    args = {
        "decomposer": decomposer,
        "solver": "hf",
        "solver.pretrained": tiny_model,
        "decomposer_gen.max_gen_toks": 8,
        "batch_size": 4,
        "device": "cpu",
        **extra,
    }
    if decomposer == "hf":
        args["decomposer.pretrained"] = tiny_model
    return TwoStageLM(**args)


def count_calls(lm) -> list[int]:
    """Spy on the real inner generate_until (shared by both stages: identical specs)."""
    inner = lm.solver.lm
    sizes: list[int] = []
    real = inner.generate_until

    def spy(reqs, *a, **k):
        sizes.append(len(reqs))
        return real(reqs, *a, **k)

    inner.generate_until = spy
    return sizes
