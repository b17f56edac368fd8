"""The public surface, pinned: adding or removing a public name is a deliberate change to this file.

Issue 18's targets: ``shutdown_rpc.protocol`` <= 25 names, ``shutdown_rpc.agent_side`` <= 10,
``shutdown_rpc.client_side`` <= 18; the wire pieces and the fleet operations live in explicit submodules.
"""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "shutdown_rpc.protocol": {
        "ANY_AGENT",
        "CODE_INFO",
        "LIMITS",
        "AckStatus",
        "Acknowledgement",
        "AgentBinding",
        "DuplicateRequest",
        "Ed25519SigningKey",
        "Ed25519VerifyingKey",
        "ErrorCode",
        "HmacSha256Key",
        "KeyRing",
        "ShutdownOptions",
        "ShutdownRequest",
        "ShutdownRpcError",
        "SigningKey",
        "VerifiedRequest",
        "Verifier",
        "VerifyingKey",
        "build_request",
        "dump_key_file",
        "new_request_id",
        "parse_key_file",
        "sign_request",
    },
    "shutdown_rpc.protocol.wire": {
        "ATTRIBUTE_PREFIX",
        "ATTR_ISSUER",
        "ATTR_KEY_IDS",
        "ATTR_METHOD",
        "ATTR_REASON",
        "ATTR_REQUEST_ID",
        "ATTR_STATE",
        "ATTR_VERSIONS",
        "MAX_KEY_FILE_BYTES",
        "METHOD_NAME",
        "PROTOCOL_VERSION",
        "RECEIPT_METHOD_NAME",
        "REQUEST_ID_PATTERN",
        "STATE_ENDING",
        "SUPPORTED_VERSIONS",
        "Advertisement",
        "AnyKey",
        "Clock",
        "Ending",
        "Envelope",
        "FixedClock",
        "PayloadInspection",
        "ReplayCache",
        "Reservation",
        "SystemClock",
        "advertisement_attributes",
        "code_table",
        "encode_body",
        "ending_attributes",
        "inspect_payload",
        "is_receipt_for",
        "is_receipt_token",
        "new_receipt_token",
        "parse_advertisement",
        "parse_ending",
        "parse_refusal",
        "refusal_data",
        "refusal_message",
        "seal",
        "signed_message",
        "signing_key_of",
        "unpack_envelope",
        "unsigned_request",
        "verifying_key_of",
    },
    "shutdown_rpc.agent_side": {
        "AccessPolicy",
        "EndingTimings",
        "JobState",
        "KeyScope",
        "RateLimit",
        "RemoteRequest",
        "ShutdownHandler",
        "UnsignedCallers",
        "enable_remote_shutdown",
        "parse_reason",
    },
    "shutdown_rpc.client_side": {
        "AgentLeftBeforeReply",
        "AgentNotFound",
        "CallerHidden",
        "NotSupported",
        "Refused",
        "RetryPolicy",
        "RoomNotFound",
        "RoomShutdownCaller",
        "SeveralAgents",
        "ShutdownClient",
        "ShutdownCommand",
        "ShutdownFailed",
        "ShutdownResult",
        "SignedPayload",
        "Timeout",
        "TransportError",
        "load_signing_key",
        "mint_request",
    },
    "shutdown_rpc.client_side.fleet": {"RoomOutcome", "RoomStatus", "WebhookListener", "end_fleet", "select_rooms"},
}
TARGETS = {"shutdown_rpc.protocol": 25, "shutdown_rpc.agent_side": 10, "shutdown_rpc.client_side": 18}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_exported_names_are_exactly_the_decided_set(module: str) -> None:
    exported = importlib.import_module(module).__all__
    assert len(exported) == len(set(exported)), "a name is listed twice"
    assert set(exported) == PUBLIC[module]


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_every_exported_name_exists(module: str) -> None:
    loaded = importlib.import_module(module)
    assert [name for name in loaded.__all__ if not hasattr(loaded, name)] == []


@pytest.mark.parametrize(("module", "target"), sorted(TARGETS.items()))
def test_package_surfaces_are_within_the_targets(module: str, target: int) -> None:
    assert len(importlib.import_module(module).__all__) <= target


def test_no_private_name_is_exported() -> None:
    leaked = [(m, n) for m in PUBLIC for n in importlib.import_module(m).__all__ if n.startswith("_")]
    assert leaked == []
