"""The package's one logger: every record of shutdown_rpc (agent side, clients, webhooks) goes through it.

Applications configure it by name (``logging.getLogger("shutdown_rpc")``); records carry structured fields in
``extra`` (``shutdown_rpc_outcome``, ``request_id``, ...), never keys, signatures or payloads.
"""

from __future__ import annotations

import logging

LOGGER_NAME = "shutdown_rpc"
logger = logging.getLogger(LOGGER_NAME)

__all__ = ["LOGGER_NAME", "logger"]
