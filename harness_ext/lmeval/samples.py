"""What lm-eval writes per sample, as the rest of the package needs it."""

from __future__ import annotations

import json
from typing import Any


def doc_hash(doc: dict[str, Any]) -> str:
    """lm-eval's ``doc_hash`` of a doc (its samples files carry it), so traces join to samples."""
    from lm_eval.utils import handle_non_serializable, hash_string

    return hash_string(json.dumps(doc, indent=2, default=handle_non_serializable, ensure_ascii=False))
