"""Coverage-guided fuzzing of ``Verifier.verify`` with atheris (libFuzzer); the target is fuzz/verifier_target.py.

CI (scripts/test.sh, about a minute; new inputs go to a scratch directory, the committed seeds are read only)::

    .venv/bin/python -m fuzz.fuzz_verifier -max_total_time=60 -dict=fuzz/msgpack.dict /tmp/fz fuzz/corpus/verifier

Before a release (>= 10 M executions; -fork=2 runs 2 processes, -ignore_crashes=0 stops at the first finding)::

    .venv/bin/python -m fuzz.fuzz_verifier -runs=10000000 -dict=fuzz/msgpack.dict -fork=2 /tmp/fz fuzz/corpus/verifier

A finding is written as ``crash-<sha1>`` in the working directory; replay it with
``.venv/bin/python -m fuzz.fuzz_verifier crash-<sha1>``, and add it to fuzz/corpus/verifier once fixed.
"""

from __future__ import annotations

import sys

import atheris  # type: ignore[import-untyped]  # ships no type information

with atheris.instrument_imports(include=["shutdown_rpc"]):
    from fuzz.verifier_target import check


def test_one_input(data: bytes) -> None:
    """libFuzzer's entry point: any exception (InvariantBroken included) is reported as a crash."""
    check(data)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
