"""SQLite cache of stage outputs, so reruns and grids never generate the same text twice.

Key: the stage's model spec, prompt template, rendered prompt and generation kwargs. Each
finished batch is committed at once, so a killed run loses at most the batch in flight.

Entries travel as plain rows (:data:`Row`): a study's distributed workers get the driver's rows,
run with a private cache file, and send back only the rows they added (``rows(exclude=...)``),
which the driver ``put_many``s into the study's cache; shards' caches merge the same way.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

Row = tuple[str, str, int | None, int | None, float]  # key, output, prompt/completion tokens, seconds


def cache_key(model_key: str, template_id: str, prompt: str, gen_kwargs: dict[str, Any]) -> str:
    blob = json.dumps([model_key, template_id, prompt, gen_kwargs], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class StageCache:
    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # WAL: readers in other processes are not blocked by a writer mid-study.
        self._db = sqlite3.connect(str(path), timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS stage_outputs (key TEXT PRIMARY KEY, output TEXT NOT NULL, "
            "prompt_tokens INTEGER, completion_tokens INTEGER, seconds REAL)"
        )
        self._db.commit()

    def get_many(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), 500):  # SQLite caps bound parameters
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT key, output, prompt_tokens, completion_tokens, seconds FROM stage_outputs "
                f"WHERE key IN ({marks})",
                chunk,
            )
            for key, output, pt, ct, sec in rows:
                found[key] = {"output": output, "prompt_tokens": pt, "completion_tokens": ct, "seconds": sec}
        return found

    def rows(self, exclude: set[str] | frozenset[str] = frozenset()) -> list[Row]:
        """Every entry (for export), in key order, less the keys in ``exclude``."""
        found = self._db.execute(
            "SELECT key, output, prompt_tokens, completion_tokens, seconds FROM stage_outputs ORDER BY key"
        )
        return [tuple(r) for r in found if r[0] not in exclude]  # type: ignore[misc]

    def put_many(self, rows: list[Row]) -> None:
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO stage_outputs VALUES (?, ?, ?, ?, ?)", rows)

    def close(self) -> None:
        self._db.close()
