"""The JavaScript reference client (js/) against a real livekit-server and the real example agent.

Three callers, each ending one job of examples/agent.py:

* a Node participant on @livekit/rtc-node relays a request that the Python backend code minted (after two
  that the agent refuses: another room, an unknown key);
* a Node backend signs its own request (Ed25519 through WebCrypto) and sends it from a Node participant;
* a real headless Chromium (Debian's, driven by playwright-core) runs a page using livekit-client that relays a
  Python-minted request; the test reads the acknowledgement the page shows.

The JS side is compiled from js/ (``npm run build && npm run build:test``; needs ``npm ci`` in js/ first) and
runs as ``node js/dist-test/live/*.js`` with its inputs in environment variables; it prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from livekit import api

from harness.livekit_server import LiveKitServer
from harness.participant import mint_token
from shutdown_rpc.client_side import ShutdownCommand, mint_request
from shutdown_rpc.protocol import HmacSha256Key, dump_key_file
from tests.e2e.remote_fixtures import (  # noqa: F401 - fixtures
    E2EKeys,
    ExampleAgent,
    Job,
    e2e_keys_fixture,
    example_agent_fixture,
    job_ended_once,
    start_job,
)

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
JS_DIR = REPO_ROOT / "js"
LIVE_DIR = JS_DIR / "dist-test" / "live"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ISSUER = "billing-backend"


@pytest.fixture(scope="session")
def js_client() -> Path:
    """js/ compiled (unless SHUTDOWN_RPC_JS_BUILT=1 says `npm run test:live` just did it)."""
    if shutil.which("node") is None:
        pytest.fail("node is not installed", pytrace=False)
    if not (JS_DIR / "node_modules").is_dir():
        pytest.fail("js/node_modules is missing: run `cd js && npm ci` first", pytrace=False)
    if os.environ.get("SHUTDOWN_RPC_JS_BUILT") != "1":
        for script in ("build", "build:test"):
            done = subprocess.run(["npm", "run", "--silent", script], cwd=JS_DIR, capture_output=True, text=True)
            if done.returncode != 0:
                pytest.fail(f"npm run {script} failed:\n{done.stdout}\n{done.stderr}", pytrace=False)
    return LIVE_DIR


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium (never a downloaded browser); CHROMIUM_PATH overrides /usr/bin/chromium."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install -y chromium", pytrace=False)
    return CHROMIUM


async def run_js(script: Path, env: dict[str, str], timeout: float = 120.0) -> dict[str, Any]:
    """Run one live script with node; return the JSON line it printed."""
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(script),
        cwd=JS_DIR,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"{script.name} did not finish within {timeout} s") from None
    stdout, stderr = out.decode(errors="replace"), err.decode(errors="replace")
    assert proc.returncode == 0, f"{script.name} exited {proc.returncode}:\n{stderr[-4000:]}"
    # the script's own line; the rtc-node SDK can print JSON log lines too (e.g. about the receipt still in
    # flight when the script disconnects)
    lines = [line for line in stdout.splitlines() if line.startswith('{"mode"')]
    assert lines, f"{script.name} printed no JSON:\n{stdout[-2000:]}\n{stderr[-2000:]}"
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def token_for(server: LiveKitServer, room: str, identity: str) -> str:
    return mint_token(server.api_key, server.api_secret, room=room, identity=identity)


def assert_accepted(out: dict[str, Any], job: Job, request_id: str) -> None:
    result = out.get("result")
    assert isinstance(result, dict), out
    assert result["kind"] == "acknowledged", out
    ack = result["ack"]
    assert ack["status"] == "accepted", out
    assert ack["requestId"] == request_id
    assert ack["agentIdentity"] == job.agent_identity
    assert ack["jobId"] == job.job_id
    assert result["reasonDelivered"] is True


async def assert_job_ended_with(agent: ExampleAgent, job: Job, request_id: str, reason: str) -> None:
    callback = await job_ended_once(agent, job)
    assert callback["reason"] == f"remote shutdown by {ISSUER} [{request_id}]: {reason}"


async def test_node_participant_relays_python_minted_request(
    js_client: Path,
    livekit_server: LiveKitServer,
    lkapi: api.LiveKitAPI,
    example_agent: ExampleAgent,
    e2e_keys: E2EKeys,
    participant_factory: object,
    room_name: str,
) -> None:
    job = await start_job(example_agent, lkapi, participant_factory, room_name)
    reason = "relayed by a Node participant"
    minted = mint_request(
        e2e_keys.hmac, ShutdownCommand(reason=reason), room=room_name, agent=job.agent_identity, issuer=ISSUER
    )
    # refused first (typed from the real RpcError of @livekit/rtc-node), without ending the job
    other_room = mint_request(
        e2e_keys.hmac, ShutdownCommand(reason="x"), room=room_name + "-x", agent=job.agent_identity, issuer=ISSUER
    )
    stranger = HmacSha256Key("js-e2e-unknown", os.urandom(32))
    unknown_key = mint_request(
        stranger, ShutdownCommand(reason="x"), room=room_name, agent=job.agent_identity, issuer=ISSUER
    )
    out = await run_js(
        js_client / "node_client.js",
        {
            "SHUTDOWN_RPC_MODE": "relay",
            "LIVEKIT_URL": livekit_server.url,
            "LIVEKIT_TOKEN": token_for(livekit_server, room_name, "js-node-relay"),
            "SHUTDOWN_RPC_DESTINATION": job.agent_identity,
            "SHUTDOWN_RPC_PAYLOADS_FIRST": json.dumps([other_room.payload, unknown_key.payload]),
            "SHUTDOWN_RPC_PAYLOAD": minted.payload,
        },
    )
    refusals = [(r["kind"], r["refusal"]["code"], r["refusal"]["name"]) for r in out["earlier"]]
    assert refusals == [("refused", 4130, "WRONG_ROOM"), ("refused", 4110, "UNKNOWN_KEY")], out["earlier"]
    assert all(r["refusal"]["retryable"] is False for r in out["earlier"])
    assert_accepted(out, job, minted.request_id)
    await assert_job_ended_with(example_agent, job, minted.request_id, reason)


async def test_node_backend_signs_its_own_request(
    js_client: Path,
    livekit_server: LiveKitServer,
    lkapi: api.LiveKitAPI,
    example_agent: ExampleAgent,
    e2e_keys: E2EKeys,
    participant_factory: object,
    room_name: str,
) -> None:
    job = await start_job(example_agent, lkapi, participant_factory, room_name)
    reason = "signed in Node with Ed25519 (WebCrypto)"
    out = await run_js(
        js_client / "node_client.js",
        {
            "SHUTDOWN_RPC_MODE": "sign",
            "LIVEKIT_URL": livekit_server.url,
            "LIVEKIT_TOKEN": token_for(livekit_server, room_name, "js-node-backend"),
            "SHUTDOWN_RPC_DESTINATION": job.agent_identity,
            "SHUTDOWN_RPC_KEY_FILE": dump_key_file(e2e_keys.ed25519),
            "SHUTDOWN_RPC_ROOM": room_name,
            "SHUTDOWN_RPC_ISSUER": ISSUER,
            "SHUTDOWN_RPC_REASON": reason,
        },
    )
    request_id = out["requestId"]
    assert isinstance(request_id, str) and len(request_id) == 22
    assert_accepted(out, job, request_id)
    await assert_job_ended_with(example_agent, job, request_id, reason)


async def test_browser_relays_python_minted_request(
    js_client: Path,
    chromium: str,
    livekit_server: LiveKitServer,
    lkapi: api.LiveKitAPI,
    example_agent: ExampleAgent,
    e2e_keys: E2EKeys,
    participant_factory: object,
    room_name: str,
) -> None:
    job = await start_job(example_agent, lkapi, participant_factory, room_name)
    reason = "relayed by a browser"
    minted = mint_request(
        e2e_keys.hmac, ShutdownCommand(reason=reason), room=room_name, agent=job.agent_identity, issuer=ISSUER
    )
    out = await run_js(
        js_client / "browser_relay.js",
        {
            "LIVEKIT_URL": livekit_server.url,
            "LIVEKIT_TOKEN": token_for(livekit_server, room_name, "js-browser"),
            "SHUTDOWN_RPC_DESTINATION": job.agent_identity,
            "SHUTDOWN_RPC_PAYLOAD": minted.payload,
            "CHROMIUM_PATH": chromium,
        },
    )
    assert "error" not in out, out
    assert out["shownSummary"].startswith(f"accepted by {job.agent_identity}"), out
    assert_accepted(out, job, minted.request_id)
    await assert_job_ended_with(example_agent, job, minted.request_id, reason)
