"""The receipt token (spec §8, §11): a secret the agent draws at each acceptance and gives only to its caller
in the acknowledgement, so that only that caller can end the agent's wait for the reply with a receipt."""

from __future__ import annotations

import hmac
import re
import secrets

RECEIPT_TOKEN_BYTES = 16
"""Random bytes per token: 128 bits from the OS CSPRNG, 22 characters of base64url."""

_TOKEN = re.compile(r"[A-Za-z0-9_-]{22,64}")


def new_receipt_token() -> str:
    """A fresh receipt token: 16 random bytes, base64url without padding (spec §8 RECOMMENDED form)."""
    return secrets.token_urlsafe(RECEIPT_TOKEN_BYTES)


def is_receipt_token(text: str) -> bool:
    """Whether ``text`` has the form of a receipt token: 22-64 characters of ``[A-Za-z0-9_-]``."""
    return len(text) <= 64 and _TOKEN.fullmatch(text) is not None


def is_receipt_for(payload: str, receipt_token: str) -> bool:
    """Whether a receipt ``payload`` is ``receipt_token`` (the form is checked before comparing; constant time).

    The request id is never a receipt: it is public (the ending attributes carry it), the token is not.
    """
    if not is_receipt_token(payload):
        return False
    return hmac.compare_digest(payload.encode(), receipt_token.encode())
