"""Issue 23 #13 (spec §2): how a RoomService.PerformRpc error message splits into code, message and data, and
LiveKit's own codes under whatever Twirp code the server gives them."""

from __future__ import annotations

import pytest
from livekit import api

from shutdown_rpc.client_side._perform_rpc import parse_server_error

DATA = '{"version":1,"code":4133,"name":"VETOED","retryable":true}'


def failure_of(message: str, code: str = "internal", status: int = 500) -> tuple[int | None, str, str | None]:
    failure = parse_server_error(api.ServerError(code, f"twirp error unknown: {message}", status=status))
    return failure.rpc_code, failure.message, failure.data


def test_a_detail_that_merely_ends_in_a_brace_is_not_data() -> None:
    # LiveKit dropped the data; the application's veto text contains ": {" and ends with "}"
    assert failure_of("RpcError 4133: VETOED: policy: {maintenance}") == (
        4133,
        "VETOED: policy: {maintenance}",
        None,
    )


def test_the_data_starts_at_the_last_colon_brace_when_it_is_a_json_object() -> None:
    assert failure_of(f"RpcError 4133: VETOED: policy: {{maintenance}}: {DATA}") == (
        4133,
        "VETOED: policy: {maintenance}",
        DATA,
    )


def test_a_trailing_object_that_is_not_json_stays_in_the_message() -> None:
    assert failure_of('RpcError 4133: VETOED: busy: {"unclosed": }') == (4133, 'VETOED: busy: {"unclosed": }', None)


@pytest.mark.parametrize(("code", "status"), [("invalid_argument", 400), ("malformed", 400), ("internal", 500)])
def test_livekit_1402_is_read_from_the_digits_whatever_the_twirp_code(code: str, status: int) -> None:
    assert failure_of("RpcError 1402: Request payload too large", code, status) == (
        1402,
        "Request payload too large",
        None,
    )
