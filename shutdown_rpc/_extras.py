"""Fail at import, with the pip command, when a part of the package is used without the extra it needs."""

from __future__ import annotations

import importlib.util

DIST = "livekit-shutdown-rpc"


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package is missing
        return False


def require_extra(part: str, extra: str, modules: tuple[str, ...]) -> None:
    """Raise ModuleNotFoundError naming ``extra`` when one of ``modules`` is not installed.

    Called first thing by the ``__init__`` of ``part`` (``shutdown_rpc.agent_side``, ``shutdown_rpc.client_side``).
    """
    missing = [module for module in modules if not _importable(module)]
    if missing:
        raise ModuleNotFoundError(
            f'{part} needs the [{extra}] extra ({", ".join(missing)} not installed): pip install "{DIST}[{extra}]"',
            name=missing[0],
        )
