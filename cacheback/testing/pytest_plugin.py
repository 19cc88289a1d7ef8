"""A ``fake_upstream`` pytest fixture.

Enable it with ``pytest_plugins = ["cacheback.testing.pytest_plugin"]`` in a ``conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._server import FakeUpstream

__all__ = ["fake_upstream"]


@pytest.fixture
def fake_upstream() -> Iterator[FakeUpstream]:
    """A running ``FakeUpstream`` with the default responder, stopped after the test."""
    with FakeUpstream() as upstream:
        yield upstream
