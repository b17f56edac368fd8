"""``shutdown-rpc fleet``: end the agents of many rooms (a list, a name pattern, or all rooms) with one reason.

``--all-rooms`` asks for confirmation on a terminal (with the number of rooms, and whether they are deleted);
without a terminal it needs ``--yes``, so a script states that it means every room. ``--dry-run`` asks nothing.

Exit code: 0 when every selected room ended (or had no agent), 12 when every agent acknowledged but one was
still in its room when --wait ran out, 13 when at least one room failed (each outcome is printed), 7 when no
room matched, 11 when the rooms could not be listed, 2 for usage errors (a declined confirmation included).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections import Counter
from typing import TextIO

from shutdown_rpc.client_side import ShutdownClient, ShutdownCommand, ShutdownFailed, ShutdownResult
from shutdown_rpc.client_side._delivery import DEFAULT_TIMEOUT_S
from shutdown_rpc.client_side._webhooks import DEFAULT_WEBHOOK_PATH
from shutdown_rpc.client_side.fleet import (
    DEFAULT_FLEET_CONCURRENCY,
    RoomOutcome,
    RoomStatus,
    WebhookListener,
    end_fleet,
    select_rooms,
)
from shutdown_rpc.protocol import LIMITS

from .common import (
    DEFAULT_ISSUER,
    SubParsers,
    UsageError,
    command_of,
    non_negative_seconds,
    positive_seconds,
    signing_key_of_args,
)
from .exit_codes import EXIT_OK, EXIT_PARTIAL, EXIT_ROOM_NOT_FOUND, EXIT_STILL_PRESENT, EXIT_TRANSPORT
from .render import failure_json, result_json

_OK_STATUSES = frozenset({RoomStatus.ENDED, RoomStatus.ACKNOWLEDGED, RoomStatus.NO_AGENT, RoomStatus.PLANNED})


def register(sub: SubParsers) -> None:
    """Add the ``fleet`` command."""
    fleet = sub.add_parser("fleet", help="end the agents of many rooms at once (list, glob, or all rooms)")
    which = fleet.add_mutually_exclusive_group(required=True)
    which.add_argument("--rooms", help="comma-separated room names")
    which.add_argument(
        "--match",
        metavar="PATTERN",
        help="every existing room whose name matches: literal, * matching any run (? and [ ] are not special)",
    )
    which.add_argument("--all-rooms", action="store_true", help="every existing room")
    fleet.add_argument("--reason", default="", help="free text passed to every agent's shutdown reason")
    fleet.add_argument("--issuer", default=DEFAULT_ISSUER, help=f"who asks (default {DEFAULT_ISSUER!r})")
    fleet.add_argument("--drain", action="store_true", help="let each agent finish its current speech first")
    fleet.add_argument(
        "--grace-ms", type=int, default=0, help=f"upper bound for draining, ms (<= {LIMITS['max_grace_ms']})"
    )
    fleet.add_argument("--delete-room", action="store_true", help="ask each agent to delete its room after")
    fleet.add_argument("--key-file", help="signing key file (else $SHUTDOWN_RPC_KEY_FILE or $SHUTDOWN_RPC_KEY)")
    fleet.add_argument("--unsigned", action="store_true", help="send unsigned requests (if agents allow it)")
    fleet.add_argument("--concurrency", type=int, default=DEFAULT_FLEET_CONCURRENCY, help="rooms in progress at once")
    fleet.add_argument(
        "--timeout", type=positive_seconds, default=DEFAULT_TIMEOUT_S, help="deadline per room, retries included"
    )
    fleet.add_argument(
        "--wait", type=non_negative_seconds, metavar="SECONDS", help="then wait this long for each agent to leave"
    )
    fleet.add_argument(
        "--webhook-listen",
        metavar="HOST:PORT",
        help="with --wait: receive the server's webhooks here (its webhook.urls must point at it) instead of polling",
    )
    fleet.add_argument(
        "--webhook-path", default=DEFAULT_WEBHOOK_PATH, help=f"webhook URL path (default {DEFAULT_WEBHOOK_PATH})"
    )
    fleet.add_argument("--dry-run", action="store_true", help="list the rooms and agents that would be asked")
    fleet.add_argument(
        "--yes",
        action="store_true",
        help="with --all-rooms: do not ask for confirmation (required when stdin is not a terminal)",
    )
    fleet.add_argument("--url", help="LiveKit server URL (else $LIVEKIT_URL)")
    fleet.add_argument("--api-key", help="LiveKit API key (else $LIVEKIT_API_KEY; the secret: $LIVEKIT_API_SECRET)")
    fleet.add_argument("--json", action="store_true", help="one JSON report on stdout (per room and summary)")
    fleet.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``fleet``; returns the exit code."""
    if args.unsigned and args.key_file:
        raise UsageError("--unsigned and --key-file exclude each other")
    if args.concurrency < 1:
        raise UsageError("--concurrency must be >= 1")
    if args.webhook_listen and args.wait is None:
        raise UsageError("--webhook-listen confirms departures: it needs --wait")
    if _must_confirm(args) and not sys.stdin.isatty():
        raise UsageError(
            "--all-rooms ends the agents of every room on the server: add --yes to confirm (no terminal to ask on)"
        )
    return asyncio.run(_fleet(args))


