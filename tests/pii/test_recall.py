"""Recall on generated data (a small slice of benchmarks/pii_bench.py's samples, same generator)
and false positives on ordinary questions (a slice of each data set)."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

import pytest

from cacheback.pii import KINDS, Scanner, ner_status

pytest.importorskip("faker", reason="Faker is in the dev extra")
pytest.importorskip("phonenumbers", reason="phonenumberslite is a core dependency")
_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "pii_data.py"
_spec = importlib.util.spec_from_file_location("pii_data", _PATH)
assert _spec and _spec.loader
pii_data = importlib.util.module_from_spec(_spec)
sys.modules["pii_data"] = pii_data
_spec.loader.exec_module(pii_data)

SCANNER = Scanner()
NER = ner_status()[0]


@pytest.mark.parametrize("kind", KINDS)
def test_recall_per_kind(kind: str) -> None:
    if kind == "name" and not NER:
        pytest.skip("names without NER are found only after an introduction")
    samples = pii_data.generate(kind, 140, seed=7)
    hits = sum(any(f.kind == kind and f.start < b and f.end > a for f in SCANNER.scan(q))
               for _, q, a, b, _ in samples)
    floor = 0.85 if kind in ("name", "address") else 0.97
    assert hits / len(samples) >= floor


def test_false_positives_on_ordinary_questions(shared_data: Path) -> None:
    rng = random.Random(0)
    for name, questions in pii_data.ordinary_questions(shared_data).items():
        picked = rng.sample(questions, 400)
        flagged = sum(bool(SCANNER.scan(q)) for q in picked)
        assert flagged / len(picked) <= 0.02, name
