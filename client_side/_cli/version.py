"""``shutdown-rpc --version``: the installed distribution's version (its metadata) and the wire protocol's."""

from __future__ import annotations

import importlib.metadata

import shutdown_rpc
from shutdown_rpc._extras import DIST
from shutdown_rpc.protocol.wire import PROTOCOL_VERSION


def version_line() -> str:
    """``shutdown-rpc <package version> (wire protocol v1)``."""
    try:
        version = importlib.metadata.version(DIST)
    except importlib.metadata.PackageNotFoundError:  # run from a checkout that is not installed
        version = shutdown_rpc.__version__
    return f"shutdown-rpc {version} (wire protocol v{PROTOCOL_VERSION})"
