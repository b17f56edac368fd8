"""Regenerate vectors/v1.json deterministically (fixed keys, clock and request ids).

Usage: python scripts/gen_vectors.py [--check]   (--check: exit 1 if the committed file differs)
The cases live in scripts/vectorgen/, one module per spec section. Outcomes are computed by the reference
verifier and each case also states the outcome it is *meant* to have; the script refuses to write a file where
the two disagree.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make `scripts.vectorgen` importable

from scripts.vectorgen import render  # noqa: E402
from scripts.vectorgen.runner import VECTORS_PATH  # noqa: E402


def main() -> int:
    """Write vectors/v1.json, or with --check compare it with a fresh generation."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare with the committed file instead of writing")
    args = parser.parse_args()
    text = render()
    if args.check:
        if VECTORS_PATH.read_text() != text:
            print(f"{VECTORS_PATH} is stale: run python scripts/gen_vectors.py", file=sys.stderr)
            return 1
        return 0
    VECTORS_PATH.write_text(text)
    print(f"wrote {VECTORS_PATH} ({len(json.loads(text)['cases'])} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
