"""The vLLM recipe (docs/vllm.md): the model_args it uses build the right inner configs.

vLLM is not installed here (GPU machines only), so the inner class is a stand-in registered
under lm-eval's own ``vllm`` name for the test; what is checked is what two_stage hands it.
"""

from __future__ import annotations

import pytest

from harness_ext.errors import DQError
from harness_ext.lmeval import pool as stages
from harness_ext.lmeval.models import parse_model_args

RECIPE = {  # docs/vllm.md, "Both stages on one GPU"
    "decomposer": "vllm",
    "decomposer.pretrained": "Qwen/Qwen2.5-7B-Instruct",
    "decomposer.gpu_memory_utilization": 0.45,
    "decomposer.max_model_len": 4096,
    "decomposer_gen.max_gen_toks": 256,
    "solver": "vllm",
    "solver.pretrained": "Qwen/Qwen2.5-1.5B-Instruct",
    "solver.gpu_memory_utilization": 0.35,
    "solver.max_model_len": 4096,
    "solver.tensor_parallel_size": 1,
    "batch_size": "auto",
    "max_batch_size": 64,
}


def test_recipe_parses_to_two_vllm_specs():
    cfg = parse_model_args(dict(RECIPE))
    assert cfg.decomposer.backend == cfg.solver.backend == "vllm"
    assert cfg.decomposer.args == {
        "pretrained": "Qwen/Qwen2.5-7B-Instruct",
        "gpu_memory_utilization": 0.45,
        "max_model_len": 4096,
        "batch_size": "auto",
        "max_batch_size": 64,
    }
    assert cfg.solver.args == {
        "pretrained": "Qwen/Qwen2.5-1.5B-Instruct",
        "gpu_memory_utilization": 0.35,
        "max_model_len": 4096,
        "tensor_parallel_size": 1,
        "batch_size": "auto",
        "max_batch_size": 64,
    }
    assert cfg.decomposer.gen == {"until": ["\n\n\n"], "max_gen_toks": 256, "do_sample": False}
    assert cfg.solver.gen == {}
    assert cfg.label == "Qwen2.5-7B-Instruct/Qwen2.5-1.5B-Instruct"


def test_cli_string_form_matches():
    # What `--model_args "decomposer=vllm,..."` becomes: lm-eval parses values into int/float.
    from lm_eval.utils import simple_parse_args_string

    text = ",".join(f"{k}={v}" for k, v in RECIPE.items())
    assert parse_model_args(simple_parse_args_string(text)) == parse_model_args(dict(RECIPE))


class FakeVLLM:
    made: list[dict] = []

    @classmethod
    def create_from_arg_obj(cls, args, additional=None):
        cls.made.append(dict(args))
        return cls()


@pytest.fixture
def fake_vllm(monkeypatch):
    import lm_eval.api.registry as registry

    real = registry.get_model
    monkeypatch.setattr(registry, "get_model", lambda name: FakeVLLM if name == "vllm" else real(name))
    FakeVLLM.made = []
    return FakeVLLM


def test_each_stage_gets_its_own_engine_args(fake_vllm):
    cfg = parse_model_args(dict(RECIPE))
    pool = stages.ModelPool()
    dec, sol = pool.get(cfg.decomposer), pool.get(cfg.solver)
    assert dec is not sol
    assert fake_vllm.made == [cfg.decomposer.args, cfg.solver.args]  # forwarded as given, nothing added


def test_same_model_for_both_stages_is_one_engine(fake_vllm):
    args = {
        "decomposer": "vllm",
        "decomposer.pretrained": "Qwen/Qwen2.5-7B-Instruct",
        "solver": "vllm",
        "solver.pretrained": "Qwen/Qwen2.5-7B-Instruct",
        "batch_size": "auto",
    }
    cfg = parse_model_args(args)
    pool = stages.ModelPool()
    assert pool.get(cfg.decomposer) is pool.get(cfg.solver)
    assert len(fake_vllm.made) == 1  # one engine, so no GPU memory split is needed


def test_without_vllm_installed_the_error_says_so(monkeypatch):
    try:
        import vllm  # noqa: F401

        pytest.skip("vllm is installed here")
    except ImportError:
        pass
    cfg = parse_model_args({"solver": "vllm", "solver.pretrained": "Qwen/Qwen2.5-1.5B-Instruct"})
    with pytest.raises(DQError, match=r"solver=vllm needs the 'vllm' package, which is not installed"):
        stages.load_inner(cfg.solver)
