"""Cost accounting for study cells: tokens, cache hits, seconds, FLOPs and dollars per stage.

Two kinds of figures, on purpose:
- *this invocation*: ``generated`` (tokens produced now, 0 when everything came from the stage
  cache), ``cache_hits``, ``seconds`` (0 for cache hits) and ``calls`` (inner model calls);
- *nominal* (what the cell costs to produce from scratch, cache or replay or not, so cells compare):
  ``prompt_tokens``, ``completion_tokens``, ``flops`` = 2 x parameters x (prompt + completion
  tokens), and ``usd`` from the study's price table.

A replayed decomposer (``backend: replay``) reports the recorded run's tokens as nominal,
``generated`` 0 and ``replayed`` (docs); its ``parameters`` come only from the study file.

``parameters`` is the inner HF model's ``num_parameters()`` (all unique weights, embeddings
included: the tied output projection is real compute); None for API backends unless the study
gives ``parameters:`` for the model, and then ``flops`` is None too.

Prices are $ per 1k tokens, ``{input: ..., output: ...}`` per model. The paper's example:
GPT-3.5-turbo at $0.001 / 1k input and $0.002 / 1k output tokens, and a 13B model priced at
13/175 of that (``PAPER_PRICES``).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from harness_ext.errors import DQError
from harness_ext.study_record import COUNTS, STAGES, CellCost, StageCost

STAT_FIELDS = COUNTS  # the StageStats counters a cell's cost is the delta of
PAPER_PRICES = {
    "gpt-3.5-turbo": {"input": 0.001, "output": 0.002},
    "vicuna-13b": {"input": 0.001 * 13 / 175, "output": 0.002 * 13 / 175},
}


def check_prices(prices: Any, models: set[str]) -> dict[str, dict[str, float]]:
    """Validate a study's ``prices`` map: model name -> {input, output} in $ per 1k tokens."""
    if prices is None:
        return {}
    if not isinstance(prices, dict):
        raise DQError("study file: prices: expected a map of model name -> {input: $/1k, output: $/1k}")
    out = {}
    for name, price in prices.items():
        if name not in models:
            raise DQError(f"study file: prices: unknown model {name!r}; models are {sorted(models)}")
        if not isinstance(price, dict) or set(price) - {"input", "output"} or not price:
            raise DQError(
                f"study file: prices.{name}: expected {{input: $/1k tokens, output: $/1k tokens}}, got {price!r}"
            )
        vals = {k: price.get(k, 0.0) for k in ("input", "output")}
        for k, v in vals.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                raise DQError(f"study file: prices.{name}.{k}: expected a non-negative number, got {v!r}")
        out[name] = {k: float(v) for k, v in vals.items()}
    return out


def snapshot(lm) -> dict[str, dict[str, float]]:
    """Each stage's running StageStats of a TwoStageLM, as plain dicts; a replayed decomposer's
    recorded tokens as the decomposer's (nothing generated: ``generated`` stays 0)."""
    out = {role: {k: asdict(stage.stats)[k] for k in STAT_FIELDS} for role, stage in lm.stages.items()}
    from harness_ext.model.decomposers import ReplayDecomposer

    replay = getattr(lm, "decomposer", None)
    if "decomposer" not in out and isinstance(replay, ReplayDecomposer):
        out["decomposer"] = {**{k: asdict(replay.stats)[k] for k in STAT_FIELDS}, "replayed": replay.replayed}
    return out


def parameters(lm, role: str) -> int | None:
    stage = lm.stages.get(role)
    model = getattr(getattr(stage, "lm", None), "model", None)
    count = getattr(model, "num_parameters", None)
    try:
        return int(count()) if callable(count) else None
    except Exception:  # noqa: BLE001 - an exotic backend; cost stays unknown
        return None


def stage_cost(stats: dict[str, float], params: int | None, price: dict[str, float] | None, **extra: Any) -> StageCost:
    pt, ct = int(stats.get("prompt_tokens", 0)), int(stats.get("completion_tokens", 0))
    return StageCost(
        prompt_tokens=pt,
        completion_tokens=ct,
        generated=int(stats.get("generated", 0)),
        cache_hits=int(stats.get("cache_hits", 0)),
        calls=int(stats.get("calls", 0)),
        seconds=round(float(stats.get("seconds", 0.0)), 3),
        parameters=params,
        flops=2 * params * (pt + ct) if params else None,
        usd=(pt * price["input"] + ct * price["output"]) / 1000 if price else None,
        **extra,
    )


def no_model_cost(backend: str) -> StageCost:
    """The decomposer side of a `none` or `oracle` cell: nothing runs, nothing costs."""
    return StageCost(backend=backend, parameters=0, flops=0, usd=0.0)


def cell_cost(
    lm,
    before: dict,
    after: dict,
    names: dict[str, str],
    prices: dict[str, dict[str, float]],
    param_overrides: dict[str, int | None],
) -> CellCost:
    """Per-stage cost of one cell: the stats delta between two snapshots, priced."""
    out: dict[str, StageCost] = {}
    for role in STAGES:
        name = names[role]
        if role not in after:
            out[role] = no_model_cost(name)
            continue
        delta = {k: after[role][k] - before.get(role, {}).get(k, 0) for k in STAT_FIELDS}
        params = param_overrides.get(name) or parameters(lm, role)
        extra: dict[str, Any] = {"model": name}
        if "replayed" in after[role]:  # recorded tokens (nominal cost), none generated now
            extra.update(backend="replay", replayed=after[role]["replayed"] - before.get(role, {}).get("replayed", 0))
        out[role] = stage_cost(delta, params, prices.get(name), **extra)
    return CellCost(out["decomposer"], out["solver"])