def _listen_address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise UsageError(f"--webhook-listen wants HOST:PORT with a port from 1 to 65535, got {value!r}")
    return host.strip("[]"), int(port)


def _must_confirm(args: argparse.Namespace) -> bool:
    """--all-rooms acts on rooms nobody named: an operator confirms it (on a terminal) or says --yes up front."""
    return bool(args.all_rooms and not args.dry_run and not args.yes)


async def _confirmed(count: int, url: str, delete_room: bool) -> bool:
    """Ask on the terminal (stderr, stdin) whether to end the agents of all ``count`` rooms; only y/yes agrees."""
    deleting = ", and delete every room" if delete_room else ""
    sys.stderr.write(f"End the agents of all {count} rooms on {url}{deleting}? [y/N] ")
    sys.stderr.flush()
    answer = await asyncio.to_thread(sys.stdin.readline)
    return answer.strip().lower() in ("y", "yes")


async def _fleet(args: argparse.Namespace) -> int:
    # a dry run only lists rooms: it signs nothing, so it needs no key
    key = None if args.unsigned or args.dry_run else signing_key_of_args(args)
    command = command_of(args)
    hooks = _webhook_listener(args)
    try:
        client = ShutdownClient(key, issuer=args.issuer, url=args.url, api_key=args.api_key, api_secret=None)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    async with client:
        if hooks is not None:
            try:
                await hooks.start()
            except OSError as exc:
                raise UsageError(f"--webhook-listen {args.webhook_listen}: {exc.strerror or exc}") from None
        try:
            outcomes = await _run_fleet(client, command, hooks, args)
        finally:
            if hooks is not None:
                await hooks.aclose()
    if outcomes is None:
        return EXIT_TRANSPORT
    if not outcomes:
        _emit_report([], args, EXIT_ROOM_NOT_FOUND)
        return EXIT_ROOM_NOT_FOUND
    code = exit_code_of_fleet(outcomes)
    _emit_report(outcomes, args, code)
    return code


def _webhook_listener(args: argparse.Namespace) -> WebhookListener | None:
    """The listener --webhook-listen asks for (not started), verifying with the LiveKit API key and secret."""
    if not args.webhook_listen:
        return None
    host, port = _listen_address(args.webhook_listen)
    api_key = args.api_key or os.environ.get("LIVEKIT_API_KEY", "")
    api_secret = os.environ.get("LIVEKIT_API_SECRET", "")
    if not (api_key and api_secret):
        raise UsageError("--webhook-listen verifies webhooks with LIVEKIT_API_KEY and $LIVEKIT_API_SECRET")
    return WebhookListener(api_key, api_secret, host=host, port=port, path=args.webhook_path)


