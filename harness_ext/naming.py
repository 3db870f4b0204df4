"""A stage's short readable name, from its backend and args alone (no spec object needed), so
that run-folder readers (rundir.py) name a recorded decomposer exactly as StageSpec does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

REPLAY = "replay"  # the decomposer backend that reads recorded sub-questions (decomposer.path=)


def stage_name(backend: str, args: dict[str, Any]) -> str:
    """Basename of the model path, else the backend. A replay names the decomposer it replays
    (``replay-<name>``), so its label and run folder differ from the recording's and from a
    replay of another decomposer."""
    if backend == REPLAY:
        return f"{REPLAY}-{args['recorded']}" if args.get("recorded") else REPLAY
    for key in ("pretrained", "model", "base_url"):
        if args.get(key):
            return Path(str(args[key]).rstrip("/")).name
    return backend
