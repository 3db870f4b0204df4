"""Docs -> the ``datasets.Dataset`` splits an lm-eval ``custom_dataset`` hook returns."""

from __future__ import annotations

from typing import Any


def to_dataset(docs: list[dict], extra_splits: dict[str, list[dict]] | None = None) -> dict[str, Any]:
    """``{"test": datasets.Dataset, ...}`` with list<str> fields typed even when all empty."""
    return {split: _dataset(split_docs) for split, split_docs in {"test": docs, **(extra_splits or {})}.items()}


def _dataset(docs: list[dict]) -> Any:
    import datasets

    ds = datasets.Dataset.from_list(docs)
    features = ds.features.copy()
    for key in ("gold_subquestions", "answers"):
        features[key] = datasets.Sequence(datasets.Value("string"))
    if "answer_spans" in features:
        features["answer_spans"] = datasets.Sequence(datasets.Sequence(datasets.Value("string")))
    return ds.cast(features)
