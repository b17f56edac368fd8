"""docs/quickstart.md, run as a reader runs it: every ``bash`` block marked ``<!-- quickstart: terminal N -->``
goes, as written, into the shell of terminal N (one long-lived bash per terminal, started in an empty folder,
so ``. .venv/bin/activate`` and ``export`` carry over between blocks of one terminal); a block marked ``ready
when "TEXT"`` keeps running, and the next step waits for TEXT in that terminal's output, as the page tells a
reader to; ``file NAME`` blocks are saved as NAME; ``terminal N shows`` blocks must appear in terminal N. The
block marked ``only without livekit-server`` (building the server with Go) runs too: nothing else puts a
``livekit-server`` on the terminals' PATH.

The e2e tests run in a network namespace without a way out, so the tools the page runs are pointed at local
copies, through their own environment variables: pip at the wheels setup.sh downloaded
(``.venv-extras/wheelhouse``: PIP_NO_INDEX, PIP_FIND_LINKS), ``go install`` at Go's module cache (GOPROXY=file://,
with GOPATH in the test's folder, so the link the page makes lands there, not in ~/go/bin). Two substitutions,
pinned below (each text must be on the page once): the checkout's placeholder path becomes this tree, and the
server's config gets a loopback STUN address (no DNS lookups).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from harness.livekit_server import SERVER_MODULE, SERVER_VERSION
from tests.e2e.installed import EXTRAS_DIR, REPO_ROOT, clean_env

pytestmark = pytest.mark.e2e

QUICKSTART = REPO_ROOT / "docs" / "quickstart.md"
BLOCK = re.compile(r"<!-- quickstart: (?P<what>[^>]*?) -->\n```(?P<lang>[a-z]+)\n(?P<code>.*?)```", re.DOTALL)
TERMINAL = re.compile(
    r'terminal (?P<n>\d+)(?:, ready when "(?P<ready>[^"]+)"|, (?P<optional>only without livekit-server))?'
)
CHECKOUT = "/path/to/livekit-shutdown-rpc"
GO_INSTALL = f"go install {SERVER_MODULE}@{SERVER_VERSION}"  # the page builds the version the harness runs
NUMBERS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen".split()
# The server hands clients its STUN servers (public ones by default): the agent's WebRTC would resolve their names,
# which the e2e namespace's egress guard refuses. The same server config with a loopback STUN address instead.
SERVER_CONFIG = '--config-body "agents: {target_load: 100}"'
LOOPBACK_SERVER_CONFIG = "--config-body \"{agents: {target_load: 100}, rtc: {stun_servers: ['127.0.0.1:7880']}}\""
STEP_TIMEOUT_S = 300.0  # the offline install of livekit-agents and its dependencies is the slowest step
DONE = "__quickstart_block_done__"
FAILED = "__quickstart_command_failed__"


@dataclass(frozen=True)
class Step:
    what: str
    lang: str
    code: str


def steps() -> list[Step]:
    return [Step(m.group("what"), m.group("lang"), m.group("code")) for m in BLOCK.finditer(QUICKSTART.read_text())]


def commands(step: Step) -> list[str]:
    return [line for line in step.code.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_the_quickstart_says_how_many_commands_it_has_and_every_block_is_marked() -> None:
    text = QUICKSTART.read_text()
    marked = steps()
    assert len(re.findall(r"^```(?:bash|python)$", text, re.MULTILINE)) == sum(s.lang != "text" for s in marked)
    shell = [s for s in marked if s.lang == "bash"]
    for step in shell:
        assert TERMINAL.fullmatch(step.what), step.what
    optional = [c for s in shell if "only without" in s.what for c in commands(s)]
    required = [c for s in shell if "only without" not in s.what for c in commands(s)]
    assert f"{NUMBERS[len(required)]} commands in three terminals" in text, required
    assert f"({NUMBERS[len(optional)]} more if you build the server with Go)" in text, optional
    code = "".join(s.code for s in marked)
    assert code.count(CHECKOUT) == 1 and code.count(SERVER_CONFIG) == 1 and GO_INSTALL in optional


class Terminal:
    """One bash reading the blocks of one terminal from its stdin, its output in a file."""

    def __init__(self, name: str, cwd: Path, env: dict[str, str]) -> None:
        self.name = name
        self.log_path = cwd.parent / f"{name}.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        self._bash = subprocess.Popen(
            ["bash"],
            stdin=subprocess.PIPE,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
        # a failing command is reported (the block goes on, as in a terminal; the test then fails)
        self._send(f"set -o errtrace; trap 'echo \"{FAILED} $BASH_COMMAND\"' ERR\n")
        self._blocks = 0

    def _send(self, text: str) -> None:
        assert self._bash.stdin is not None
        self._bash.stdin.write(text.encode())
        self._bash.stdin.flush()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, text: str, *, count: int = 1) -> None:
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while self.output().count(text) < count:
            if self._bash.poll() is not None:
                raise AssertionError(f"{self.name} exited; waiting for {text!r}:\n{self.output()[-4000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not in {self.name} after {STEP_TIMEOUT_S} s:\n{self.output()[-4000:]}")
            time.sleep(0.2)  # poll interval of the wait

    def run(self, code: str) -> None:
        """Run a block to its end; every command must succeed."""
        self._blocks += 1
        self._send(f"{code}\necho {DONE}\n")
        self.wait_for(DONE, count=self._blocks)
        assert FAILED not in self.output(), f"a command failed in {self.name}:\n{self.output()[-4000:]}"

    def start(self, code: str, ready: str) -> None:
        """Start a long-running block and wait until it prints ``ready``."""
        self._send(f"{code}\n")
        self.wait_for(ready)

    def close(self) -> None:
        """Ctrl+C to what runs in it, then end the shell (and anything left in its session)."""
        if self._bash.poll() is None:
            os.killpg(self._bash.pid, signal.SIGINT)
            assert self._bash.stdin is not None
            self._bash.stdin.close()
            try:
                self._bash.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self._bash.pid, signal.SIGKILL)
                self._bash.wait()
        self._log.close()


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def offline_env(tmp_path: Path) -> dict[str, str]:
    """The terminals' environment: pip and ``go install`` served from this machine's copies (see the docstring)."""
    wheelhouse = EXTRAS_DIR / "wheelhouse"
    if not any(wheelhouse.glob("livekit_agents-*.whl")) or not any(wheelhouse.glob("build-*.whl")):
        pytest.fail(f"no dependency wheels in {wheelhouse}: run `bash scripts/setup.sh`", pytrace=False)
    go = shutil.which("go") or next(
        (g for g in ("/usr/local/go/bin/go", "/usr/lib/go/bin/go") if Path(g).exists()), None
    )
    if go is None:
        pytest.fail("no Go toolchain: the Quickstart's step 2 builds livekit-server with it", pytrace=False)
    modcache = subprocess.run([go, "env", "GOMODCACHE"], capture_output=True, text=True, check=True).stdout.strip()
    downloads = Path(modcache) / "cache" / "download"
    if not (downloads / "github.com/livekit/livekit-server/@v" / f"{SERVER_VERSION}.zip").exists():
        pytest.fail(f"livekit-server {SERVER_VERSION} is not in Go's module cache: run `{GO_INSTALL}`", pytrace=False)
    return {
        **clean_env(),
        "PATH": f"{Path(go).parent}{os.pathsep}{os.environ['PATH']}",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheelhouse),
        "GOPATH": str(tmp_path / "go"),
        "GOMODCACHE": modcache,
        "GOPROXY": f"file://{downloads}",
        "GOSUMDB": "off",  # the cached modules were checked against the checksum database when downloaded
        "GOFLAGS": "",
    }


def test_the_quickstart_ends_a_job_from_an_empty_folder(tmp_path: Path) -> None:
    env = offline_env(tmp_path)
    assert _port_free(7880), "something already listens on 127.0.0.1:7880, the Quickstart's server port"
    folder = tmp_path / "quickstart"
    folder.mkdir()

    terminals: dict[str, Terminal] = {}
    started = time.monotonic()
    try:
        for step in steps():
            if step.what.startswith("file "):
                (folder / step.what.removeprefix("file ")).write_text(step.code)
                continue
            if step.what.endswith(" shows"):
                terminals[step.what.removesuffix(" shows")].wait_for(step.code.strip())
                continue
            where = TERMINAL.fullmatch(step.what)
            assert where is not None, f"unknown quickstart marker {step.what!r}"
            name = f"terminal {where.group('n')}"
            if name not in terminals:
                terminals[name] = Terminal(name, folder, env)
            terminal = terminals[name]
            code = step.code.replace(CHECKOUT, str(REPO_ROOT)).replace(SERVER_CONFIG, LOOPBACK_SERVER_CONFIG)
            if where.group("ready"):
                terminal.start(code, where.group("ready"))
            else:
                terminal.run(code)
    finally:
        for terminal in terminals.values():
            terminal.close()
    print(f"quickstart: all steps in {time.monotonic() - started:.0f} s (offline build and install included)")
    # the page's server secret is long enough for PyJWT: no warning in the agent's log or the backend's output
    assert all("InsecureKeyLengthWarning" not in t.output() for t in terminals.values())
    sent = terminals["terminal 1"].output()
    assert re.search(r"^accepted: agent 'agent-AJ_\w+' \(job 'AJ_\w+'\) in room 'quickstart'", sent, re.MULTILINE), sent
