"""CPU threads for models run here, and the runtime facts a results file records.

One torch thread is the CPU default: on 2 shared cores, OpenMP threads spin-waiting on a
loaded machine ran the demo slice 4.3x slower with 2 threads than with 1 (README, "CPU
threads"). ``DQ_THREADS`` (or ``dq --threads N``) overrides it.
"""

from __future__ import annotations

import os
from typing import Any

DEFAULT_THREADS = 1


def cpu_threads() -> int:
    raw = os.environ.get("DQ_THREADS", str(DEFAULT_THREADS))
    try:
        return max(int(raw), 1)
    except ValueError:
        from harness_ext.errors import DQError

        raise DQError(f"DQ_THREADS={raw!r} is not a number of threads; use e.g. DQ_THREADS=1") from None


def apply_threads() -> int:
    """Set torch's intra-op threads for a model about to run on the CPU; returns the count."""
    import torch

    n = cpu_threads()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def describe_runtime(device: Any) -> dict[str, Any]:
    """What ran where, recorded beside every timing (config.dq.runtime)."""
    facts: dict[str, Any] = {"device": str(device), "load_1min": round(os.getloadavg()[0], 2)}
    try:
        import torch

        facts["torch_threads"] = torch.get_num_threads()
    except ImportError:  # API-only stages
        pass
    return facts
