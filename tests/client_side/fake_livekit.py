"""An in-process stand-in for livekit-server's Twirp RoomService, reached by URL like a real one.

It answers PerformRpc, ListParticipants, GetParticipant and ListRooms the way livekit-server 1.13 does (the
error shapes were recorded from the real server: "RpcError <code>: <message>: <data>" inside a Twirp error,
"no response from servers" for an absent destination). Each fake agent verifies payloads with the protocol
Verifier, unless a scripted step says otherwise.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web
from livekit import api

from shutdown_rpc.protocol import (
    Acknowledgement,
    AckStatus,
    AgentBinding,
    DuplicateRequest,
    KeyRing,
    ShutdownRpcError,
    Verifier,
    VerifyingKey,
)
from shutdown_rpc.protocol.wire import (
    METHOD_NAME,
    RECEIPT_METHOD_NAME,
    advertisement_attributes,
    new_receipt_token,
    refusal_data,
    refusal_message,
)

_SIDS = itertools.count(1)
API_KEY = "fakekey"
API_SECRET = "fakesecret-fakesecret-fakesecret-0123"  # test-only credentials of the fake server


@dataclass
class RpcErr:
    """The agent answers with an RpcError (``process``: verify and accept first, as if the reply got lost)."""

    code: int
    message: str = "error"
    data: str | None = None
    process: bool = False


@dataclass
class Twirp:
    """The server answers with a plain Twirp error."""

    code: str
    status: int
    msg: str


@dataclass
class Leave:
    """The agent leaves during the call (``process``: after accepting it); the server says no response."""

    process: bool = True
    delete_room: bool = False


Step = RpcErr | Twirp | Leave | Callable[[str], str]


@dataclass
class FakeParticipant:
    identity: str
    kind: int = 4
    attributes: dict[str, str] = field(default_factory=dict)
    keys: list[VerifyingKey] = field(default_factory=list)
    job_id: str = "AJ_fake"
    script: list[Step] = field(default_factory=list)
    payloads: list[str] = field(default_factory=list)
    receipts: list[str] = field(default_factory=list)  # payloads of the receipt method (answered "")
    verifier: Verifier | None = None
    sid: str = field(default_factory=lambda: f"PA_fake{next(_SIDS)}")  # one connection: a new one, a new sid

    def answer(self, room: str, payload: str) -> str:
        """Verify like an agent: the Acknowledgement JSON, or raise ShutdownRpcError."""
        if self.verifier is None:
            self.verifier = Verifier(KeyRing(self.keys))
        decision = self.verifier.verify(payload, AgentBinding(room, self.identity, self.job_id))
        if isinstance(decision, DuplicateRequest):
            return decision.ack.to_json()
        ack = Acknowledgement(
            status=AckStatus.ACCEPTED,
            request_id=decision.request.request_id,
            agent_identity=self.identity,
            job_id=self.job_id,
            agent_time_ms=1,
            receipt_token=new_receipt_token(),
        )
        decision.accept(ack)
        return ack.to_json()


def agent(identity: str, keys: list[VerifyingKey], *, advertise: bool = True, **kw: object) -> FakeParticipant:
    """A fake agent participant (kind AGENT) advertising the method unless told not to."""
    attrs = advertisement_attributes([k.key_id for k in keys]) if advertise else {}
    return FakeParticipant(identity, attributes=attrs, keys=keys, **kw)  # type: ignore[arg-type]


def _rpc_error(code: int, message: str, data: str | None) -> web.Response:
    text = f"RpcError {code}: {message}" + (f": {data}" if data else "")
    if code in (1400, 1402):
        twirp, status = "invalid_argument", 400
    elif code in (1501, 1502):
        twirp, status = "canceled", 408
    elif code == 1503:
        twirp, status = "unavailable", 503
    elif code in (1403, 1404):
        twirp, status = "unimplemented", 501
    else:
        twirp, status = "internal", 500
    return _twirp(twirp, status, text)


def _twirp(code: str, status: int, msg: str) -> web.Response:
    return web.json_response({"code": code, "msg": f"twirp error unknown: {msg}"}, status=status)


class FakeLiveKit:
    """Rooms of fake participants behind a Twirp HTTP endpoint; ``calls`` counts requests per method."""

    def __init__(self) -> None:
        self.rooms: dict[str, dict[str, FakeParticipant]] = {}
        self.room_sids: dict[str, str] = {}  # a room created again under its name gets a new sid
        self.calls: dict[str, int] = {}
        self.grants: list[tuple[bool, str]] = []
        self.app = web.Application()
        self.app.router.add_post("/twirp/livekit.RoomService/{method}", self._handle)

    def add(self, room: str, *participants: FakeParticipant) -> None:
        if room not in self.rooms:
            self.room_sids[room] = f"RM_fake{next(_SIDS)}"
        self.rooms.setdefault(room, {})
        for p in participants:
            self.rooms[room][p.identity] = p

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.calls[method] = self.calls.get(method, 0) + 1
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        try:
            claims = api.TokenVerifier(API_KEY, API_SECRET).verify(token)
        except Exception:
            return _twirp("unauthenticated", 401, "invalid token")
        body = await request.read()
        self.grants.append(
            (bool(claims.video and claims.video.room_admin), (claims.video.room if claims.video else ""))
        )
        if method == "ListRooms":
            req = api.ListRoomsRequest.FromString(body)
            rooms = [api.Room(name=n, sid=self.room_sids[n]) for n in self.rooms if not req.names or n in req.names]
            return _proto(api.ListRoomsResponse(rooms=rooms))
        if method == "ListParticipants":
            lreq = api.ListParticipantsRequest.FromString(body)
            people = self.rooms.get(lreq.room, {}).values()
            return _proto(api.ListParticipantsResponse(participants=[_info(p) for p in people]))
        if method == "GetParticipant":
            greq = api.RoomParticipantIdentity.FromString(body)
            found = self.rooms.get(greq.room, {}).get(greq.identity)
            if found is None:
                return _twirp("not_found", 404, "participant does not exist")
            return _proto(_info(found))
        if method == "PerformRpc":
            return self._perform_rpc(api.PerformRpcRequest.FromString(body))
        return _twirp("bad_route", 404, "no such method")

    def _perform_rpc(self, req: api.PerformRpcRequest) -> web.Response:
        target = self.rooms.get(req.room, {}).get(req.destination_identity)
        if target is None:
            return _twirp("unavailable", 503, "no response from servers")
        target.payloads.append(req.payload)
        if req.method == RECEIPT_METHOD_NAME:
            target.receipts.append(req.payload)
            return _proto(api.PerformRpcResponse(payload=""))
        if req.method != METHOD_NAME:
            return _rpc_error(1400, "Method not supported at destination", None)
        step = target.script.pop(0) if target.script else None
        if step is None:
            return _answer(target, req)
        return self._scripted(step, target, req)

    def _scripted(self, step: Step, target: FakeParticipant, req: api.PerformRpcRequest) -> web.Response:
        if isinstance(step, Twirp):
            return _twirp(step.code, step.status, step.msg)
        if isinstance(step, (RpcErr, Leave)) and step.process:
            try:
                target.answer(req.room, req.payload)
            except ShutdownRpcError:
                pass
        if isinstance(step, RpcErr):
            return _rpc_error(step.code, step.message, step.data)
        if isinstance(step, Leave):
            del self.rooms[req.room][target.identity]
            if step.delete_room:
                del self.rooms[req.room]
            return _twirp("unavailable", 503, "no response from servers")
        return _proto(api.PerformRpcResponse(payload=step(req.payload)))


def _answer(target: FakeParticipant, req: api.PerformRpcRequest) -> web.Response:
    try:
        return _proto(api.PerformRpcResponse(payload=target.answer(req.room, req.payload)))
    except ShutdownRpcError as error:
        return _rpc_error(int(error.code), refusal_message(error), refusal_data(error))


def _info(p: FakeParticipant) -> api.ParticipantInfo:
    return api.ParticipantInfo(
        identity=p.identity,
        sid=p.sid,
        kind=p.kind,  # type: ignore[arg-type]  # an int is a valid enum value
        attributes=p.attributes,
        state=api.ParticipantInfo.State.ACTIVE,
    )


def _proto(message: object) -> web.Response:
    return web.Response(body=message.SerializeToString(), content_type="application/protobuf")  # type: ignore[attr-defined]


__all__ = ["API_KEY", "API_SECRET", "FakeLiveKit", "FakeParticipant", "Leave", "RpcErr", "Twirp", "agent"]
