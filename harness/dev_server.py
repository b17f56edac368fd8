"""A local livekit-server for development: ``python -m harness.dev_server`` (from a checkout, after setup.sh).

Starts the harness's loopback dev server (the binary setup.sh located or built, free ports, a fresh random
API secret of 32 bytes so PyJWT stays quiet) and prints the three ``export`` lines an agent's and a backend's
shell need; ``--env-file PATH`` also writes them (``KEY=value`` lines, mode 600) for scripts. Runs until
Ctrl+C or SIGTERM, then stops the server.

The printed secret is a throwaway for this one local server, valid only while it runs.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import signal
import sys
import tempfile
from pathlib import Path

from harness.livekit_server import SERVER_VERSION, LiveKitServer, ServerStartError

DEV_API_KEY = "devkey"


def env_lines(env: dict[str, str], *, export: bool) -> str:
    """``export KEY=value`` (shell-quoted) lines, or plain ``KEY=value`` lines for an env file."""
    prefix = "export " if export else ""
    return "".join(f"{prefix}{key}={shlex.quote(value)}\n" for key, value in env.items())


def write_env_file(path: Path, env: dict[str, str]) -> None:
    """Write ``KEY=value`` lines readable only by the owner (the file holds the API secret)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(env_lines(env, export=False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.dev_server", description=__doc__.split("\n")[0])
    parser.add_argument("--env-file", type=Path, help="also write LIVEKIT_URL/_API_KEY/_API_SECRET here (mode 600)")
    args = parser.parse_args(argv)
    # Block the stop signals first: a Ctrl+C during startup is then handled by the same sigwait below.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    log_path = Path(tempfile.gettempdir()) / "livekit-dev-server.log"
    server = LiveKitServer(api_key=DEV_API_KEY, api_secret=secrets.token_urlsafe(32), log_path=log_path)
    try:
        server.start()
    except ServerStartError as exc:
        print(f"dev-server: {exc}", file=sys.stderr)
        return 1
    try:
        env = server.env()
        if args.env_file:
            write_env_file(args.env_file, env)
        print(f"livekit-server {SERVER_VERSION} (dev mode) on {server.url}, log {server.log_path}")
        print("Export these in the shells of your agent and your backend (or `shutdown-rpc send`):\n")
        print(env_lines(env, export=True))
        print("Ctrl+C stops the server.", flush=True)
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        server.stop()
    print("dev-server: stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
