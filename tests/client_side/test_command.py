"""client_side/_command.py: one ShutdownCommand, checked once when made, taken by every sender."""

from __future__ import annotations

import dataclasses

import pytest

from shutdown_rpc.client_side import ShutdownClient, ShutdownCommand
from shutdown_rpc.client_side.fleet import end_fleet
from shutdown_rpc.protocol import LIMITS, ShutdownOptions


def test_defaults_end_right_away_with_the_spec_lifetime() -> None:
    command = ShutdownCommand()
    assert command.options == ShutdownOptions.defaults()
    assert command.lifetime_s == LIMITS["default_lifetime_s"] and command.request_id is None


def test_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        ShutdownCommand().reason = "x"  # type: ignore[misc]


def test_reason_is_bounded_in_utf8_bytes_with_a_plain_message() -> None:
    limit = LIMITS["max_reason_bytes"]
    assert ShutdownCommand(reason="é" * (limit // 2)).reason  # 2 bytes each: exactly the limit
    with pytest.raises(ValueError, match=rf"^ShutdownCommand: reason is {limit + 1} UTF-8 bytes, at most {limit}"):
        ShutdownCommand(reason="é" * (limit // 2) + "x")


@pytest.mark.parametrize("reason", ["line\nbreak", "bidi\u202eoverride", "del\x7f"])
def test_reason_refuses_control_characters(reason: str) -> None:
    with pytest.raises(ValueError, match="control character U\\+"):
        ShutdownCommand(reason=reason)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"grace_ms": -1}, "grace_ms must be within 0..60000"),
        ({"grace_ms": LIMITS["max_grace_ms"] + 1}, "grace_ms must be within"),
        ({"lifetime_s": 0}, "lifetime_s must be within 1..300"),
        ({"lifetime_s": LIMITS["max_lifetime_s"] + 1}, "lifetime_s must be within"),
        ({"request_id": "short"}, "request_id must be 22-64 characters"),
        ({"request_id": "A" * 22 + "!"}, "request_id must be"),
    ],
)
def test_values_out_of_range_are_value_errors(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ShutdownCommand(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "fields", [{"reason": None}, {"drain": 1}, {"delete_room": "yes"}, {"grace_ms": True}, {"lifetime_s": 60.0}]
)
def test_values_of_the_wrong_type_are_type_errors(fields: dict[str, object]) -> None:
    with pytest.raises(TypeError, match=r"^ShutdownCommand: \w+ must be "):
        ShutdownCommand(**fields)  # type: ignore[arg-type]


def test_a_valid_request_id_is_kept() -> None:
    assert ShutdownCommand(request_id="A" * 22).request_id == "A" * 22


async def test_a_request_id_is_never_sent_to_several_agents(client: ShutdownClient) -> None:
    one_request = ShutdownCommand(request_id="A" * 22)
    with pytest.raises(ValueError, match="one request to one agent"):
        await client.shutdown_all("room-1", one_request)
    with pytest.raises(ValueError, match="one request to one agent"):
        await anext(end_fleet(client, ["room-1"], one_request))
