"""Spec §7.2: the matching rule of key-scope entries (literal, ``*`` the only wildcard), the one pattern rule
of the whole package. Not verifier cases: a top-level ``key_scope_patterns`` list of (entry, value, matches),
checked by the Python and JS tests against their matchers."""

from __future__ import annotations

from typing import Any

from shutdown_rpc.agent_side._policy import scope_matches

# (entry, value, matches): each states the outcome it is meant to have; generation fails if the reference disagrees.
CASES: tuple[tuple[str, str, bool], ...] = (
    ("backend", "backend", True),
    ("backend", "Backend", False),  # case-sensitive
    ("backend", "backend-2", False),  # no prefix match
    ("cron-*", "cron-", True),  # `*` matches the empty run
    ("cron-*", "cron-daily", True),
    ("cron-*", "xcron-daily", False),
    ("*-agent", "support-agent", True),
    ("a*b*c", "a-b-b-c", True),
    ("a*b*c", "a-c-b", False),
    ("*", "", True),
    ("*", "*", True),
    ("agent-*", "*", False),  # the any-agent target passes only an entry that matches a literal "*"
    ("**", "anything", True),
    ("ops[1]", "ops[1]", True),  # `[...]` is not a class
    ("ops[1]", "ops1", False),
    ("ops?", "ops1", False),  # `?` is not a wildcard
    ("ops?", "ops?", True),
    ("a\\*", "a\\xyz", True),  # `\` escapes nothing
    ("", "", True),
    ("", "x", False),
    ("caf\u00e9", "cafe\u0301", False),  # no Unicode normalization
    ("\U0001f600*", "\U0001f600\U0001f601", True),  # code points beyond the BMP match whole
    ("*\u00e9", "\u00c9", False),
)


def generate() -> list[dict[str, Any]]:
    """The cases as JSON objects, checked against the reference matcher."""
    out = []
    for entry, value, matches in CASES:
        if scope_matches(entry, value) is not matches:
            raise AssertionError(f"scope_matches({entry!r}, {value!r}) is not {matches}")
        out.append({"entry": entry, "value": value, "matches": matches})
    return out
