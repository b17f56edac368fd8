"""Issue 19: bad key configuration degrades, never kills. Each way a configured key can fail to load leaves the
job running with the method registered, ONE ERROR naming the entry (variable or key_files=, position, path; no
key value), the good entries loaded, and a request signed with the key that did not load refused UNKNOWN_KEY
with a detail saying this agent's keys could not be loaded."""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shutdown_rpc.agent_side._keys import KEYS_ENV, load_keys_tolerantly
from shutdown_rpc.protocol import ErrorCode, dump_key_file
from shutdown_rpc.protocol.wire import METHOD_NAME
from tests.agent_side.fakes import KEY, OTHER_KEY, signed
from tests.agent_side.test_handler import Harness, make

# What a broken entry meant to be (OTHER_KEY); its secret must never appear in a log or a refusal.
OTHER_SECRET = json.loads(dump_key_file(OTHER_KEY))["secret"]
NOT_CANONICAL = base64.b64encode(b"\0" * 32).decode()[:-2] + "B="  # decodes, but pad bits are set


def _other_key_text(**overrides: object) -> str:
    return json.dumps({**json.loads(dump_key_file(OTHER_KEY)), **overrides})


# name -> (makes the bad entry's path in tmp_path, the problem the ERROR states)
BAD_FILES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "missing file": (lambda d: d / "ops-1.pub", "cannot read key file: No such file or directory"),
    "directory": (lambda d: _mkdir(d / "ops-1.d"), "not a regular file"),
    "fifo": (lambda d: _mkfifo(d / "ops-1.fifo"), "not a regular file"),
    "empty file": (lambda d: _file(d / "ops-1.json", ""), "key file is not JSON"),
    "truncated json": (lambda d: _file(d / "ops-1.json", _other_key_text()[:-9]), "key file is not JSON"),
    "json that is not a key": (lambda d: _file(d / "ops-1.json", '["not", "a key"]'), "key file"),
    "non-canonical base64": (lambda d: _file(d / "ops-1.json", _other_key_text(secret=NOT_CANONICAL)), "base64"),
    "unreadable (not a directory on the way)": (
        lambda d: _file(d / "plain.json", "{}") / "ops-1.pub",
        "cannot read key file: Not a directory",
    ),
}


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def _mkfifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _file(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


def _good_file(tmp_path: Path) -> Path:
    return _file(tmp_path / "backend-1.json", dump_key_file(KEY))


async def _enable(caplog: pytest.LogCaptureFixture, **kw: Any) -> tuple[Harness, str]:
    with caplog.at_level(logging.INFO, logger="shutdown_rpc"):
        h = await make(keys=None, **kw)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors  # ONE error, however many entries failed
    assert OTHER_SECRET not in errors[0]
    return h, errors[0]


async def _good_loaded_bad_told(h: Harness) -> None:
    assert h.ctx.room.local_participant.methods[METHOD_NAME] == h.remote.handle  # still registered
    assert h.remote.key_ids == (KEY.key_id,)
    err = await h.refused(signed(OTHER_KEY), ErrorCode.UNKNOWN_KEY)
    assert "this agent's keys could not be loaded (1 of 2 failed; see the agent's log)" in err.message
    assert OTHER_SECRET not in err.message and "ops-1." not in err.message  # no path told to callers
    await h.call(signed(KEY))  # a key that did load still ends the job
    await h.ctx.shutdown_called.wait()


@pytest.mark.parametrize("given", [KEYS_ENV, "key_files"])
@pytest.mark.parametrize("kind", BAD_FILES)
async def test_a_bad_entry_of_a_list_is_named_and_the_good_one_loads(
    kind: str, given: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_path, problem = BAD_FILES[kind]
    entries = [_good_file(tmp_path), make_path(tmp_path)]
    if given == KEYS_ENV:
        h, error = await _enable(caplog, env={KEYS_ENV: os.pathsep.join(map(str, entries))})
    else:
        h, error = await _enable(caplog, key_files=entries)
    assert f"{given} entry #2 ({entries[1]}): " in error and problem in error, error
    assert "1 of 2 configured keys could not be loaded" in error and "loaded: backend-1" in error
    await _good_loaded_bad_told(h)


@pytest.mark.parametrize(
    ("value", "source"),
    [
        (_other_key_text()[:-9], f"{KEYS_ENV} (a key object): "),  # truncated inline key
        ("[" + _other_key_text(), f"{KEYS_ENV} (a JSON array): not valid JSON"),  # truncated array
        (_other_key_text(secret=NOT_CANONICAL), f"{KEYS_ENV} (a key object): "),
        (json.dumps([{"key_id": "ops-1"}]), f"{KEYS_ENV} entry #1: "),  # JSON, not a key
        ("[1]", f"{KEYS_ENV} entry #1: array items must be key objects or file paths"),
    ],
)
async def test_bad_inline_json_disables_without_ending_the_job(
    value: str, source: str, caplog: pytest.LogCaptureFixture
) -> None:
    h, error = await _enable(caplog, env={KEYS_ENV: value})
    assert error.startswith("remote shutdown DISABLED for this job: none of its configured keys could be loaded")
    assert source in error, error
    assert h.ctx.room.local_participant.methods[METHOD_NAME] == h.remote.handle and h.remote.key_ids == ()
    err = await h.refused(signed(OTHER_KEY), ErrorCode.UNKNOWN_KEY)
    assert "this agent's keys could not be loaded (1 of 1 failed" in err.message
    assert h.ctx.shutdown_calls == []


async def test_a_secret_pasted_as_a_path_is_named_by_position_only(caplog: pytest.LogCaptureFixture) -> None:
    _, error = await _enable(caplog, env={KEYS_ENV: OTHER_SECRET})
    assert f"{KEYS_ENV} entry #1: cannot read key file" in error and OTHER_SECRET not in error


def test_a_key_id_given_twice_keeps_the_first(tmp_path: Path) -> None:
    first, second = _good_file(tmp_path), _file(tmp_path / "again.json", dump_key_file(KEY))
    loaded = load_keys_tolerantly(files=[first, second])
    assert list(loaded.ring) == [KEY.key_id]
    assert [str(f) for f in loaded.failures] == ["key id 'backend-1': given twice; the first one is used"]


async def test_without_keys_the_info_line_does_not_say_enabled(caplog: pytest.LogCaptureFixture) -> None:
    # issue 19: an agent without keys logged ERROR "DISABLED" and then INFO "remote shutdown enabled"
    h, error = await _enable(caplog, env={})
    assert "DISABLED" in error
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert h.remote.registered.is_set()
    assert not any("enabled" in m for m in infos), infos
    assert any("registered, DISABLED (no keys)" in m for m in infos), infos
