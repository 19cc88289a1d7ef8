"""The labelled evaluation streams of the match benchmarks, built from ``../shared/data``.

Each data set becomes a *stream*: texts put in a cache, texts asked of it, and a rule saying
whether serving one stored text for one query is right. Embeddings are computed once with the
project's embedder and kept as ``.npy`` under ``benchmarks/.cache/`` (gitignored).
"""

from __future__ import annotations

import csv
import json
import random
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from bench_common import embed_cached, shared_data_dir

__all__ = ["ALL_DATASETS", "DATASETS", "RULE_SETS", "Stream", "load_stream", "shared_data_dir"]

DATASETS = ("banking77", "clinc150", "bitext", "fow-cache", "gptcache-mock")
_SEED = 20240611


@dataclass
class Stream:
    """Stored texts, query texts and their labels: serving stored ``j`` for query ``i`` is right
    when their labels are equal.

    ``pairs_only`` streams (fow-cache) compare each query with its own stored text alone, as if
    each pair had a cache of its own; the others search every stored text. ``category`` names
    each query's kind where the data set has one (fow-cache: paraphrase, negation...).
    """

    name: str
    stored: list[str]
    queries: list[str]
    stored_label: list[str]
    query_label: list[str]
    pairs_only: bool = False
    category: list[str] = field(default_factory=list)
    stored_vectors: np.ndarray | None = None
    query_vectors: np.ndarray | None = None

    def right(self, i: int, j: int) -> bool:
        return self.query_label[i] == self.stored_label[j]

    def answerable(self, i: int) -> bool:
        """Whether some stored text is a right answer for query ``i`` (the recall denominator)."""
        if self.pairs_only:
            return self.right(i, i)
        return self.query_label[i] in self._labels

    @cached_property
    def _labels(self) -> frozenset[str]:
        return frozenset(self.stored_label)


def _split(items: list[tuple[str, str]], stored_share: float) -> tuple[list[int], list[int]]:
    """A seeded per-label split of item indices into stored and queried."""
    by_label: dict[str, list[int]] = {}
    for i, (_, label) in enumerate(items):
        by_label.setdefault(label, []).append(i)
    rng = random.Random(_SEED)
    stored, queried = [], []
    for label in sorted(by_label):
        idx = by_label[label]
        rng.shuffle(idx)
        cut = max(1, round(len(idx) * stored_share))
        stored += idx[:cut]
        queried += idx[cut:]
    return sorted(stored), sorted(queried)


def _intent_stream(name: str, items: list[tuple[str, str]], stored_share: float = 0.5) -> Stream:
    stored_idx, query_idx = _split(items, stored_share)
    stored = [items[i] for i in stored_idx]
    queried = [items[i] for i in query_idx]
    return Stream(
        name=name,
        stored=[t for t, _ in stored],
        queries=[t for t, _ in queried],
        stored_label=[lab for _, lab in stored],
        query_label=[lab for _, lab in queried],
    )


def _banking77(data: Path) -> Stream:
    with open(data / "banking77" / "train.csv", newline="", encoding="utf-8") as fh:
        items = [(row["text"], row["category"]) for row in csv.DictReader(fh)]
    return _intent_stream("banking77", items)


def _clinc150(data: Path) -> Stream:
    """In-scope train utterances are stored; in-scope val and every oos utterance are asked."""
    raw = json.loads((data / "clinc150" / "clinc150_dev.json").read_text("utf-8"))
    queries = raw["val"] + raw["oos_train"] + raw["oos_val"]
    return Stream(
        name="clinc150",
        stored=[t for t, _ in raw["train"]],
        queries=[t for t, _ in queries],
        stored_label=[lab for _, lab in raw["train"]],
        query_label=[lab for _, lab in queries],
    )


def _entity_key(row: dict[str, str]) -> str:
    """The row's entity with the spelling noise (``#``, leading zeros, case) removed."""
    value = re.sub(r"^[#0]+", "", row["entity_value"].strip().lower())
    return f"{row['entity_type']}={value}" if row["entity_type"] else ""


def _bitext(data: Path) -> Stream:
    """Right means same intent *and* same entity (order id, account type, name...)."""
    path = data / "bitext" / "bitext_customer_support_6480.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    items = [(r["instruction"], f"{r['intent']}|{_entity_key(r)}") for r in rows]
    by_intent = [(t, lab.split("|")[0]) for t, lab in items]
    stored_idx, query_idx = _split(by_intent, 0.5)
    return Stream(
        name="bitext",
        stored=[items[i][0] for i in stored_idx],
        queries=[items[i][0] for i in query_idx],
        stored_label=[items[i][1] for i in stored_idx],
        query_label=[items[i][1] for i in query_idx],
    )


