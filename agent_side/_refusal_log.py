"""Logging refusals without a record per attempt in a flood (spec §7 step 15).

In quiet times every refusal gets one record (:func:`log_outcome`). While the budget across all callers is
spent, a flood is logged twice: when it starts, and with the number of refusals it made once the budget is
full again (it refills at ``all_callers_refill_per_s``; a flood that never lets it fill stays one flood, instead
of a start and an end record at every refill). Refusals of a caller over its own budget are the eviction's to
log (``_eviction``): once per caller.
"""

from __future__ import annotations

from collections.abc import Callable

from shutdown_rpc._log import logger
from shutdown_rpc.protocol import ShutdownRpcError

from ._deciding import CallerOverBudget, OverBudget
from ._outcomes import log_outcome


class RefusalLog:
    """Decides which refusals get a record of their own. ``budget_full()``: the all-callers budget is full."""

    def __init__(self, budget_full: Callable[[], bool]) -> None:
        self._budget_full = budget_full
        self._flooding = False
        self._unlogged = 0

    def refused(self, err: ShutdownRpcError, outcome: str, *, rpc_request_id: str, caller: str) -> None:
        """One refusal: logged now, counted into the flood in progress, or left to the eviction."""
        if isinstance(err, CallerOverBudget):
            return
        if isinstance(err, OverBudget) or (self._flooding and not self._budget_full()):
            # In bench_flood a record per attempt was ~18 % of the agent's CPU (emitted and forwarded to the
            # worker) with the debug level livekit-agents sets in dev mode.
            if not self._flooding:
                logger.warning("remote shutdown: too many refused attempts from all callers; answering RATE_LIMITED")
            self._flooding = True
            self._unlogged += 1
            return
        if self._flooding:
            logger.warning(
                "remote shutdown: refused-attempt budget recovered; %d refused attempts were not logged one by one",
                self._unlogged,
                extra={"unlogged_refusals": self._unlogged},
            )
            self._flooding, self._unlogged = False, 0
        log_outcome(outcome, rpc_request_id=rpc_request_id, caller=caller, code=err.code, detail=err.detail)
