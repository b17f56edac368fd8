"""shutdown_rpc._extras.require_extra: the message names the part, the missing modules and the pip command."""

from __future__ import annotations

import pytest

from shutdown_rpc._extras import require_extra


def test_missing_module_names_the_extra() -> None:
    with pytest.raises(ModuleNotFoundError) as raised:
        require_extra("shutdown_rpc.client_side", "client", ("json", "no_such_module_xyz", "no_such_pkg.sub"))
    assert str(raised.value) == (
        "shutdown_rpc.client_side needs the [client] extra (no_such_module_xyz, no_such_pkg.sub not installed): "
        'pip install "livekit-shutdown-rpc[client]"'
    )
    assert raised.value.name == "no_such_module_xyz"


def test_installed_modules_pass() -> None:
    require_extra("shutdown_rpc.agent_side", "agent", ("json", "livekit.rtc", "livekit.agents"))
