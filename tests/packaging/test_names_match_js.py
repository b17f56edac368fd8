"""The names the Python and JS packages share (js/test/python_names.json) exist on the Python side too.

js/test/exports.test.ts checks the JS half of the same table; this is the Python half, so a rename on either side
without the other fails a test.
"""

import importlib
import json
from pathlib import Path

import pytest

TABLE = Path(__file__).resolve().parents[2] / "js" / "test" / "python_names.json"
SHARED = json.loads(TABLE.read_text(encoding="utf-8"))["names"]


def test_the_table_is_not_empty() -> None:
    assert len(SHARED) >= 40


@pytest.mark.parametrize("entry", SHARED, ids=[f"{e['python_module']}.{e['python']}" for e in SHARED])
def test_each_shared_name_is_public_in_its_python_module(entry: dict[str, str]) -> None:
    module = importlib.import_module(entry["python_module"])
    assert entry["python"] in module.__all__, f"{entry['python']} is not in {entry['python_module']}.__all__"
    assert hasattr(module, entry["python"])
