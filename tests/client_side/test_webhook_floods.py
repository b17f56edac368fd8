"""Issue 23 #7: unauthenticated posts to the webhook listener are counted and logged in sum, not one record
each (anyone who can reach the port could fill the log)."""

from __future__ import annotations

import logging

import aiohttp
import pytest

from shutdown_rpc.client_side.fleet import WebhookListener

from .fake_livekit import API_KEY, API_SECRET
from .test_fleet import event_body, signed_post


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("shutdown_rpc") and r.levelno >= logging.WARNING]


async def test_a_flood_of_unauthenticated_posts_is_logged_when_it_starts_and_in_sum_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, logger="shutdown_rpc"):
        async with WebhookListener(API_KEY, API_SECRET) as hooks, aiohttp.ClientSession() as http:
            forged = event_body("participant_left", "room-1", "agent-1")
            for _ in range(300):
                async with http.post(hooks.url, data=forged, headers={"Authorization": "Bearer nope"}) as resp:
                    assert resp.status == 401
            assert len(warnings_of(caplog)) == 1  # the flood's first post only
            left = event_body("participant_left", "room-1", "agent-1")
            async with http.post(hooks.url, data=left, headers=signed_post(left)) as resp:
                assert resp.status == 200
    assert hooks.rejected == 300
    first, summary = warnings_of(caplog)
    assert "refused a webhook post" in first.getMessage()
    assert summary.__dict__["refused_posts"] == 299


async def test_a_flood_still_going_when_the_listener_closes_is_summed_up(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="shutdown_rpc"):
        async with WebhookListener(API_KEY, API_SECRET) as hooks, aiohttp.ClientSession() as http:
            for _ in range(3):
                async with http.post(hooks.url, data=b"{}", headers={"Authorization": "Bearer nope"}) as resp:
                    assert resp.status == 401
    _, summary = warnings_of(caplog)
    assert summary.__dict__["refused_posts"] == 2
