"""Verifier faults: the model file missing, altered (sha256), or the model raising at run time.
The cache keeps answering: the feature-only matcher decides at a stricter budget, the degraded
mode shows in ``stats()`` and ``cacheback doctor``, and no lookup fails."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from cacheback import SemanticCache, VerifierError
from cacheback.cli._doctor import run_checks
from cacheback.match._verified import (
    VerifiedMatcher,
    VerifiedModel,
    build_verified,
    fallback_budget,
)
from cacheback.verify import DEFAULT_VERIFIER_JSON, VERIFIER_ENV_VAR, Verifier

STAND_IN = VerifiedModel.from_features(1.0)


class Raising(Verifier):
    name = "raising"

    def score(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        raise RuntimeError("onnxruntime exploded")


def _copy(tmp_path: Path) -> Path:
    for name in ("verifier.json", "verifier-int8.onnx"):
        shutil.copy(DEFAULT_VERIFIER_JSON.parent / name, tmp_path / name)
    return tmp_path / "verifier.json"


@pytest.fixture(params=["missing", "altered"])
def broken(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    meta = _copy(tmp_path)
    model = tmp_path / "verifier-int8.onnx"
    if request.param == "missing":
        model.unlink()
    else:
        with open(model, "r+b") as fh:
            fh.seek(4096)
            fh.write(b"\xde\xad\xbe\xef")
    monkeypatch.setenv(VERIFIER_ENV_VAR, str(meta))
    return str(request.param)


def test_a_broken_model_file_gives_the_stricter_matcher(broken: str, embedder: object) -> None:
    with SemanticCache(":memory:", embedder=embedder, matcher=build_verified(0.05, STAND_IN)) as cache:
        assert isinstance(cache.matcher, VerifiedMatcher)
        assert cache.matcher.fallback.max_wrong_hit_rate == fallback_budget(0.05)
        cache.put("How do I reset my password?", "Settings > Security.")
        assert cache.get("How do I reset my password?") is not None
        cache.get("How can I reset my password?")
        assert "verifier" in cache.stats()["degraded"]


def test_doctor_reports_the_broken_verifier(broken: str, tmp_path: Path) -> None:
    checks = run_checks(tmp_path / "cache.db")
    failed = [c for c in checks if c.name == "verifier"]
    assert failed and failed[0].status == "fail" and "stricter" in (failed[0].mode or "")


def test_a_verifier_raising_at_run_time_falls_back(embedder: object) -> None:
    matcher = VerifiedMatcher(0.05, verifier=Raising(), model=STAND_IN)
    with SemanticCache(":memory:", embedder=embedder, matcher=matcher) as cache:
        cache.put("How do I reset my password?", "Settings > Security.")
        for _ in range(3):
            cache.get("How can I reset my password?")
        status = cache.stats()["degraded"]["verifier"]
        assert "RuntimeError" in status and "feature-only" in status


def test_the_verifier_error_type_is_exported() -> None:
    assert issubclass(VerifierError, Exception)
