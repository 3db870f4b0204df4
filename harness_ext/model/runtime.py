"""CPU threads for models run here, and the runtime facts a results file records.

Measured (benchmarks/bench_threads.py, 2 cores, one demo slice, wall seconds):

| machine | 1 thread | 2 threads | 2 threads, OMP_WAIT_POLICY=PASSIVE |
|---|---:|---:|---:|
| quiet | 27.5 | 17.5 | 19.3 |
| loaded (a busy process per core) | 40.6 | 67.8 | 36.4 |

OpenMP threads that spin-wait are what hurt on a loaded box. So the default is every core when
the wait policy is passive (``dq`` sets it before torch loads, as does the Makefile) and one
thread otherwise; ``DQ_THREADS`` (or ``dq --threads N``) overrides it.
"""

from __future__ import annotations

import os
from typing import Any


def offline_defaults() -> None:
    """No hub calls unless the user asked for them: models and data are local here (set before
    transformers / datasets load, which read these once)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def cpu_threads() -> int:
    raw = os.environ.get("DQ_THREADS")
    if raw is None:
        passive = os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE"
        return (os.cpu_count() or 1) if passive else 1
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
    facts: dict[str, Any] = {
        "device": str(device),
        "load_1min": round(os.getloadavg()[0], 2),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
    }
    try:
        import torch

        facts["torch_threads"] = torch.get_num_threads()
    except ImportError:  # API-only stages
        pass
    return facts
