"""Example backend endpoint: mint a shutdown request for the signed-in user's own frontend to relay.

The frontend never holds a key. It asks this endpoint (with its session), gets an opaque payload bound to one
room and one agent and valid for 60 s, and relays it with livekit-client's performRpc (see frontend_relay.ts).

Run:  SHUTDOWN_RPC_KEY_FILE=backend.json APP_SESSION_SECRET=... python examples/backend_mint_endpoint.py
Optional LIVEKIT_URL / LIVEKIT_API_KEY / LIVEKIT_API_SECRET let it find the room's agent when none is named.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import time

from aiohttp import web

from shutdown_rpc.client_side import (
    SeveralAgents,
    ShutdownClient,
    ShutdownCommand,
    ShutdownFailed,
    load_signing_key,
    mint_request,
)

logger = logging.getLogger("mint_endpoint")
SIGNING_KEY, _ = load_signing_key(None)  # $SHUTDOWN_RPC_KEY_FILE or $SHUTDOWN_RPC_KEY
SESSION_SECRET = os.environ["APP_SESSION_SECRET"].encode()


# This app names each call's room "call-<owner>-<number>"; the owner may contain "-" itself.
_CALL_ROOM = re.compile(r"call-(.+)-([0-9]+)")


def authenticate(request: web.Request) -> str | None:
    """Stand-in for YOUR session check: a cookie "session=<user>.<expiry>.<hmac>" signed by this app."""
    try:
        user, expiry, tag = request.cookies["session"].rsplit(".", 2)
        expires_at = int(expiry)
        tag_bytes = tag.encode("ascii")  # compare_digest refuses non-ASCII str: compare bytes
    except (KeyError, ValueError):  # no cookie, wrong shape, non-numeric expiry, non-ASCII tag
        return None
    expected = hmac.new(SESSION_SECRET, f"{user}.{expiry}".encode(), hashlib.sha256).hexdigest().encode()
    if not hmac.compare_digest(expected, tag_bytes) or expires_at < time.time():
        return None
    return user


def may_end_call(user: str, room: str) -> bool:
    """Stand-in for YOUR authorization: is this user the owner of this call's room?

    Exact, never a prefix test: ``room.startswith(f"call-{user}-")`` would let user ``alice`` end
    ``call-alice-bob-1``, a call of user ``alice-bob``. The whole name is parsed, and the owner compared whole.
    """
    match = _CALL_ROOM.fullmatch(room)
    return match is not None and match.group(1) == user


async def _json_object(request: web.Request) -> dict[str, object]:
    """The request body as a JSON object, or 400 (never a 500 for what the client sent)."""
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise web.HTTPBadRequest(text="body must be a JSON object") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object")
    return body


def _text(body: dict[str, object], name: str) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise web.HTTPBadRequest(text=f"{name} must be a string")
    return value


async def mint(request: web.Request) -> web.Response:
    """POST {"room": ..., "agent"?: ..., "reason"?: ...} -> {destinationIdentity, method, payload, ...}."""
    user = authenticate(request)
    if user is None:
        raise web.HTTPUnauthorized()
    body = await _json_object(request)
    room = _text(body, "room")
    if not may_end_call(user, room):
        raise web.HTTPForbidden()
    agent = _text(body, "agent")
    if not agent:
        try:  # needs the LiveKit server API credentials; the frontend could also name the agent it sees
            async with ShutdownClient(SIGNING_KEY, issuer="mint-endpoint") as lk:
                agents = await lk.list_agents(room)
            if len(agents) > 1:
                raise SeveralAgents(agents, room=room)
            (agent,) = agents
        except (ShutdownFailed, ValueError) as exc:
            # The detail may name the LiveKit server's address and this backend's settings: the log gets it,
            # the frontend a message that says what it can do.
            logger.warning("mint: no single agent found in room %r: %s", room, exc)
            raise web.HTTPConflict(text="could not find this room's agent: name the agent in the request") from None
    try:
        minted = mint_request(
            SIGNING_KEY,
            ShutdownCommand(reason=_text(body, "reason")[:200]),
            room=room,
            agent=agent,
            issuer=f"user:{user}",
        )
    except ValueError:
        raise web.HTTPBadRequest(text="invalid room, agent or reason") from None
    return web.json_response(minted.to_json_dict(), headers={"Cache-Control": "no-store"})


def make_app() -> web.Application:
    """The aiohttp application with the one mint route."""
    app = web.Application()
    app.router.add_post("/api/agent-shutdown/mint", mint)
    return app


if __name__ == "__main__":
    web.run_app(make_app(), host="127.0.0.1", port=int(os.environ.get("PORT", "8080")))
