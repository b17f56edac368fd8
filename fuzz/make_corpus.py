"""Write the committed seed corpus of the verifier fuzzer (fuzz/corpus/verifier/) from vectors/v1.json.

    .venv/bin/python -m fuzz.make_corpus

Seeds: every vector's payload as a raw string (mode 0, with the case's any-agent and unsigned flags), and the
envelope and body bytes inside every vector payload that decodes, as mode 2 (envelope) and mode 1 (body
re-signed with hmac-1 and with ed-1). File names are content hashes, so re-running is idempotent.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import msgpack

from fuzz.verifier_target import _VECTORS

CORPUS = Path(__file__).resolve().parent / "corpus" / "verifier"


def seeds() -> list[bytes]:
    out: list[bytes] = []
    for case in _VECTORS["cases"]:
        flags = (4 if case["binding"]["allow_any_agent"] else 0) | (8 if case["binding"]["allow_unsigned"] else 0)
        for payload in (case["payload"], *case.get("prior", [])):
            out.append(bytes([flags]) + payload.encode("utf-8", "surrogatepass"))
            try:
                raw = base64.b64decode(payload, validate=True)
                envelope = msgpack.unpackb(raw, raw=False, strict_map_key=False)
            except Exception:  # a malformed vector: its raw string is seed enough
                envelope = None
            if type(envelope) is list and len(envelope) == 4 and type(envelope[3]) is bytes:
                out.append(bytes([2 | flags]) + raw)
                out.append(bytes([1 | flags]) + envelope[3])  # re-signed with hmac-1
                out.append(bytes([1 | flags | (2 << 4)]) + envelope[3])  # re-signed with ed-1
    return list(dict.fromkeys(out))


def main() -> None:
    CORPUS.mkdir(parents=True, exist_ok=True)
    for seed in seeds():
        (CORPUS / hashlib.sha1(seed).hexdigest()).write_bytes(seed)  # noqa: S324 - a file name, not security
    print(f"{len(list(CORPUS.iterdir()))} seeds in {CORPUS}")


if __name__ == "__main__":
    main()
