"""Example backend endpoint: mint a shutdown request for the signed-in user's own frontend to relay.

The frontend never holds a key. It asks this endpoint (with its session), gets an opaque payload bound to one
room and one agent and valid for 30 s, and relays it with livekit-client's performRpc (see frontend_relay.ts).

Run:  SHUTDOWN_RPC_KEY_FILE=backend.json APP_SESSION_SECRET=... python examples/backend_mint_endpoint.py
Optional LIVEKIT_URL / LIVEKIT_API_KEY / LIVEKIT_API_SECRET let it find the room's agent when none is named.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time

from aiohttp import web

from shutdown_rpc.client_side import ShutdownClient, ShutdownFailed, load_signing_key, mint_request

SIGNING_KEY, _ = load_signing_key(None)  # $SHUTDOWN_RPC_KEY_FILE or $SHUTDOWN_RPC_KEY
SESSION_SECRET = os.environ["APP_SESSION_SECRET"].encode()


def authenticate(request: web.Request) -> str | None:
    """Stand-in for YOUR session check: a cookie "session=<user>.<expiry>.<hmac>" signed by this app."""
    try:
        user, expiry, tag = request.cookies["session"].rsplit(".", 2)
    except (KeyError, ValueError):
        return None
    expected = hmac.new(SESSION_SECRET, f"{user}.{expiry}".encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, tag) or int(expiry) < time.time():
        return None
    return user


def may_end_call(user: str, room: str) -> bool:
    """Stand-in for YOUR authorization: is this user a member of this room/call?"""
    return room.startswith(f"call-{user}-")


async def mint(request: web.Request) -> web.Response:
    """POST {"room": ..., "agent"?: ..., "reason"?: ...} -> {destinationIdentity, method, payload, ...}."""
    user = authenticate(request)
    if user is None:
        raise web.HTTPUnauthorized()
    body = await request.json()
    room = str(body.get("room", ""))
    if not may_end_call(user, room):
        raise web.HTTPForbidden()
    agent = body.get("agent")
    if not agent:
        try:  # needs the LiveKit server API credentials; the frontend could also name the agent it sees
            async with ShutdownClient(SIGNING_KEY, issuer="mint-endpoint") as lk:
                (agent,) = await lk.list_agents(room, all_agents=False)
        except (ShutdownFailed, ValueError) as exc:
            raise web.HTTPConflict(text=str(exc)) from None
    try:
        minted = mint_request(
            SIGNING_KEY, room=room, agent=str(agent), reason=str(body.get("reason", ""))[:200], issuer=f"user:{user}"
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
