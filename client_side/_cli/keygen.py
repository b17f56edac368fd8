"""``shutdown-rpc keygen``: a new key file (mode 0600); for ed25519 also the public-only file for agents."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from shutdown_rpc.client_side._key_files import write_key_file
from shutdown_rpc.protocol import Ed25519SigningKey, HmacSha256Key, dump_key_file

from .common import SubParsers, UsageError
from .exit_codes import EXIT_OK


def register(sub: SubParsers) -> None:
    """Add the ``keygen`` command."""
    keygen = sub.add_parser("keygen", help="create a key file (mode 0600)")
    keygen.add_argument("--algorithm", choices=("hmac-sha256", "hmac", "ed25519"), default="ed25519")
    keygen.add_argument("--key-id", required=True, help="1-64 characters of [A-Za-z0-9._-]")
    keygen.add_argument("--out", required=True, help="path of the (secret) key file")
    keygen.add_argument("--public-out", help="ed25519: path of the public key file (default OUT.pub)")
    keygen.add_argument("--force", action="store_true", help="overwrite existing files")
    keygen.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the key file(s)."""
    out = Path(args.out)
    overwrite: bool = args.force
    for path in (out, Path(args.public_out) if args.public_out else out):
        if not path.parent.is_dir():  # else a bare FileNotFoundError from deep in the writer
            raise UsageError(f"{str(path)!r}: folder {str(path.parent)!r} does not exist (create it first)")
    if args.algorithm in ("hmac-sha256", "hmac"):
        key = HmacSha256Key(args.key_id, os.urandom(32))
        write_key_file(out, dump_key_file(key), secret=True, overwrite=overwrite)
        print(f"wrote hmac-sha256 key {key.key_id!r} to {str(out)!r} (mode 600); give the same file to the agents")
        return EXIT_OK
    signing = Ed25519SigningKey.generate(args.key_id)
    public_out = Path(args.public_out) if args.public_out else out.with_name(out.name + ".pub")
    # Compare the files, not the spellings: "sub/../k.json" is "k.json" (and --force would overwrite the new
    # private key with the public one).
    if _same_file(public_out, out):
        raise UsageError("--public-out must differ from --out")
    if not overwrite and os.path.lexists(public_out):  # a dangling symlink counts: it would be refused later
        raise UsageError(f"{str(public_out)!r} exists (use --force to overwrite)")
    write_key_file(out, dump_key_file(signing), secret=True, overwrite=overwrite)
    write_key_file(public_out, dump_key_file(signing.verifying_key()), secret=False, overwrite=overwrite)
    print(f"wrote ed25519 private key {signing.key_id!r} to {str(out)!r} (mode 600)")
    print(f"wrote its public key to {str(public_out)!r} (mode 644) for the agents' key ring")
    return EXIT_OK


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: the same resolved path, or (when both exist) the same inode."""
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
