"""Every test in tests/guards/ is a guard: `pytest -m guard` runs them (all of them well under two minutes)."""
import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "/tests/guards/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.guard)