async def _run_fleet(
    client: ShutdownClient, command: ShutdownCommand, hooks: WebhookListener | None, args: argparse.Namespace
) -> list[RoomOutcome] | None:
    """Select the rooms and end them, printing as it goes; None when the rooms could not be listed."""
    try:
        names = [r.strip() for r in args.rooms.split(",") if r.strip()] if args.rooms else []
        rooms = await select_rooms(client, names=names, pattern=args.match, all_rooms=args.all_rooms)
    except ShutdownFailed as error:
        print(f"cannot list the rooms: {error.message}", file=sys.stderr)
        return None
    if not rooms:
        print("no room matched", file=sys.stderr)
        return []
    if _must_confirm(args) and not await _confirmed(len(rooms), client.url, command.delete_room):
        raise UsageError("not confirmed: no request was sent")
    progress = _Progress(len(rooms), sys.stderr)
    outcomes: list[RoomOutcome] = []
    async for outcome in end_fleet(
        client, rooms, command, timeout=args.timeout, concurrency=args.concurrency, confirm_timeout=args.wait,
        departures=hooks, dry_run=args.dry_run,
    ):  # fmt: skip
        outcomes.append(outcome)
        progress.update(outcome)
        if not args.json:
            progress.clear()
            print(_describe(outcome), flush=True)
    progress.clear()
    return outcomes


def exit_code_of_fleet(outcomes: list[RoomOutcome]) -> int:
    """The summarising exit code: 13 if any room failed, else 12 if any agent stayed, else 0."""
    statuses = {o.status for o in outcomes}
    if RoomStatus.FAILED in statuses:
        return EXIT_PARTIAL
    if RoomStatus.STILL_PRESENT in statuses:
        return EXIT_STILL_PRESENT
    return EXIT_OK


def _outcome_json(outcome: RoomOutcome) -> dict[str, object]:
    data: dict[str, object] = {"room": outcome.room, "status": outcome.status.value}
    if outcome.dry_run:
        data["agents"] = list(outcome.planned)
    if outcome.error is not None:
        data["error"] = failure_json(outcome.error)
    if outcome.results:
        data["results"] = {
            agent: result_json(r) if isinstance(r, ShutdownResult) else failure_json(r)
            for agent, r in outcome.results.items()
        }
    return data


def _summary(outcomes: list[RoomOutcome]) -> Counter[str]:
    return Counter(o.status.value for o in outcomes)


def _emit_report(outcomes: list[RoomOutcome], args: argparse.Namespace, code: int) -> None:
    summary = _summary(outcomes)
    if args.json:
        report = {
            "rooms": [_outcome_json(o) for o in outcomes],
            "summary": dict(summary),
            "dry_run": bool(args.dry_run),
            "exit_code": code,
        }
        print(json.dumps(report))
        return
    counts = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in sorted(summary.items()))
    print(
        f"{len(outcomes)} room(s){': ' + counts if counts else ''}"
        + (" (dry run: nothing sent)" if args.dry_run else "")
    )


def _describe(outcome: RoomOutcome) -> str:
    status = outcome.status
    if status is RoomStatus.PLANNED:
        return f"would ask {len(outcome.planned)} agent(s) in {outcome.room!r}: {', '.join(outcome.planned)}"
    if outcome.error is not None:
        return f"{status.value}: {outcome.room!r}: {type(outcome.error).__name__}: {outcome.error.message}"
    parts = []
    for agent, result in outcome.results.items():
        if isinstance(result, ShutdownResult):
            left = {True: ", left", False: ", still in the room", None: ""}[result.agent_left]
            parts.append(f"{agent} {result.status.value}{left}")
        else:
            parts.append(f"{agent} {type(result).__name__}: {result.message}")
    return f"{status.value}: {outcome.room!r}: " + "; ".join(parts)


class _Progress:
    """A one-line progress bar on a terminal (stderr); silent when stderr is not a TTY."""

    WIDTH = 30

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.stream = stream
        self.enabled = stream.isatty()
        self.done = 0
        self.failed = 0
        self._shown = False

    def update(self, outcome: RoomOutcome) -> None:
        self.done += 1
        self.failed += outcome.status not in _OK_STATUSES
        if not self.enabled:
            return
        filled = self.WIDTH * self.done // max(self.total, 1)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        failed = f", {self.failed} not ok" if self.failed else ""
        self.stream.write(f"\r[{bar}] {self.done}/{self.total} rooms{failed}")
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            self.stream.write("\r" + " " * (self.WIDTH + 40) + "\r")
            self.stream.flush()
            self._shown = False
