"""§7 steps 13-14: room, target and the any-agent policy, after the schema."""

from __future__ import annotations

from shutdown_rpc.protocol import ErrorCode

from .builder import (
    Builder,
    body,
    pack,
    sb,
)


def add(v: Builder) -> None:
    """Append this section's cases to ``v``, in file order."""
    v.add("wrong_room", "bound to another room", sb(pack(body(70, room="other-room"))), ErrorCode.WRONG_ROOM)
    v.add("wrong_target", "bound to another agent", sb(pack(body(71, target="agent-AJ_other"))), ErrorCode.WRONG_TARGET)
    v.add(
        "any_agent_not_allowed",
        "target '*' without the any-agent policy",
        sb(pack(body(72, target="*"))),
        ErrorCode.NOT_AUTHORIZED,
    )
    v.add(
        "wrong_room_and_target",
        "both wrong: room is checked first",
        sb(pack(body(73, room="other-room", target="someone"))),
        ErrorCode.WRONG_ROOM,
    )
    v.add(
        "schema_before_room",
        "wrong room and an invalid option: schema first",
        sb(pack(body(74, room="other-room", options={"drain": "yes", "grace_ms": 0, "delete_room": False}))),
        ErrorCode.INVALID_REQUEST,
    )
