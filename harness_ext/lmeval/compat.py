"""The lm-eval versions dq-harness supports, and one clear error outside them."""

from __future__ import annotations

from importlib import metadata

from harness_ext.errors import DQError

SUPPORTED = ((0, 4, 11), (0, 5, 0))  # [lowest, highest): `make test-compat` runs both ends
SUPPORTED_TEXT = "lm-eval>=0.4.11,<0.5"


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def installed_version() -> str | None:
    try:
        return metadata.version("lm_eval")
    except metadata.PackageNotFoundError:
        return None


def check_lm_eval(version: str | None = None) -> str:
    """The installed lm-eval version, or a DQError naming the supported range."""
    version = version if version is not None else installed_version()
    if version is None:
        raise DQError(f"lm-eval is not installed; dq-harness needs {SUPPORTED_TEXT} (pip install 'lm-eval==0.4.13')")
    low, high = SUPPORTED
    if not (low <= _version_tuple(version) < high):
        raise DQError(
            f"lm-eval {version} is installed, but dq-harness supports {SUPPORTED_TEXT}; install a version in that range"
        )
    return version
