"""``--model_args`` strings, parsed exactly as lm-eval parses them."""

from __future__ import annotations

from typing import Any


def parse_args_string(arg_string: str) -> dict[str, Any]:
    """``a=1,b=x`` -> ``{"a": 1, "b": "x"}`` with lm-eval's own type coercion."""
    from lm_eval.utils import simple_parse_args_string

    return simple_parse_args_string(arg_string)
