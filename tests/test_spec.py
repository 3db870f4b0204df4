import pytest

from harness_ext.errors import DQError
from harness_ext.lmeval.models import parse_model_args


def test_flat_and_json_forms_agree():
    flat = parse_model_args(
        {
            "decomposer": "hf",
            "decomposer.pretrained": "m",
            "decomposer.dtype": "float32",
            "solver": "hf",
            "solver.pretrained": "m",
            "decomposer_gen.max_gen_toks": 64,
            "max_subquestions": 2,
            "batch_size": 4,
        }
    )
    nested = parse_model_args(
        {
            "decomposer": {"backend": "hf", "pretrained": "m", "dtype": "float32"},
            "solver": {"backend": "hf", "pretrained": "m"},
            "decomposer_gen": {"max_gen_toks": 64},
            "max_subquestions": 2,
            "batch_size": 4,
        }
    )
    assert flat == nested
    assert flat.decomposer.args == {"pretrained": "m", "dtype": "float32", "batch_size": 4}
    assert flat.decomposer.gen["max_gen_toks"] == 64 and flat.decomposer.gen["do_sample"] is False
    assert flat.label == "m/m"


def test_virtual_decomposers():
    cfg = parse_model_args({"decomposer": "oracle", "solver": "hf", "solver.pretrained": "x/y"})
    assert not cfg.decomposer.is_model and cfg.label == "oracle/y"
    assert parse_model_args({"solver": "hf", "solver.pretrained": "y"}).decomposer.backend == "none"


@pytest.mark.parametrize(
    "args, needle",
    [
        ({"decomposer": "hf"}, "missing solver"),
        ({"decomposer": "hff", "solver": "hf"}, "unknown decomposer backend 'hff'"),
        ({"solver": "oracle"}, "decomposers only"),
        ({"solver": "hf", "decomposer.": "x"}, "malformed key"),
        ({"solver": "hf", "decomposr.pretrained": "x"}, "malformed key"),
        ({"solver": "hf", "prompts": "nope"}, "unknown prompt template set 'nope'"),
        ({"solver": "hf", "mode": "fast"}, "mode="),
        ({"solver": "hf", "max_subquestions": 0}, "positive integer"),
        ({"decomposer": "none", "decomposer.pretrained": "x", "solver": "hf"}, "takes no decomposer"),
    ],
)
def test_bad_args_name_the_problem(args, needle):
    with pytest.raises(DQError, match=needle.replace("(", r"\(").replace(".", r"\.")):
        parse_model_args(args)
