"""livekit-shutdown-rpc: ask a LiveKit Agents job to shut down over signed, versioned RPC.

Subpackages: :mod:`shutdown_rpc.protocol` (sans-IO wire format), :mod:`shutdown_rpc.agent_side`
(the handler embedded in agents) and :mod:`shutdown_rpc.client_side` (backends, minting, CLI).
"""

__version__ = "0.1.0"
