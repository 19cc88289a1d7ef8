"""Returning freed heap memory to the OS: works on glibc, a silent no-op elsewhere."""

from __future__ import annotations

import platform

import pytest

from cacheback import _heap


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_trim_runs_on_glibc() -> None:
    assert _heap.release_free_memory() is True


def test_without_malloc_trim_it_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_heap, "_malloc_trim", lambda: None)
    assert _heap.release_free_memory() is False


def test_a_failing_trim_is_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_: int) -> int:
        raise OSError("no")

    monkeypatch.setattr(_heap, "_malloc_trim", lambda: broken)
    assert _heap.release_free_memory() is False
