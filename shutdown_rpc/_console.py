"""The ``shutdown-rpc`` console script: the CLI, or one line naming the extra when it is not installed.

pip installs the script with the core package too; without ``[client]`` it says what to install instead of
printing an ImportError traceback.
"""

from __future__ import annotations

import sys

EXIT_USAGE = 2


def main() -> int:
    """Run the CLI (``shutdown_rpc.client_side._cli.main``); exit 2 with one line if its extra is missing."""
    try:
        from shutdown_rpc.client_side._cli import main as cli_main
    except ModuleNotFoundError as exc:
        if "extra" not in str(exc):
            raise
        print(f"shutdown-rpc: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return cli_main()