def _fow_cache(data: Path) -> Stream:
    """Each pair on its own: ``b`` asked of a cache holding ``a``; a trap's labels differ."""
    rows = [json.loads(line) for line in (data / "fow-cache" / "pairs_dev.jsonl").open(encoding="utf-8")]
    return Stream(
        name="fow-cache",
        stored=[r["a"] for r in rows],
        queries=[r["b"] for r in rows],
        stored_label=[r["id"] for r in rows],
        query_label=[r["id"] if r["same_answer"] else f"{r['id']} (trap)" for r in rows],
        pairs_only=True,
        category=[r["category"] for r in rows],
    )


def _gptcache_mock(data: Path) -> Stream:
    """Every origin is stored and every ``similar`` asked: only its own origin (text) is right."""
    pairs = json.loads((data / "gptcache-mock" / "mock_data.json").read_text("utf-8"))
    origins = [p["origin"] for p in pairs]
    return Stream(
        name="gptcache-mock",
        stored=origins,
        queries=[p["similar"] for p in pairs],
        stored_label=origins,
        query_label=origins,
    )


#: Rows taken from the bigger general pair sets (seeded), so every set stays quick to score.
PAIR_SAMPLE = 2000


def _pair_stream(name: str, file: str) -> Callable[[Path], Stream]:
    """A general pair set as a pairs-only stream: ``b`` asked of a cache holding ``a``; right
    when the pair is labelled the same meaning (SNLI: entailment)."""

    def load(data: Path) -> Stream:
        rows = [json.loads(line) for line in (data / "pairs" / file).open(encoding="utf-8")]
        if len(rows) > PAIR_SAMPLE:
            rows = random.Random(f"{_SEED}-{name}").sample(rows, PAIR_SAMPLE)
        return Stream(
            name=name,
            stored=[r["a"] for r in rows],
            queries=[r["b"] for r in rows],
            stored_label=[str(r["id"]) for r in rows],
            query_label=[str(r["id"]) if r["label"] == 1 else f"{r['id']} (different)"
                         for r in rows],
            pairs_only=True,
        )

    return load


#: Rule-made pairs per rule (traps) and harmless rewrites per intent set (``rules-<set>``).
RULE_TRAPS_PER_RULE = 200
RULE_REPEATS = 400


def _rule_stream(base: str) -> Callable[[Path], Stream]:
    """Pairs made by general grammar rules (``training/traps.py``) from the *stored* questions of
    an intent set: a trap (negation, another number or date, swapped or replaced names, a scope
    word turned to its opposite) must miss, a harmless rewrite (case, punctuation, a greeting, a
    contraction) should hit. Nothing in the rules is read off an evaluation set; a leave-one-out
    run drops ``rules-X`` together with ``X``."""

    def load(data: Path) -> Stream:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "training"))
        from traps import make_fronted, make_repeats, make_traps

        texts = _LOADERS[base](data).stored
        rng = random.Random(f"{_SEED}-rules-{base}")
        triples = (make_traps(texts, rng, RULE_TRAPS_PER_RULE) + make_repeats(texts, rng, RULE_REPEATS)
                   + make_fronted(texts, rng, RULE_TRAPS_PER_RULE))
        return Stream(
            name=f"rules-{base}",
            stored=[a for a, _, _ in triples],
            queries=[b for _, b, _ in triples],
            stored_label=[str(n) for n in range(len(triples))],
            query_label=[str(n) if rule in ("repeat", "fronted") else f"{n} (trap)"
                         for n, (_, _, rule) in enumerate(triples)],
            pairs_only=True,
            category=[rule for _, _, rule in triples],
        )

    return load


_LOADERS: dict[str, Callable[[Path], Stream]] = {
    "banking77": _banking77,
    "clinc150": _clinc150,
    "bitext": _bitext,
    "fow-cache": _fow_cache,
    "gptcache-mock": _gptcache_mock,
    "paws": _pair_stream("paws", "paws_wiki.jsonl"),
    "snli": _pair_stream("snli", "snli.jsonl"),
    "stsb": _pair_stream("stsb", "stsb.jsonl"),
    **{f"rules-{base}": _rule_stream(base) for base in ("banking77", "clinc150", "bitext")},
}
#: The rule-made pair streams, and the data set each was made from.
RULE_SETS = {f"rules-{base}": base for base in ("banking77", "clinc150", "bitext")}
#: General pair sets: never fitted on; the budget table must hold on them (``fit_matcher.py``).
PAIR_SETS = ("paws", "snli", "stsb")
#: Every labelled set, for leave-one-data-set-out figures.
ALL_DATASETS = (*DATASETS, *PAIR_SETS)


def load_stream(name: str, data: Path | None = None, with_vectors: bool = True) -> Stream:
    """One data set as a :class:`Stream`, with cached embeddings of both sides when asked."""
    stream = _LOADERS[name](data or shared_data_dir())
    if with_vectors:
        stream.stored_vectors = embed_cached(stream.stored, f"match-{name}-stored")
        stream.query_vectors = embed_cached(stream.queries, f"match-{name}-queries")
    return stream


if __name__ == "__main__":
    for dataset in DATASETS:
        s = load_stream(dataset)
        print(f"{dataset}: {len(s.stored)} stored, {len(s.queries)} queries")
